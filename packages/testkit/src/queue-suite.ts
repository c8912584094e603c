import { randomUUID } from 'node:crypto';
import {
  type EnqueueOptions,
  isIntegrationError,
  type Job,
  type JobHandler,
  type JobInfo,
  type JobResult,
  type QueueCapabilities,
  type QueueCommonOptions,
  type QueueProvider,
  type Worker,
  type WorkerOptions,
} from '@fraiseql/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aborted, deferred, sleep, waitFor, withDeadline } from './queue-helpers';
import { uniqueName } from './services';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CAPABILITIES: (keyof QueueCapabilities)[] = [
  'priority',
  'delay',
  'dedup',
  'inspect',
  'retryById',
  'pause',
];
/** Date.now() has millisecond granularity while backends may keep microseconds: allow that much. */
const CLOCK_SLACK_MS = 2;

interface Run {
  id: string;
  attempts: number;
  maxRetries: number;
  data: unknown;
  startedAt: number;
  endedAt?: number;
  signal: AbortSignal;
}

/** Everything a worker did, as seen from its handler and its events. */
interface Recorder {
  runs: Run[];
  completed: JobInfo[];
  failed: { job: JobInfo; error: unknown }[];
  retrying: { job: JobInfo; error: unknown }[];
  runsOf(id: string): Run[];
  worker: Worker;
}

/** The IntegrationError `fn` throws or rejects with; fails the test when it succeeds or throws anything else. */
async function integrationError(fn: () => unknown, what: string): Promise<{ code: string; message: string }> {
  let result: unknown;
  try {
    result = await fn();
  } catch (err) {
    expect(isIntegrationError(err), `${what}: expected an IntegrationError, got ${String(err)}`).toBe(true);
    return err as { code: string; message: string };
  }
  if (result && typeof (result as Worker).close === 'function')
    await (result as Worker).close({ timeoutMs: 0 });
  throw new Error(`${what}: expected an IntegrationError, but the call succeeded`);
}

async function expectCode(fn: () => unknown, codes: string | string[], what: string): Promise<void> {
  const err = await integrationError(fn, what);
  const allowed = Array.isArray(codes) ? codes : [codes];
  expect(allowed, `${what}: got ${err.code} (${err.message})`).toContain(err.code);
}

/** A backend without a capability must refuse loudly (IN005), never ignore the option. */
function expectUnsupported(fn: () => unknown, what: string): Promise<void> {
  return expectCode(fn, 'IN005', `${what} on a backend without the capability`);
}

/**
 * The QueueProvider contract (DESIGN §3.2) as a vitest suite. `factory` gets the suite's options
 * (short retry delays, `concurrency: 1`, per-test `queues` entries) merged over `options`, and must
 * return a fresh provider; the suite closes it after each test. Capability-dependent tests check the
 * behaviour when `capabilities.X` is true and that the call throws IN005 when it is false.
 *
 * Worker events are checked as `completed(job)`, `retrying(job, error)`, `failed(job, error)` where
 * `job.id` is the job's id; `failed` fires once per job, when it is finally failed.
 */
