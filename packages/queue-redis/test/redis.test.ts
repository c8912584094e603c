import { type IntegrationError, isIntegrationError, type JobInfo } from '@fraiseql/core';
import { aborted, deferred, sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  bullmqQueueName,
  createRedisQueue,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type RedisQueueOptions,
  type RedisQueueProvider,
  type RedisWorker,
} from '../src/index';
import { dropPrefix, redis, uniquePrefix } from './helpers';

/** The IntegrationError `fn` rejects (or throws) with; fails when it succeeds or throws anything else. */
async function failure(fn: () => unknown): Promise<IntegrationError> {
  try {
    await fn();
  } catch (err) {
    expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
    return err as IntegrationError;
  }
  throw new Error('expected an IntegrationError, but the call succeeded');
}

describe('queue-redis options (no server needed)', () => {
  it('refuses bad factory options with IN002', async () => {
    for (const opts of [
      { prefix: '' },
      { prefix: 'has space' },
      { url: 'http://127.0.0.1:6379' },
      { url: 'redis://127.0.0.1:6379', client: new Redis({ lazyConnect: true }) },
      { visibilityTimeoutMs: 0 },
      { concurrency: 0 },
      { maxJobBytes: -1 },
      { keepCompleted: { maxCount: -1 } },
    ] as RedisQueueOptions[]) {
      const err = await failure(() => createRedisQueue(opts));
      expect(err.code, JSON.stringify(Object.keys(opts))).toBe('IN002');
    }
  });

  it('on Redis Cluster, a prefix without a hash tag is refused (IN002) before connecting', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      for (const prefix of ['fraiseql', 'fraiseql:{}', '}{x']) {
        const err = await failure(() => createRedisQueue({ client: cluster, prefix }));
        expect(err.code).toBe('IN002');
        expect(err.message).toContain('hash tag');
      }
    } finally {
      cluster.disconnect();
    }
  });

  it('a client with an ioredis keyPrefix is refused: BullMQ keys need `prefix`', async () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
    try {
      expect((await failure(() => createRedisQueue({ client }))).code).toBe('IN002');
    } finally {
      client.disconnect();
    }
  });

  it('an unreachable server is a network error (IN5xx) without the password in the message', async () => {
    const err = await failure(() =>
      createRedisQueue({ url: 'redis://:s3cr3t-pw@127.0.0.1:1', connectTimeoutMs: 3000 }),
    );
    expect(['IN500', 'IN501', 'IN502']).toContain(err.code);
    expect(err.provider).toBe('redis');
    expect(err.message).not.toContain('s3cr3t-pw');
  });
});

