import type {
  Job,
  JobHandler,
  JobInfo,
  JobResult,
  QueueCapabilities,
  QueueCommonOptions,
  QueueProvider,
  Worker,
  WorkerOptions,
} from '@fraiseql/core';
import { afterEach } from 'vitest';
import { type ExpectIntegrationErrorOptions, expectIntegrationError } from '../expect-error';
import { aborted, deferred, waitFor } from '../queue-helpers';
import { uniqueName } from '../services';

/** What `additionalTests` gets: the suite's own plumbing, so backend tests stay as tidy as the suite. */
export interface QueueSuiteContext {
  /** A provider from the suite's factory (suite defaults + `options` + `extra`), closed after the test. */
  setup(extra?: QueueCommonOptions): Promise<QueueProvider>;
  /** A queue name no other test or run uses. */
  queueName(prefix?: string): string;
  /** Closes `worker` after the test (before the providers). */
  track<W extends Worker>(worker: W): W;
  /** `n` milliseconds times the suite's `timeScale`. */
  ms(n: number): number;
  /** Polls `cond` until true or the suite's delivery deadline passes. */
  waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void>;
}

export interface DescribeQueueProviderOptions {
  /** Registered inside the suite's `describe`, with the suite's helpers. */
  additionalTests?: (ctx: QueueSuiteContext) => void;
  /**
   * Skips the whole suite — only for a backend that is not reachable (`checkService` has printed a
   * loud line saying so). Default false.
   */
  skip?: boolean;
  /** Merged into every factory call (connection settings and the like). Default `{}`. */
  options?: QueueCommonOptions;
  /** Multiplies every delay the suite uses, for backends with coarse timers. Default 1. */
  timeScale?: number;
  /** How long the suite waits for a delivery or an event before failing. Default 15_000 ms. */
  deliveryTimeoutMs?: number;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const CAPABILITIES: (keyof QueueCapabilities)[] = [
  'priority',
  'delay',
  'dedup',
  'inspect',
  'retryById',
  'pause',
];
/** Date.now() has millisecond granularity while backends may keep microseconds: allow that much. */
export const CLOCK_SLACK_MS = 2;

export interface Run {
  id: string;
  attempts: number;
  maxRetries: number;
  data: unknown;
  startedAt: number;
  endedAt?: number;
  signal: AbortSignal;
}

/** Everything a worker did, as seen from its handler and its events. */
export interface Recorder {
  runs: Run[];
  completed: JobInfo[];
  failed: { job: JobInfo; error: unknown }[];
  retrying: { job: JobInfo; error: unknown }[];
  runsOf(id: string): Run[];
  worker: Worker;
}

/** A gate a handler parks on; the job's abort (timeout, forced close) also lets it through. */
export interface Gate {
  open(): void;
  wait(job: Job<unknown>): Promise<void>;
}

/** What every topic of the suite gets: the public context plus the suite's private helpers. */
export interface SuiteContext extends QueueSuiteContext {
  /** How long the suite waits for a delivery or an event before failing. */
  deadlineMs: number;
  /** Starts a worker whose handler runs `body` and records every run and event. */
  work(
    provider: QueueProvider,
    queue: string,
    body?: (job: Job<any>, run: Run) => Promise<JobResult | void>,
    wopts?: WorkerOptions,
  ): Recorder;
  /** Whether `list` (jobs or events) has an entry for job `id`. */
  hasId(list: { id: string }[] | { job: { id: string } }[], id: string): boolean;
  gate(): Gate;
}

/** Closes a Worker that a call expected to fail returned instead. */
export const closeReturnedWorker = (r: unknown): unknown =>
  r && typeof (r as Worker).close === 'function' ? (r as Worker).close({ timeoutMs: 0 }) : undefined;

/** Options for `expectIntegrationError` on a queue call: a synchronous throw counts (`process()`). */
export const queueCall = (what: string): ExpectIntegrationErrorOptions => ({
  what,
  allowSyncThrow: true,
  onSuccess: closeReturnedWorker,
});

/** A backend without a capability must refuse loudly (IN005), never ignore the option. */
export async function expectUnsupported(fn: () => unknown, what: string): Promise<void> {
  await expectIntegrationError(fn, 'IN005', queueCall(`${what} on a backend without the capability`));
}

/**
 * Builds the suite's context and registers the per-test lifecycle (workers, then providers, closed
 * after each test). Call it inside the suite's `describe`.
 */
export function createSuiteContext(
  factory: (opts: QueueCommonOptions) => Promise<QueueProvider>,
  opts: DescribeQueueProviderOptions,
): SuiteContext {
  const scale = opts.timeScale ?? 1;
  const deadlineMs = opts.deliveryTimeoutMs ?? 15_000;
  const ms = (n: number): number => Math.round(n * scale);
  const base = opts.options ?? {};
  const providers: QueueProvider[] = [];
  const workers: Worker[] = [];

  afterEach(async () => {
    // Workers first, with a short grace period: a handler still parked on a gate is aborted.
    const closing = workers.splice(0).map((w) => w.close({ timeoutMs: ms(500) }));
    const results = await Promise.allSettled(closing);
    const closed = await Promise.allSettled(providers.splice(0).map((p) => p.close()));
    const failure = [...results, ...closed].find((r) => r.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  });

  async function setup(extra: QueueCommonOptions = {}): Promise<QueueProvider> {
    const merged: QueueCommonOptions = {
      concurrency: 1,
      ...base,
      ...extra,
      queueDefaults: {
        maxRetries: 2,
        retryDelayMs: ms(25),
        timeoutMs: 10_000,
        ...base.queueDefaults,
        ...extra.queueDefaults,
      },
      queues: { ...base.queues, ...extra.queues },
    };
    const provider = await factory(merged);
    providers.push(provider);
    return provider;
  }

  const queueName = (prefix = 'q'): string => uniqueName(prefix);
  const track = <W extends Worker>(worker: W): W => {
    workers.push(worker);
    return worker;
  };
  const until = (cond: () => boolean | Promise<boolean>, what: string) => waitFor(cond, deadlineMs, what);

  function work(
    provider: QueueProvider,
    queue: string,
    body: (job: Job<any>, run: Run) => Promise<JobResult | void> = async () => {},
    wopts?: WorkerOptions,
  ): Recorder {
    const runs: Run[] = [];
    const handler: JobHandler<any> = async (job) => {
      const run: Run = {
        id: job.id,
        attempts: job.attempts,
        maxRetries: job.maxRetries,
        data: job.data,
        startedAt: Date.now(),
        signal: job.signal,
      };
      runs.push(run);
      try {
        return await body(job, run);
      } finally {
        run.endedAt = Date.now();
      }
    };
    const worker = track(provider.process(queue, handler, wopts));
    const rec: Recorder = {
      runs,
      completed: [],
      failed: [],
      retrying: [],
      runsOf: (id) => runs.filter((r) => r.id === id),
      worker,
    };
    worker.on('completed', (job: JobInfo) => rec.completed.push(job));
    worker.on('failed', (job: JobInfo, error: unknown) => rec.failed.push({ job, error }));
    worker.on('retrying', (job: JobInfo, error: unknown) => rec.retrying.push({ job, error }));
    return rec;
  }

  const hasId = (list: { id: string }[] | { job: { id: string } }[], id: string): boolean =>
    list.some((e) => ('job' in e ? e.job.id : e.id) === id);

  function gate(): Gate {
    const d = deferred<void>();
    return {
      open: () => d.resolve(),
      wait: (job: Job<unknown>) => Promise.race([d.promise, aborted(job.signal, deadlineMs)]),
    };
  }

  return { setup, queueName, track, ms, waitFor: until, deadlineMs, work, hasId, gate };
}