export function describeQueueProvider(
  name: string,
  factory: (opts: QueueCommonOptions) => Promise<QueueProvider>,
  opts: DescribeQueueProviderOptions = {},
): void {
  const scale = opts.timeScale ?? 1;
  const deadlineMs = opts.deliveryTimeoutMs ?? 15_000;
  const ms = (n: number): number => Math.round(n * scale);
  const base = opts.options ?? {};

  describe.skipIf(opts.skip === true)(`QueueProvider conformance: ${name}`, () => {
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

    /** Starts a worker whose handler runs `body` and records every run and event. */
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

    /** A gate a handler parks on; the job's abort (timeout, forced close) also lets it through. */
    function gate() {
      const d = deferred<void>();
      return {
        open: () => d.resolve(),
        wait: (job: Job<unknown>) => Promise.race([d.promise, aborted(job.signal, deadlineMs)]),
      };
    }

    // ------------------------------------------------------------------ basics

    it('has a name, six boolean capabilities and a passing health check', async () => {
      const p = await setup();
      expect(typeof p.name).toBe('string');
      expect(p.name.length).toBeGreaterThan(0);
      for (const cap of CAPABILITIES)
        expect(typeof p.capabilities[cap], `capabilities.${cap}`).toBe('boolean');
      expect(await p.healthCheck()).toBe(true);
    });

    it('enqueue returns a new UUID for every job', async () => {
      const p = await setup();
      const q = queueName();
      const a = await p.enqueue(q, { n: 1 });
      const b = await p.enqueue(q, { n: 1 });
      expect(a).toMatch(UUID);
      expect(b).toMatch(UUID);
      expect(a).not.toBe(b);
    });

    it('queueLength counts the pending jobs of one queue; an unknown queue is empty', async () => {
      const p = await setup();
      const q1 = queueName();
      const q2 = queueName();
      for (let i = 0; i < 3; i++) await p.enqueue(q1, { i });
      await p.enqueue(q2, { i: 0 });
      expect(await p.queueLength(q1)).toBe(3);
      expect(await p.queueLength(q2)).toBe(1);
      expect(await p.queueLength(queueName())).toBe(0);
      expect(await p.failedCount(q1)).toBe(0);
      expect(await p.failedCount(queueName())).toBe(0);
    });

    it('queueLength includes delayed jobs', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.delay) {
        await expectUnsupported(() => p.enqueueDelayed(q, { n: 1 }, 60_000), 'enqueueDelayed');
        await expectUnsupported(() => p.enqueue(q, { n: 1 }, { delayMs: 60_000 }), 'enqueue with delayMs');
        return;
      }
      const before = Date.now();
      const a = await p.enqueueDelayed(q, { n: 1 }, 60_000);
      await p.enqueue(q, { n: 2 }, { delayMs: 60_000 });
      expect(await p.queueLength(q)).toBe(2);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, a);
        expect(job?.state).toBe('pending');
        expect(job!.runAt.getTime()).toBeGreaterThanOrEqual(before + 60_000 - CLOCK_SLACK_MS);
      }
    });

    it('enqueueMany returns one id per item, in item order', async () => {
      const p = await setup();
      const q = queueName();
      expect(await p.enqueueMany(q, [])).toEqual([]);
      const items = [0, 1, 2, 3, 4].map((i) => ({ data: { i }, opts: { maxRetries: i } as EnqueueOptions }));
      const ids = await p.enqueueMany(q, items);
      expect(ids).toHaveLength(5);
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(5);
      expect(await p.queueLength(q)).toBe(5);
      const rec = work(p, q);
      await until(() => rec.completed.length === 5, 'five enqueueMany jobs to complete');
      ids.forEach((id, i) => {
        const [run] = rec.runsOf(id);
        expect(run?.data).toEqual({ i });
        expect(run?.maxRetries).toBe(i);
      });
    });

    it('enqueueMany checks every item before enqueueing any', async () => {
      const p = await setup();
      const q = queueName();
      await expectCode(
        () => p.enqueueMany(q, [{ data: { ok: 1 } }, { data: { bad: 1n } }]),
        'IN308',
        'BigInt item',
      );
      await expectCode(
        () => p.enqueueMany(q, [{ data: { ok: 1 } }, { data: { ok: 2 }, opts: { maxRetries: -1 } }]),
        'IN309',
        'bad item options',
      );
      expect(await p.queueLength(q)).toBe(0);
    });

    // ------------------------------------------------------------------ processing

    it('a handler gets the job: id, queue, data, attempts 1, maxRetries, createdAt and a live signal', async () => {
      const p = await setup();
      const q = queueName();
      const before = Date.now();
      const a = await p.enqueue(q, { hello: 'world', list: [1, 2], nested: { ok: true } }, { maxRetries: 4 });
      const b = await p.enqueue(q, { n: 2 });
      const after = Date.now();
      const seen: Job<any>[] = [];
      const aborts: boolean[] = [];
      const rec = work(p, q, async (job) => {
        seen.push(job);
        aborts.push(job.signal.aborted);
      });
      await until(() => rec.completed.length === 2, 'both jobs to complete');
      const ja = seen.find((j) => j.id === a)!;
      expect(ja).toBeDefined();
      expect(ja.queue).toBe(q);
      expect(ja.data).toEqual({ hello: 'world', list: [1, 2], nested: { ok: true } });
      expect(ja.attempts).toBe(1);
      expect(ja.maxRetries).toBe(4);
      expect(ja.createdAt).toBeInstanceOf(Date);
      expect(ja.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(ja.createdAt.getTime()).toBeLessThanOrEqual(after + 1000);
      expect(ja.signal).toBeInstanceOf(AbortSignal);
      expect(aborts).toEqual([false, false]);
      // Without its own maxRetries a job takes the queue's (queueDefaults.maxRetries = 2 here).
      expect(seen.find((j) => j.id === b)?.maxRetries).toBe(2);
    });

    it('a handler that returns nothing or {status:"complete"} completes the job once', async () => {
      const p = await setup();
      const q = queueName();
      const a = await p.enqueue(q, { kind: 'void' });
      const b = await p.enqueue(q, { kind: 'complete' });
      const rec = work(p, q, async (job) =>
        job.data.kind === 'complete' ? { status: 'complete' } : undefined,
      );
      await until(
        () => hasId(rec.completed, a) && hasId(rec.completed, b),
        "'completed' events for both jobs",
      );
      expect(rec.runsOf(a)).toHaveLength(1);
      expect(rec.runsOf(b)).toHaveLength(1);
      expect(rec.failed).toEqual([]);
      expect(rec.retrying).toEqual([]);
      expect(await p.queueLength(q)).toBe(0);
      expect(await p.failedCount(q)).toBe(0);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, a);
        expect(job?.state).toBe('completed');
        expect(job?.attempts).toBe(1);
        expect(job?.completedAt).toBeInstanceOf(Date);
        const done = await p.listJobs(q, { state: 'completed' });
        expect(done.map((j) => j.id).sort()).toEqual([a, b].sort());
      }
    });

    it('a throwing handler is retried until maxRetries retries are spent, then failed with lastError', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 2 });
      const rec = work(p, q, async (job) => {
        throw new Error(`boom on attempt ${job.attempts}`);
      });
      await until(() => rec.failed.length === 1, "the 'failed' event");
      expect(rec.runsOf(id).map((r) => r.attempts)).toEqual([1, 2, 3]);
      expect(rec.retrying).toHaveLength(2);
      expect(rec.retrying.every((e) => e.job.id === id)).toBe(true);
      expect(rec.failed[0]!.job.id).toBe(id);
      expect(rec.completed).toEqual([]);
      expect(await p.failedCount(q)).toBe(1);
      expect(await p.queueLength(q)).toBe(0);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, id);
        expect(job?.state).toBe('failed');
        expect(job?.attempts).toBe(3);
        expect(job?.lastError).toContain('boom on attempt 3');
        expect(job?.failedAt).toBeInstanceOf(Date);
        const failed = await p.listJobs(q, { state: 'failed' });
        expect(failed.map((j) => j.id)).toEqual([id]);
      }
      // A failed job stays failed: no further run turns up.
      await sleep(ms(150));
      expect(rec.runsOf(id)).toHaveLength(3);
    });

    it('{status:"retry"} retries the job, which may then complete', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 3 });
      const rec = work(p, q, async (job) =>
        job.attempts === 1 ? { status: 'retry', reason: 'upstream busy' } : { status: 'complete' },
      );
      await until(() => hasId(rec.completed, id), 'the retried job to complete');
      expect(rec.runsOf(id).map((r) => r.attempts)).toEqual([1, 2]);
      expect(rec.retrying).toHaveLength(1);
      expect(rec.failed).toEqual([]);
      expect(await p.failedCount(q)).toBe(0);
    });

    it('{status:"retry"} past maxRetries fails the job with the reason as lastError', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 1 });
      const rec = work(p, q, async () => ({ status: 'retry', reason: 'not ready yet' }));
      await until(() => rec.failed.length === 1, "the 'failed' event");
      expect(rec.runsOf(id)).toHaveLength(2);
      expect(await p.failedCount(q)).toBe(1);
      if (p.capabilities.inspect) expect((await p.getJob(q, id))?.lastError).toContain('not ready yet');
    });

    it('{status:"failed"} fails the job at once, without retries', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 3 });
      const rec = work(p, q, async () => ({ status: 'failed', reason: 'invalid address' }));
      await until(() => rec.failed.length === 1, "the 'failed' event");
      expect(rec.runsOf(id)).toHaveLength(1);
      expect(rec.retrying).toEqual([]);
      expect(await p.failedCount(q)).toBe(1);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, id);
        expect(job?.state).toBe('failed');
        expect(job?.lastError).toContain('invalid address');
      }
    });

    it('an unknown status is a failed attempt (IN303): retried, then failed with the reason', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 1 });
      // A typo a user makes ('completed' for 'complete'): never lost, never passed silently.
      const rec = work(p, q, async () => ({ status: 'completed' }) as unknown as JobResult);
      await until(() => rec.failed.length === 1, "the 'failed' event");
      expect(rec.runsOf(id)).toHaveLength(2);
      expect(rec.retrying).toHaveLength(1);
      expect(await p.failedCount(q)).toBe(1);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, id);
        expect(job?.state).toBe('failed');
        expect(job?.lastError).toContain('unknown result');
      }
    });

    it('a returned value without a status completes the job', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 2 });
      const rec = work(p, q, async () => ({ ok: true }) as unknown as JobResult);
      await until(() => hasId(rec.completed, id), 'the job to complete');
      expect(rec.runsOf(id)).toHaveLength(1);
      expect(rec.failed).toEqual([]);
      expect(await p.failedCount(q)).toBe(0);
    });

    it('maxRetries 0 means exactly one run', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 0 });
      const rec = work(p, q, async () => {
        throw new Error('no second chance');
      });
      await until(() => rec.failed.length === 1, "the 'failed' event");
      expect(rec.runsOf(id)).toHaveLength(1);
      expect(rec.retrying).toEqual([]);
    });

    it('a queue entry in `queues` sets maxRetries and the retry backoff of that queue', async () => {
      const q = queueName();
      const delay = ms(200);
      const p = await setup({ queues: { [q]: { maxRetries: 1, retryDelayMs: delay } } });
      const id = await p.enqueue(q, { n: 1 });
      const rec = work(p, q, async () => {
        throw new Error('fails');
      });
      await until(() => rec.failed.length === 1, "the 'failed' event");
      const runs = rec.runsOf(id);
      expect(runs.map((r) => r.maxRetries)).toEqual([1, 1]);
      // Retry 1 waits retryDelayMs × 2^0 with at most ±20% jitter.
      expect(runs[1]!.startedAt - runs[0]!.endedAt!).toBeGreaterThanOrEqual(delay * 0.8 - CLOCK_SLACK_MS);
    });

    it("a retry result's delayMs overrides the backoff", async () => {
      const p = await setup();
      const q = queueName();
      const delay = ms(300);
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 1 });
      const rec = work(p, q, async (job) =>
        job.attempts === 1 ? { status: 'retry', reason: 'later', delayMs: delay } : undefined,
      );
      await until(() => hasId(rec.completed, id), 'the job to complete on its retry');
      const runs = rec.runsOf(id);
      expect(runs).toHaveLength(2);
      expect(runs[1]!.startedAt - runs[0]!.endedAt!).toBeGreaterThanOrEqual(delay - CLOCK_SLACK_MS);
    });

    it('timeoutMs aborts job.signal and counts as a failed attempt', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { timeoutMs: ms(150), maxRetries: 1 });
      // The handler ignores the time limit and even "succeeds" once aborted: it still timed out.
      const rec = work(p, q, async (job) => {
        await aborted(job.signal, deadlineMs);
      });
      await until(() => rec.failed.length === 1, "the 'failed' event after two timeouts");
      const runs = rec.runsOf(id);
      expect(runs).toHaveLength(2);
      expect(runs.every((r) => r.signal.aborted)).toBe(true);
      expect(rec.retrying).toHaveLength(1);
      expect(rec.completed).toEqual([]);
      expect(await p.failedCount(q)).toBe(1);
      if (p.capabilities.inspect) {
        const job = await p.getJob(q, id);
        expect(job?.state).toBe('failed');
        expect(job?.lastError).toBeTruthy();
      }
    });

    // ------------------------------------------------------------------ order

    it('delivers jobs of equal priority oldest first', async () => {
      const p = await setup();
      const q = queueName();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await p.enqueue(q, { i }));
      const rec = work(p, q, async () => {}, { concurrency: 1 });
      await until(() => rec.completed.length === 5, 'five jobs to complete');
      expect(rec.runs.map((r) => r.id)).toEqual(ids);
    });

    it('delivers higher priority first, then oldest first', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.priority) {
        await expectUnsupported(() => p.enqueue(q, { n: 1 }, { priority: 5 }), 'enqueue with priority');
        return;
      }
      const a = await p.enqueue(q, { n: 'a' }, { priority: 0 });
      const b = await p.enqueue(q, { n: 'b' }, { priority: 5 });
      const c = await p.enqueue(q, { n: 'c' }, { priority: 5 });
      const d = await p.enqueue(q, { n: 'd' }, { priority: -1 });
      const e = await p.enqueue(q, { n: 'e' }, { priority: 10 });
      const f = await p.enqueue(q, { n: 'f' });
      const rec = work(p, q, async () => {}, { concurrency: 1 });
      await until(() => rec.completed.length === 6, 'six jobs to complete');
      expect(rec.runs.map((r) => r.id)).toEqual([e, b, c, a, f, d]);
    });

    it('never delivers a delayed job before it is due', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.delay) {
        await expectUnsupported(() => p.enqueueDelayed(q, { n: 1 }, 300), 'enqueueDelayed');
        return;
      }
      const delay = ms(300);
      const rec = work(p, q, async () => {}, { concurrency: 2 });
      const t0 = Date.now();
      const delayed = await p.enqueueDelayed(q, { n: 'delayed' }, delay);
      const viaOption = await p.enqueue(q, { n: 'option' }, { delayMs: delay });
      const now = await p.enqueue(q, { n: 'now' });
      await until(() => rec.completed.length === 3, 'the three jobs to complete');
      // The job enqueued last without a delay is not held up behind the delayed ones.
      expect(rec.runs[0]!.id).toBe(now);
      for (const id of [delayed, viaOption]) {
        expect(rec.runsOf(id)[0]!.startedAt - t0).toBeGreaterThanOrEqual(delay - CLOCK_SLACK_MS);
      }
    });

    // ------------------------------------------------------------------ dedup

    it('a dedupKey of a pending job returns that job instead of a new one', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.dedup) {
        await expectUnsupported(() => p.enqueue(q, { n: 1 }, { dedupKey: 'k' }), 'enqueue with dedupKey');
        return;
      }
      const first = await p.enqueue(q, { n: 1 }, { dedupKey: 'report:42' });
      expect(await p.enqueue(q, { n: 2 }, { dedupKey: 'report:42' })).toBe(first);
      expect(await p.queueLength(q)).toBe(1);
      const other = await p.enqueue(q, { n: 3 }, { dedupKey: 'report:43' });
      expect(other).not.toBe(first);
      // Keys are per queue.
      const q2 = queueName();
      expect(await p.enqueue(q2, { n: 4 }, { dedupKey: 'report:42' })).not.toBe(first);
      expect(await p.queueLength(q)).toBe(2);
    });

    it('a dedupKey matches a running job too, and no longer once it has completed', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.dedup) {
        await expectUnsupported(
          () => p.enqueueMany(q, [{ data: 1, opts: { dedupKey: 'k' } }]),
          'enqueueMany with dedupKey',
        );
        return;
      }
      const g = gate();
      const rec = work(p, q, async (job) => {
        if (job.data.n === 1) await g.wait(job);
      });
      const first = await p.enqueue(q, { n: 1 }, { dedupKey: 'sync' });
      await until(() => rec.runs.length === 1, 'the first job to start');
      expect(await p.enqueue(q, { n: 2 }, { dedupKey: 'sync' })).toBe(first);
      g.open();
      await until(() => hasId(rec.completed, first), 'the first job to complete');
      const second = await p.enqueue(q, { n: 3 }, { dedupKey: 'sync' });
      expect(second).toMatch(UUID);
      expect(second).not.toBe(first);
      await until(() => hasId(rec.completed, second), 'the second job to complete');
      expect(rec.runs.map((r) => r.data)).toEqual([{ n: 1 }, { n: 3 }]);
    });

    // ------------------------------------------------------------------ pause

    it('pause stops delivery on that queue only; enqueue still works; resume restarts it', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.pause) {
        await expectUnsupported(() => p.pause(q), 'pause');
        await expectUnsupported(() => p.resume(q), 'resume');
        await expectUnsupported(() => p.isPaused(q), 'isPaused');
        return;
      }
      const other = queueName();
      const rec = work(p, q);
      expect(await p.isPaused(q)).toBe(false);
      await p.pause(q);
      expect(await p.isPaused(q)).toBe(true);
      expect(await p.isPaused(other)).toBe(false);
      const id = await p.enqueue(q, { n: 1 });
      // A worker started while paused must honour the pause as well.
      const late = work(p, q);
      const otherRec = work(p, other);
      const otherId = await p.enqueue(other, { n: 2 });
      await until(() => hasId(otherRec.completed, otherId), 'a job of an unpaused queue to complete');
      await sleep(ms(250));
      expect(rec.runs).toEqual([]);
      expect(late.runs).toEqual([]);
      expect(await p.queueLength(q)).toBe(1);
      await p.resume(q);
      expect(await p.isPaused(q)).toBe(false);
      await until(() => hasId(rec.completed, id) || hasId(late.completed, id), 'the job to run after resume');
    });

    it('pause lets running jobs finish', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.pause) {
        await expectUnsupported(() => p.pause(q), 'pause');
        return;
      }
      const g = gate();
      const rec = work(p, q, async (job) => {
        if (job.data.n === 1) await g.wait(job);
      });
      const first = await p.enqueue(q, { n: 1 });
      await until(() => rec.runs.length === 1, 'the job to start');
      await p.pause(q);
      g.open();
      await until(() => hasId(rec.completed, first), 'the running job to complete while paused');
      expect(rec.runs[0]!.signal.aborted).toBe(false);
      const second = await p.enqueue(q, { n: 2 });
      await sleep(ms(200));
      expect(rec.runsOf(second)).toEqual([]);
      await p.resume(q);
      await until(() => hasId(rec.completed, second), 'the second job after resume');
    });

    // ------------------------------------------------------------------ workers

    it('a worker runs up to `concurrency` jobs at once', async () => {
      const p = await setup();
      const q = queueName();
      const g = gate();
      const rec = work(p, q, (job) => g.wait(job), { concurrency: 3 });
      for (let i = 0; i < 4; i++) await p.enqueue(q, { i });
      await until(() => rec.runs.length === 3, 'three jobs running at once');
      await sleep(ms(100));
      expect(rec.runs).toHaveLength(3);
      g.open();
      await until(() => rec.completed.length === 4, 'all four jobs to complete');
    });

    it('at-least-once under concurrency: 50 jobs, concurrency 5, every job runs and none twice at once', async () => {
      const p = await setup();
      const q = queueName();
      const ids = await p.enqueueMany(
        q,
        Array.from({ length: 50 }, (_, i) => ({ data: { i } })),
      );
      const running = new Set<string>();
      let overlaps = 0;
      let peak = 0;
      const rec = work(
        p,
        q,
        async (job) => {
          if (running.has(job.id)) overlaps++;
          running.add(job.id);
          peak = Math.max(peak, running.size);
          await sleep(Math.floor(Math.random() * 5));
          running.delete(job.id);
        },
        { concurrency: 5 },
      );
      await until(() => new Set(rec.completed.map((j) => j.id)).size === 50, 'all 50 jobs to complete');
      expect(overlaps).toBe(0);
      expect(peak).toBeLessThanOrEqual(5);
      for (const id of ids) expect(rec.runsOf(id).length).toBeGreaterThanOrEqual(1);
      expect(await p.queueLength(q)).toBe(0);
      expect(await p.failedCount(q)).toBe(0);
    });

    it('two workers on one queue share it without running a job twice at once', async () => {
      const p = await setup();
      const q = queueName();
      const ids = await p.enqueueMany(
        q,
        Array.from({ length: 20 }, (_, i) => ({ data: { i } })),
      );
      const running = new Set<string>();
      let overlaps = 0;
      const body = async (job: Job<unknown>) => {
        if (running.has(job.id)) overlaps++;
        running.add(job.id);
        await sleep(5);
        running.delete(job.id);
      };
      const a = work(p, q, body, { concurrency: 2 });
      const b = work(p, q, body, { concurrency: 2 });
      const done = () => new Set([...a.completed, ...b.completed].map((j) => j.id));
      await until(() => done().size === 20, 'all 20 jobs to complete');
      expect(overlaps).toBe(0);
      expect([...done()].sort()).toEqual([...ids].sort());
    });

    it('Worker.close() waits for running jobs, then takes no more', async () => {
      const p = await setup();
      const q = queueName();
      const g = gate();
      const rec = work(p, q, (job) => g.wait(job));
      const worker = rec.worker;
      const first = await p.enqueue(q, { n: 1 });
      await until(() => rec.runs.length === 1, 'the job to start');
      let closed = false;
      const closing = worker.close({ timeoutMs: deadlineMs }).then(() => {
        closed = true;
      });
      await sleep(ms(100));
      expect(closed).toBe(false);
      g.open();
      await withDeadline(closing, deadlineMs, 'Worker.close() after the job finished');
      expect(rec.runs[0]!.signal.aborted).toBe(false);
      expect(hasId(rec.completed, first)).toBe(true);
      expect(await p.queueLength(q)).toBe(0);
      expect(await p.failedCount(q)).toBe(0);
      if (p.capabilities.inspect) expect((await p.getJob(q, first))?.state).toBe('completed');
      const second = await p.enqueue(q, { n: 2 });
      await sleep(ms(200));
      expect(rec.runsOf(second)).toEqual([]);
      expect(await p.queueLength(q)).toBe(1);
      await worker.close();
    });

    it('Worker.close({timeoutMs}) aborts an unfinished job and hands it back to pending for another worker', async () => {
      const p = await setup();
      const q = queueName();
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 0 });
      const first = work(p, q, async (job) => {
        await aborted(job.signal, deadlineMs);
      });
      const worker = first.worker;
      await until(() => first.runs.length === 1, 'the job to start');
      await withDeadline(worker.close({ timeoutMs: ms(100) }), deadlineMs, 'Worker.close({ timeoutMs })');
      expect(first.runs[0]!.signal.aborted).toBe(true);
      await until(async () => (await p.queueLength(q)) === 1, 'the job to be pending again');
      expect(await p.failedCount(q)).toBe(0);
      const second = work(p, q);
      await until(() => hasId(second.completed, id), 'another worker to complete the handed-back job');
      expect(second.runsOf(id)).toHaveLength(1);
    });

    it('Worker.close() and provider.close() are idempotent; provider.close() stops its workers', async () => {
      const p = await setup();
      const q = queueName();
      const { worker } = work(p, q);
      await withDeadline(worker.close(), deadlineMs, 'Worker.close() of an idle worker');
      await withDeadline(worker.close(), deadlineMs, 'a second Worker.close()');
      const p2 = await setup();
      const idle = work(p2, queueName()).worker;
      await withDeadline(p2.close(), deadlineMs, 'provider.close() with an idle worker');
      await withDeadline(p2.close(), deadlineMs, 'a second provider.close()');
      // The provider has closed its worker, so closing it again must not hang or throw.
      await withDeadline(idle.close(), deadlineMs, 'Worker.close() after provider.close()');
    });

    // ------------------------------------------------------------------ inspection

    it('getJob describes a job; unknown ids (UUID or not) and other queues give null', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.inspect) {
        const id = await p.enqueue(q, { n: 1 });
        await expectUnsupported(() => p.getJob(q, id), 'getJob');
        await expectUnsupported(() => p.listJobs(q, { state: 'pending' }), 'listJobs');
        return;
      }
      const before = Date.now();
      const priority = p.capabilities.priority ? 3 : 0;
      const id = await p.enqueue(q, { a: [1, 'two'] }, { maxRetries: 5, ...(priority ? { priority } : {}) });
      const job = await p.getJob(q, id);
      expect(job).not.toBeNull();
      expect(job).toMatchObject({
        id,
        queue: q,
        data: { a: [1, 'two'] },
        attempts: 0,
        maxRetries: 5,
        state: 'pending',
        priority,
      });
      expect(job!.createdAt).toBeInstanceOf(Date);
      expect(job!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(job!.runAt).toBeInstanceOf(Date);
      expect(job!.lastError).toBeUndefined();
      expect(await p.getJob(q, randomUUID())).toBeNull();
      expect(await p.getJob(q, 'not-a-uuid')).toBeNull();
      expect(await p.getJob(queueName(), id)).toBeNull();
    });

    it('listJobs filters by state and pages with limit and offset', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.inspect) {
        await expectUnsupported(() => p.listJobs(q, { state: 'failed' }), 'listJobs');
        return;
      }
      const done = [await p.enqueue(q, { kind: 'ok' }), await p.enqueue(q, { kind: 'ok' })];
      const bad = await p.enqueue(q, { kind: 'bad' }, { maxRetries: 0 });
      const rec = work(p, q, async (job) =>
        job.data.kind === 'bad' ? { status: 'failed', reason: 'rejected by handler' } : undefined,
      );
      await until(() => rec.completed.length === 2 && rec.failed.length === 1, 'three jobs to finish');
      await rec.worker.close();
      const pending: string[] = [];
      for (let i = 0; i < 5; i++) pending.push(await p.enqueue(q, { i }));

      const all = await p.listJobs(q, { state: 'pending' });
      expect(all.map((j) => j.id).sort()).toEqual([...pending].sort());
      expect(all.every((j) => j.state === 'pending')).toBe(true);
      const pages = [
        await p.listJobs(q, { state: 'pending', limit: 2, offset: 0 }),
        await p.listJobs(q, { state: 'pending', limit: 2, offset: 2 }),
        await p.listJobs(q, { state: 'pending', limit: 2, offset: 4 }),
      ];
      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      expect(
        pages
          .flat()
          .map((j) => j.id)
          .sort(),
      ).toEqual([...pending].sort());
      expect(await p.listJobs(q, { state: 'pending', offset: 5 })).toEqual([]);

      const completed = await p.listJobs(q, { state: 'completed' });
      expect(completed.map((j) => j.id).sort()).toEqual([...done].sort());
      const failed = await p.listJobs(q, { state: 'failed' });
      expect(failed.map((j) => j.id)).toEqual([bad]);
      expect(failed[0]!.lastError).toContain('rejected by handler');
      expect(await p.listJobs(q, { state: 'running' })).toEqual([]);
    });

    // ------------------------------------------------------------------ retry / delete by id

    it('retryJob moves a failed job back to pending with attempts reset, and it runs again', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.retryById) {
        const id = await p.enqueue(q, { n: 1 });
        await expectUnsupported(() => p.retryJob(q, id), 'retryJob');
        await expectUnsupported(() => p.deleteJob(q, id), 'deleteJob');
        return;
      }
      const id = await p.enqueue(q, { n: 1 }, { maxRetries: 1 });
      let failNext = true;
      const rec = work(p, q, async () => {
        if (failNext) throw new Error('downstream down');
      });
      await until(() => rec.failed.length === 1, 'the job to fail');
      expect(rec.runsOf(id).map((r) => r.attempts)).toEqual([1, 2]);
      expect(await p.failedCount(q)).toBe(1);
      failNext = false;
      expect(await p.retryJob(q, id)).toBe(true);
      expect(await p.failedCount(q)).toBe(0);
      await until(() => hasId(rec.completed, id), 'the retried job to complete');
      // attempts start again from 1 after a manual retry
      expect(rec.runsOf(id).map((r) => r.attempts)).toEqual([1, 2, 1]);
      if (p.capabilities.inspect) expect((await p.getJob(q, id))?.state).toBe('completed');
      // Only failed jobs can be retried.
      expect(await p.retryJob(q, id)).toBe(false);
      expect(await p.retryJob(q, randomUUID())).toBe(false);
    });

    it('retryJob of a pending job returns false and leaves it alone', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.retryById) {
        await expectUnsupported(() => p.retryJob(q, randomUUID()), 'retryJob');
        return;
      }
      const id = await p.enqueue(q, { n: 1 });
      expect(await p.retryJob(q, id)).toBe(false);
      expect(await p.queueLength(q)).toBe(1);
      expect(await p.failedCount(q)).toBe(0);
    });

    it('deleteJob removes a pending job, once', async () => {
      const p = await setup();
      const q = queueName();
      if (!p.capabilities.retryById) {
        await expectUnsupported(() => p.deleteJob(q, randomUUID()), 'deleteJob');
        return;
      }
      const a = await p.enqueue(q, { n: 'a' });
      const b = await p.enqueue(q, { n: 'b' });
      expect(await p.deleteJob(q, a)).toBe(true);
      expect(await p.queueLength(q)).toBe(1);
      expect(await p.deleteJob(q, a)).toBe(false);
      expect(await p.deleteJob(q, randomUUID())).toBe(false);
      if (p.capabilities.inspect) expect(await p.getJob(q, a)).toBeNull();
      const rec = work(p, q);
      await until(() => hasId(rec.completed, b), 'the remaining job to complete');
      expect(rec.runsOf(a)).toEqual([]);
    });

    // ------------------------------------------------------------------ validation

    it('invalid queue names are IN307 everywhere; valid ones use the whole alphabet up to 128 chars', async () => {
      const p = await setup();
      for (const bad of ['', 'a b', 'x'.repeat(129), 'x;drop', 'emails\n', 'ü']) {
        const label = JSON.stringify(bad.length > 20 ? `${bad.slice(0, 10)}…(${bad.length})` : bad);
        await expectCode(() => p.enqueue(bad, { n: 1 }), 'IN307', `enqueue on ${label}`);
        await expectCode(() => p.enqueueMany(bad, [{ data: 1 }]), 'IN307', `enqueueMany on ${label}`);
        await expectCode(() => p.queueLength(bad), 'IN307', `queueLength on ${label}`);
        await expectCode(() => p.failedCount(bad), 'IN307', `failedCount on ${label}`);
        await expectCode(() => p.process(bad, async () => {}), 'IN307', `process on ${label}`);
      }
      const dotted = `${queueName()}.Mail:Out-1`;
      const long = queueName().padEnd(128, 'x');
      for (const q of [dotted, long]) {
        await p.enqueue(q, { n: 1 });
        expect(await p.queueLength(q)).toBe(1);
      }
    });

    it('job data that is not JSON-serialisable is IN308 and enqueues nothing', async () => {
      const p = await setup();
      const q = queueName();
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      await expectCode(() => p.enqueue(q, { n: 10n }), 'IN308', 'BigInt data');
      await expectCode(() => p.enqueue(q, { deep: { n: [1n] } }), 'IN308', 'nested BigInt data');
      await expectCode(() => p.enqueue(q, cyclic), 'IN308', 'cyclic data');
      await expectCode(() => p.enqueue(q, () => 1), 'IN308', 'a function as data');
      expect(await p.queueLength(q)).toBe(0);
    });

    it('out-of-range options are IN309', async () => {
      const p = await setup();
      const q = queueName();
      const { delay, priority } = p.capabilities;
      await expectCode(
        () => p.enqueue(q, 1, { delayMs: -1 }),
        delay ? 'IN309' : ['IN309', 'IN005'],
        'delayMs -1',
      );
      await expectCode(
        () => p.enqueueDelayed(q, 1, -5),
        delay ? 'IN309' : ['IN309', 'IN005'],
        'enqueueDelayed -5',
      );
      await expectCode(
        () => p.enqueue(q, 1, { priority: 1.5 }),
        priority ? 'IN309' : ['IN309', 'IN005'],
        'priority 1.5',
      );
      await expectCode(() => p.enqueue(q, 1, { maxRetries: -1 }), 'IN309', 'maxRetries -1');
      await expectCode(() => p.enqueue(q, 1, { timeoutMs: 0 }), 'IN309', 'timeoutMs 0');
      await expectCode(() => p.process(q, async () => {}, { concurrency: 0 }), 'IN309', 'concurrency 0');
      await expectCode(() => p.process(q, async () => {}, { concurrency: 1.5 }), 'IN309', 'concurrency 1.5');
      expect(await p.queueLength(q)).toBe(0);
    });

    opts.additionalTests?.({
      setup,
      queueName,
      track,
      ms,
      waitFor: until,
    });
  });
}