describe.skipIf(!redis.available)('queue-redis on BullMQ', () => {
  const prefix = uniquePrefix();
  const providers: RedisQueueProvider[] = [];
  const workers: RedisWorker[] = [];
  const clients: Redis[] = [];

  async function provider(extra: RedisQueueOptions = {}): Promise<RedisQueueProvider> {
    const p = await createRedisQueue({
      url: redis.url,
      prefix,
      queueDefaults: { retryDelayMs: 20 },
      ...extra,
    });
    providers.push(p);
    return p;
  }

  function track(w: ReturnType<RedisQueueProvider['process']>): RedisWorker {
    workers.push(w as RedisWorker);
    return w as RedisWorker;
  }

  /** A raw BullMQ Queue on one of our queues — what bull-board or Taskforce would open. */
  function rawQueue(q: string): Queue {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    clients.push(connection);
    return new Queue(bullmqQueueName(q), { connection, prefix });
  }

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close({ timeoutMs: 200 })));
    await Promise.all(providers.splice(0).map((p) => p.close()));
    for (const c of clients.splice(0)) c.disconnect();
  });

  afterAll(async () => {
    await dropPrefix(redis.url, prefix);
  });

  it('BullMQ tooling reads our queues: counts, job data, pause state (bull-board view)', async () => {
    const p = await provider();
    const q = `${uniqueName('board')}:mail`;
    const a = await p.enqueue(q, { to: 'a@example.com' });
    const b = await p.enqueue(q, { to: 'b@example.com' }, { priority: 7 });
    const c = await p.enqueueDelayed(q, { to: 'c@example.com' }, 60_000);
    const raw = rawQueue(q);
    expect(bullmqQueueName(q)).toBe(q.replace(':', '~'));
    const counts = await raw.getJobCounts();
    // Every job of ours is prioritised (so priority 0 is not served before explicit priorities).
    expect(counts).toMatchObject({ prioritized: 2, delayed: 1, waiting: 0, active: 0, failed: 0 });
    expect((await raw.getJob(a))?.data).toEqual({ to: 'a@example.com' });
    expect((await raw.getJob(b))?.data).toEqual({ to: 'b@example.com' });
    expect((await raw.getJob(c))?.data).toEqual({ to: 'c@example.com' });
    expect(await raw.isPaused()).toBe(false);
    await p.pause(q);
    expect(await raw.isPaused()).toBe(true);
    // …and the other way round: a pause from the dashboard is ours too.
    await raw.resume();
    expect(await p.isPaused(q)).toBe(false);
    await raw.pause();
    expect(await p.isPaused(q)).toBe(true);
    await raw.close();
  });

  it("priorities: false puts jobs on BullMQ's plain wait list, oldest first; a priority there is IN005", async () => {
    const plain = `${uniqueName('plain')}:q`;
    const p = await provider({ queues: { [plain]: { priorities: false } } });
    expect(p.capabilities.priority).toBe(true);
    const err = await failure(() => p.enqueue(plain, { n: 0 }, { priority: 2 }));
    expect(err.code).toBe('IN005');
    expect(err.message).toMatch(/priorities: false/);
    const first = await p.enqueue(plain, { n: 1 }, { priority: 0 });
    const rest = await p.enqueueMany(plain, [{ data: { n: 2 } }, { data: { n: 3 } }]);
    const raw = rawQueue(plain);
    expect(await raw.getJobCounts()).toMatchObject({ waiting: 3, prioritized: 0 });
    expect((await p.getJob(plain, first))?.priority).toBe(0);
    expect((await p.listJobs(plain, { state: 'pending' })).map((j) => j.id)).toEqual([first, ...rest]);
    const order: string[] = [];
    track(p.process(plain, async (job) => void order.push(job.id), { concurrency: 1 }));
    await waitFor(() => order.length === 3, 10_000, 'three jobs');
    expect(order).toEqual([first, ...rest]);
    await raw.close();
    const off = await provider({ queueDefaults: { priorities: false } });
    expect(off.capabilities.priority).toBe(false);
    const bad = await failure(() => createRedisQueue({ queueDefaults: { priorities: 'no' as never } }));
    expect(bad.code).toBe('IN002');
  });

  it('priority maps onto BullMQ in full range; beyond it is IN309', async () => {
    const p = await provider();
    const q = uniqueName('prio');
    const low = await p.enqueue(q, { n: 'low' }, { priority: MIN_PRIORITY });
    const mid = await p.enqueue(q, { n: 'mid' }, { priority: -5 });
    const high = await p.enqueue(q, { n: 'high' }, { priority: MAX_PRIORITY });
    const zero = await p.enqueue(q, { n: 'zero' });
    expect((await p.getJob(q, low))?.priority).toBe(MIN_PRIORITY);
    expect((await p.getJob(q, high))?.priority).toBe(MAX_PRIORITY);
    expect((await p.getJob(q, zero))?.priority).toBe(0);
    for (const priority of [MAX_PRIORITY + 1, MIN_PRIORITY - 1, 2 ** 31 - 1]) {
      const err = await failure(() => p.enqueue(q, { n: 'x' }, { priority }));
      expect(err.code).toBe('IN309');
      expect(err.field).toBe('priority');
    }
    const pending = await p.listJobs(q, { state: 'pending' });
    // A listing of pending jobs is in delivery order.
    expect(pending.map((j) => j.id)).toEqual([high, zero, mid, low]);
    const order: string[] = [];
    track(p.process(q, async (job) => void order.push(job.id)));
    await waitFor(() => order.length === 4, 15_000, 'four jobs');
    expect(order).toEqual([high, zero, mid, low]);
  });

  it('refuses oversized payloads with IN308 naming the limit, and enqueues nothing', async () => {
    const p = await provider({ maxJobBytes: 1024 });
    const q = uniqueName('big');
    const err = await failure(() => p.enqueue(q, { blob: 'x'.repeat(2000) }));
    expect(err.code).toBe('IN308');
    expect(err.message).toContain('1024');
    await failure(() => p.enqueueMany(q, [{ data: { ok: 1 } }, { data: { blob: 'x'.repeat(2000) } }]));
    expect(await p.queueLength(q)).toBe(0);
    // The default limit is 1 MiB.
    const d = await provider();
    expect((await failure(() => d.enqueue(q, { blob: 'x'.repeat(1024 * 1024 + 1) }))).code).toBe('IN308');
    await d.enqueue(q, { blob: 'x'.repeat(1000) });
    expect(await d.queueLength(q)).toBe(1);
  });

  it('worker events carry the JobInfo and a coded error: retrying IN303, failed IN306 / IN303 / IN305', async () => {
    const p = await provider();
    const q = uniqueName('events');
    const retrying: [JobInfo, IntegrationError, number][] = [];
    const failed: [JobInfo, IntegrationError][] = [];
    const completed: JobInfo[] = [];
    const w = track(
      p.process(q, async (job) => {
        const kind = (job.data as { kind: string }).kind;
        if (kind === 'throw') throw new Error('kaput');
        if (kind === 'reject') return { status: 'failed', reason: 'bad input' };
        if (kind === 'slow') await aborted(job.signal, 10_000);
        if (kind === 'later' && job.attempts === 1) return { status: 'retry', reason: 'later', delayMs: 50 };
      }),
    );
    w.on('retrying', (job, err, delayMs) => retrying.push([job, err, delayMs]));
    w.on('failed', (job, err) => failed.push([job, err]));
    w.on('completed', (job) => completed.push(job));
    const thrown = await p.enqueue(q, { kind: 'throw' }, { maxRetries: 1 });
    const rejected = await p.enqueue(q, { kind: 'reject' }, { maxRetries: 3 });
    const slow = await p.enqueue(q, { kind: 'slow' }, { maxRetries: 0, timeoutMs: 100 });
    const later = await p.enqueue(q, { kind: 'later' }, { maxRetries: 1 });
    await waitFor(() => failed.length === 3 && completed.length === 1, 15_000, 'all four jobs to settle');

    const byId = (id: string) => failed.find(([j]) => j.id === id)!;
    expect(byId(thrown)[1].code).toBe('IN306');
    expect(byId(thrown)[0]).toMatchObject({
      state: 'failed',
      attempts: 2,
      maxRetries: 1,
      lastError: 'kaput',
    });
    expect(byId(rejected)[1].code).toBe('IN303');
    expect(byId(rejected)[0]).toMatchObject({ state: 'failed', attempts: 1, lastError: 'bad input' });
    expect(byId(slow)[1].code).toBe('IN305');
    expect(byId(slow)[0].lastError).toContain('timed out');
    const retries = retrying.map(([j, e, d]) => ({ id: j.id, state: j.state, code: e.code, d }));
    expect(retries).toContainEqual({ id: thrown, state: 'pending', code: 'IN303', d: expect.any(Number) });
    expect(retries).toContainEqual({ id: later, state: 'pending', code: 'IN303', d: 50 });
    expect(completed[0]).toMatchObject({ id: later, state: 'completed', attempts: 2 });
    expect(completed[0]!.completedAt).toBeInstanceOf(Date);
  });

  it('time limits share one timer: a short limit after a long one still fires on time, never early', async () => {
    const p = await provider();
    const q = uniqueName('limits');
    const timedOut = new Map<string, number>();
    const started = new Map<string, number>();
    const w = track(
      p.process(
        q,
        async (job) => {
          started.set(job.id, performance.now());
          await aborted(job.signal, 10_000);
          timedOut.set(job.id, performance.now());
        },
        { concurrency: 3 },
      ),
    );
    const failed: string[] = [];
    w.on('failed', (job: JobInfo, err: IntegrationError) => {
      if (err.code === 'IN305') failed.push(job.id);
    });
    const long = await p.enqueue(q, { n: 1 }, { maxRetries: 0, timeoutMs: 8_000 });
    await waitFor(() => started.has(long), 15_000, 'the long job to start');
    const short = await p.enqueue(q, { n: 2 }, { maxRetries: 0, timeoutMs: 300 });
    const shorter = await p.enqueue(q, { n: 3 }, { maxRetries: 0, timeoutMs: 150 });
    await waitFor(
      () => failed.includes(short) && failed.includes(shorter),
      5_000,
      'the short jobs to time out',
    );
    for (const [id, limit] of [
      [short, 300],
      [shorter, 150],
    ] as const) {
      const took = timedOut.get(id)! - started.get(id)!;
      expect(took, id).toBeGreaterThanOrEqual(limit - 5);
      expect(took, id).toBeLessThan(limit + 1_500);
    }
    // The long job is untouched by the short ones' timer.
    expect(timedOut.has(long)).toBe(false);
    expect((await p.getJob(q, long))?.state).toBe('running');
  });

  it("only a job's own timeoutMs is stored; without one the worker's queue timeoutMs applies", async () => {
    const q = uniqueName('qlimit');
    const producer = await provider();
    const worker = await provider({ queues: { [q]: { timeoutMs: 150 } } });
    const plain = await producer.enqueue(q, { n: 1 }, { maxRetries: 0 });
    const own = await producer.enqueue(q, { n: 2 }, { maxRetries: 0, timeoutMs: 60_000 });
    const raw = rawQueue(q);
    expect((await raw.getJob(plain))?.opts).not.toHaveProperty('fraiseql');
    expect((await raw.getJob(own))?.opts).toMatchObject({ fraiseql: { timeoutMs: 60_000 } });
    const failed: [string, string][] = [];
    const w = track(worker.process(q, async (job) => aborted(job.signal, 2_000), { concurrency: 2 }));
    w.on('failed', (job: JobInfo, err: IntegrationError) => failed.push([job.id, err.code]));
    await waitFor(() => failed.length === 1, 5_000, 'the plain job to time out');
    expect(failed).toEqual([[plain, 'IN305']]);
    // The job with its own limit is still running past the queue's 150 ms.
    await sleep(300);
    expect((await worker.getJob(q, own))?.state).toBe('running');
  });

  it('a queue rateLimit caps job starts per window across the workers of the queue', async () => {
    const q = uniqueName('rate');
    const p = await provider({ queues: { [q]: { rateLimit: { max: 2, perSeconds: 1 } } } });
    const starts: number[] = [];
    const body = async () => void starts.push(Date.now());
    track(p.process(q, body, { concurrency: 5 }));
    track(p.process(q, body, { concurrency: 5 }));
    await p.enqueueMany(
      q,
      Array.from({ length: 6 }, (_, i) => ({ data: { i } })),
    );
    await waitFor(() => starts.length === 6, 20_000, 'six jobs to run');
    starts.sort((a, b) => a - b);
    // 2 per second: the 3rd and 5th starts open new one-second windows.
    // (The window opens when the first job is taken, a little before its handler starts.)
    expect(starts[4]! - starts[0]!).toBeGreaterThanOrEqual(1500);
  });

  it('a running job cannot be deleted (IN005, BullMQ holds its lock); it still completes', async () => {
    const p = await provider();
    const q = uniqueName('del');
    const gate = deferred();
    const done: string[] = [];
    const w = track(p.process(q, () => gate.promise));
    w.on('completed', (job) => done.push(job.id));
    const id = await p.enqueue(q, { n: 1 });
    await waitFor(async () => (await p.getJob(q, id))?.state === 'running', 15_000, 'the job to start');
    const err = await failure(() => p.deleteJob(q, id));
    expect(err.code).toBe('IN005');
    expect(err.message).toContain('running');
    gate.resolve();
    await waitFor(() => done.includes(id), 15_000, 'the job to complete');
    expect(await p.deleteJob(q, id)).toBe(true);
    expect(await p.getJob(q, id)).toBeNull();
  });

  it('dedup: a failed job frees its key; retryJob claims it back', async () => {
    const p = await provider();
    const q = uniqueName('dedup');
    const failedIds: string[] = [];
    const w = track(
      p.process(q, async () => {
        throw new Error('nope');
      }),
    );
    w.on('failed', (job) => failedIds.push(job.id));
    const first = await p.enqueue(q, { n: 1 }, { dedupKey: 'k', maxRetries: 0 });
    await waitFor(() => failedIds.includes(first), 15_000, 'the job to fail');
    await w.close();
    const second = await p.enqueue(q, { n: 2 }, { dedupKey: 'k' });
    expect(second).not.toBe(first);
    expect(await p.deleteJob(q, second)).toBe(true);
    expect(await p.retryJob(q, first)).toBe(true);
    expect(await p.enqueue(q, { n: 3 }, { dedupKey: 'k' })).toBe(first);
    expect(await p.queueLength(q)).toBe(1);
  });

  it('listJobs pages across waiting, prioritised and delayed jobs; runAt of a delayed job is its due time', async () => {
    const p = await provider();
    const q = uniqueName('list');
    const before = Date.now();
    const now = [await p.enqueue(q, { i: 0 }), await p.enqueue(q, { i: 1 }, { priority: 1 })];
    const later = await p.enqueueMany(q, [
      { data: { i: 2 }, opts: { delayMs: 30_000 } },
      { data: { i: 3 }, opts: { delayMs: 60_000 } },
    ]);
    const all = await p.listJobs(q, { state: 'pending' });
    expect(all.map((j) => j.id)).toEqual([now[1], now[0], ...later]);
    const page = await p.listJobs(q, { state: 'pending', limit: 2, offset: 1 });
    expect(page.map((j) => j.id)).toEqual([now[0], later[0]]);
    const due = page[1]!.runAt.getTime();
    expect(due).toBeGreaterThanOrEqual(before + 30_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 30_000);
    expect((await p.getJob(q, later[1]!))?.runAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect((await failure(() => p.listJobs(q, { state: 'pending', limit: -1 }))).code).toBe('IN309');
    expect((await failure(() => p.listJobs(q, { state: 'nope' as 'failed' }))).code).toBe('IN309');
    // Ids that are not job ids are never looked up as Redis keys (`meta` is a BullMQ key).
    expect(await p.getJob(q, 'meta')).toBeNull();
    expect(await p.deleteJob(q, 'meta')).toBe(false);
    expect(await p.retryJob(q, 'wait')).toBe(false);
  });

  it("a caller's client is used, never closed; workers get duplicates that close with them", async () => {
    const client = new Redis(redis.url);
    clients.push(client);
    const p = await createRedisQueue({ client, prefix });
    const q = uniqueName('client');
    const seen: string[] = [];
    const w = p.process(q, async (job) => void seen.push(job.id));
    await (w as RedisWorker).ready();
    const id = await p.enqueue(q, { n: 1 });
    await waitFor(() => seen.includes(id), 15_000, 'the job to run');
    // Dashboards see one worker (BullMQ's blocking connection name); ours has its own name.
    const raw = rawQueue(q);
    expect(await raw.getWorkersCount()).toBe(1);
    expect(await namedConnections(client, `${prefix}:`)).toBe(2);
    await w.close();
    await p.close();
    await p.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    // The worker's two connections (its own and BullMQ's blocking one) are gone.
    expect(await raw.getWorkersCount()).toBe(0);
    await waitFor(
      async () => (await namedConnections(client, `${prefix}:`)) === 0,
      5_000,
      'worker connections to close',
    );
    await raw.close();
    expect((await failure(() => p.enqueue(q, { n: 2 }))).code).toBe('IN502');
    expect(await p.healthCheck()).toBe(false);
  });

  it('Worker.close() with no timeout waits for a long job instead of cutting it off', async () => {
    const p = await provider();
    const q = uniqueName('wait');
    const runs: boolean[] = [];
    const w = p.process(q, async (job) => {
      await sleep(300);
      runs.push(job.signal.aborted);
    });
    const id = await p.enqueue(q, { n: 1 });
    await waitFor(async () => (await p.getJob(q, id))?.state === 'running', 15_000, 'the job to start');
    await w.close();
    expect(runs).toEqual([false]);
    expect((await p.getJob(q, id))?.state).toBe('completed');
  });
});

/** Connections whose client name starts with `namePrefix` (ours are named after the BullMQ prefix). */
async function namedConnections(client: Redis, namePrefix: string): Promise<number> {
  const list = (await client.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${namePrefix}`)).length;
}
