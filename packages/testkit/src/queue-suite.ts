import type { QueueCommonOptions, QueueProvider } from '@fraiseql/core';
import { describe } from 'vitest';
import { basicsTests } from './queue-suite/basics';
import { byIdTests } from './queue-suite/by-id';
import { createSuiteContext, type DescribeQueueProviderOptions } from './queue-suite/context';
import { dedupTests } from './queue-suite/dedup';
import { inspectionTests } from './queue-suite/inspection';
import { priorityAndDelayTests } from './queue-suite/order';
import { pauseTests } from './queue-suite/pause';
import { processingTests } from './queue-suite/processing';
import { retriesTests } from './queue-suite/retries';
import { validationTests } from './queue-suite/validation';
import { workerTests } from './queue-suite/workers';

export type { DescribeQueueProviderOptions, QueueSuiteContext } from './queue-suite/context';

/**
 * The QueueProvider contract (DESIGN §3.2) as a vitest suite. `factory` gets the suite's options
 * (short retry delays, `concurrency: 1`, per-test `queues` entries) merged over `options`, and must
 * return a fresh provider; the suite closes it after each test. Capability-dependent tests check the
 * behaviour when `capabilities.X` is true and that the call throws IN005 when it is false.
 *
 * Worker events are checked as `completed(job)`, `retrying(job, error)`, `failed(job, error)` where
 * `job.id` is the job's id; `failed` fires once per job, when it is finally failed.
 *
 * Each topic lives in its own file under `queue-suite/` and registers its tests in a nested
 * `describe`, so a failing test's name says which topic broke.
 */
export function describeQueueProvider(
  name: string,
  factory: (opts: QueueCommonOptions) => Promise<QueueProvider>,
  opts: DescribeQueueProviderOptions = {},
): void {
  describe.skipIf(opts.skip === true)(`QueueProvider conformance: ${name}`, () => {
    const ctx = createSuiteContext(factory, opts);

    describe('basics and enqueue', () => basicsTests(ctx));
    describe('processing', () => processingTests(ctx));
    describe('retries and failures', () => retriesTests(ctx));
    describe('priority and delay', () => priorityAndDelayTests(ctx));
    describe('dedup', () => dedupTests(ctx));
    describe('pause', () => pauseTests(ctx));
    describe('workers and close', () => workerTests(ctx));
    describe('inspection', () => inspectionTests(ctx));
    describe('retry and delete by id', () => byIdTests(ctx));
    describe('validation', () => validationTests(ctx));

    opts.additionalTests?.({
      setup: ctx.setup,
      queueName: ctx.queueName,
      track: ctx.track,
      ms: ctx.ms,
      waitFor: ctx.waitFor,
    });
  });
}
