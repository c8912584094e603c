import { sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisQueue, type RedisQueueProvider } from '../src/index';
import { type ChildConfig, type ChildEvent, killAllChildren, WorkerChild } from './children';
import { dropPrefix, redis, uniquePrefix } from './helpers';

/**
 * Worker processes (test/fixtures/worker.mjs on the built package) against the shared Redis:
 * kill -9 mid-handler, a run with random kills, competing processes, pause across processes and
 * a graceful close in another process.
 */
describe.skipIf(!redis.available)('queue-redis across worker processes', () => {
  const prefix = uniquePrefix();
  const providers: RedisQueueProvider[] = [];

  async function provider(lease = 2000): Promise<RedisQueueProvider> {
    const p = await createRedisQueue({ url: redis.url, prefix, visibilityTimeoutMs: lease });
    providers.push(p);
    return p;
  }

  function child(cfg: Omit<ChildConfig, 'url' | 'prefix'>, sink: ChildEvent[]): WorkerChild {
    return new WorkerChild({ url: redis.url, prefix, ...cfg }, sink);
  }

  afterEach(async () => {
    await killAllChildren();
    await Promise.all(providers.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await killAllChildren();
    await dropPrefix(redis.url, prefix);
  });

  it("kill -9 mid-handler: the worker that recovers the job emits 'stalled' with its id", async () => {
    const p = await provider(1000);
    const q = uniqueName('stalled');
    const id = await p.enqueue(q, { n: 1 });
    const events: ChildEvent[] = [];
    const victim = child({ queue: q, lease: 1000, mode: 'hang' }, events);
    await waitFor(
      () => events.some((e) => e.ev === 'start' && e.id === id),
      20_000,
      'the child to take the job',
    );
    await victim.kill();

    // This worker finds the expired lock, moves the job back to pending and reports it.
    const stalled: string[] = [];
    const runs: string[] = [];
    const worker = p.process(q, async (job) => {
      runs.push(job.id);
    });
    worker.on('stalled', (jobId: string) => stalled.push(jobId));
    try {
      await waitFor(() => stalled.length > 0, 20_000, "the 'stalled' event");
      await waitFor(
        async () => (await p.getJob(q, id))?.state === 'completed',
        20_000,
        'the job to complete',
      );
      expect(stalled).toEqual([id]);
      expect(runs).toEqual([id]);
    } finally {
      await worker.close();
    }
  });

  it('kill -9 mid-handler: the job is delivered again after the lease, with its data', async () => {
    const p = await provider(2000);
    const q = uniqueName('kill');
    const data = { order: 42, items: ['a', 'b'], note: 'ünïcode' };
    const id = await p.enqueue(q, data, { maxRetries: 0 });
    const events: ChildEvent[] = [];
    const victim = child({ queue: q, lease: 2000, mode: 'hang' }, events);
    await waitFor(
      () => events.some((e) => e.ev === 'start' && e.id === id),
      20_000,
      'the child to take the job',
    );
    await victim.kill();
    // The dead worker still holds the lease: the job is running until the lock expires.
    expect((await p.getJob(q, id))?.state).toBe('running');

    const runs: { attempts: number; data: unknown }[] = [];
    const worker = p.process(q, async (job) => {
      runs.push({ attempts: job.attempts, data: job.data });
    });
    await waitFor(async () => (await p.getJob(q, id))?.state === 'completed', 20_000, 'redelivery');
    await worker.close();
    expect(runs).toEqual([{ attempts: 1, data }]);
    // maxRetries 0, yet the job was not failed: a dead worker does not use up a retry.
    expect(await p.failedCount(q)).toBe(0);
  }, 40_000);

  it('1,000 jobs with random worker kills: every job completes, none is lost', async () => {
    const p = await provider(2000);
    const q = uniqueName('chaos');
    const ids = await p.enqueueMany(
      q,
      Array.from({ length: 1000 }, (_, i) => ({ data: { i } })),
    );
    const events: ChildEvent[] = [];
    const cfg = { queue: q, lease: 2000, concurrency: 8, mode: 'sleep' as const, minMs: 50, maxMs: 250 };
    const children = [child(cfg, events), child(cfg, events), child(cfg, events)];
    let kills = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const pending = (await p.queueLength(q)) + (await p.listJobs(q, { state: 'running' })).length;
      if (pending === 0) break;
      await sleep(1200);
      if (kills < 4) {
        const alive = children.filter((c) => c.alive);
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (victim) {
          await victim.kill();
          kills++;
          children.push(child(cfg, events));
        }
      }
    }
    expect(kills).toBeGreaterThan(0);
    const completed = await p.listJobs(q, { state: 'completed', limit: 2000 });
    expect(completed.length).toBe(1000);
    expect(new Set(completed.map((j) => j.id))).toEqual(new Set(ids));
    expect(await p.failedCount(q)).toBe(0);
    const starts = new Map<string, number>();
    for (const e of events) if (e.ev === 'start') starts.set(e.id!, (starts.get(e.id!) ?? 0) + 1);
    for (const id of ids) expect(starts.has(id)).toBe(true);
    // The kills hit jobs mid-handler, and those jobs were delivered again.
    expect([...starts.values()].some((n) => n > 1)).toBe(true);
    // Every job carried its own data through any redelivery.
    for (const e of events) if (e.ev === 'start') expect(e.data).toEqual({ i: ids.indexOf(e.id!) });
  }, 80_000);

  it('competing worker processes never run one job twice at once', async () => {
    const p = await provider(30_000);
    const q = uniqueName('compete');
    const ids = await p.enqueueMany(
      q,
      Array.from({ length: 150 }, (_, i) => ({ data: { i } })),
    );
    const events: ChildEvent[] = [];
    const cfg = { queue: q, lease: 30_000, concurrency: 4, mode: 'sleep' as const, minMs: 5, maxMs: 30 };
    const children = [child(cfg, events), child(cfg, events), child(cfg, events)];
    await waitFor(
      () => new Set(events.filter((e) => e.ev === 'end').map((e) => e.id)).size === 150,
      40_000,
      'all 150 jobs to finish',
    );
    // Every run's [start, end] per job id, across processes (one clock: same machine).
    const byId = new Map<string, { start: number; end?: number; child: number }[]>();
    for (const e of events) {
      if (e.ev === 'start') byId.set(e.id!, [...(byId.get(e.id!) ?? []), { start: e.t!, child: e.child }]);
      if (e.ev === 'end') {
        const run = byId.get(e.id!)?.find((r) => r.child === e.child && r.end === undefined);
        if (run) run.end = e.t!;
      }
    }
    let overlaps = 0;
    for (const id of ids) {
      const runs = byId.get(id) ?? [];
      // No kills and a long lease: exactly one run per job…
      expect(runs, `runs of ${id}`).toHaveLength(1);
      // …and, whatever the count, never two runs of one job at the same time.
      for (const r of runs) {
        for (const o of runs) {
          if (r !== o && r.start < (o.end ?? Infinity) && o.start < (r.end ?? Infinity)) overlaps++;
        }
      }
    }
    expect(overlaps).toBe(0);
    const perChild = new Set(events.filter((e) => e.ev === 'start').map((e) => e.child));
    expect(perChild.size).toBeGreaterThan(1);
    expect(children.every((c) => c.alive)).toBe(true);
    await waitFor(async () => (await p.listJobs(q, { state: 'running' })).length === 0, 10_000, 'idle');
    expect(await p.queueLength(q)).toBe(0);
  }, 60_000);

  it('pause stops the workers of every process; resume restarts them', async () => {
    const p = await provider();
    const q = uniqueName('pause');
    const events: ChildEvent[] = [];
    const cfg = { queue: q, lease: 5000, concurrency: 1, mode: 'sleep' as const, minMs: 20, maxMs: 40 };
    const a = child(cfg, events);
    const b = child(cfg, events);
    await Promise.all([a.ready(), b.ready()]);
    // Warm-up until both processes have taken a job, so both are really consuming.
    const warm: string[] = [];
    await waitFor(
      async () => {
        warm.push(await p.enqueue(q, { warm: warm.length }));
        const who = new Set(events.filter((e) => e.ev === 'start').map((e) => e.child));
        return who.has(a.n) && who.has(b.n);
      },
      20_000,
      'both worker processes to take jobs',
      100,
    );
    await waitFor(async () => (await p.queueLength(q)) === 0, 20_000, 'the warm-up jobs to be taken');
    await waitFor(
      async () => (await p.listJobs(q, { state: 'running' })).length === 0,
      20_000,
      'the warm-up jobs to finish',
    );

    await p.pause(q);
    const startsBefore = events.filter((e) => e.ev === 'start').length;
    const paused = await p.enqueueMany(
      q,
      Array.from({ length: 10 }, (_, i) => ({ data: { i } })),
    );
    await sleep(800);
    expect(events.filter((e) => e.ev === 'start').length).toBe(startsBefore);
    expect(await p.queueLength(q)).toBe(10);
    expect(await p.isPaused(q)).toBe(true);

    await p.resume(q);
    await waitFor(
      () => paused.every((id) => events.some((e) => e.ev === 'end' && e.id === id)),
      20_000,
      'the jobs enqueued while paused to run after resume',
    );
    expect(await p.isPaused(q)).toBe(false);
  }, 60_000);

  it('SIGTERM in a worker process hands its unfinished job back at once, and it is delivered again', async () => {
    const p = await provider(30_000);
    const q = uniqueName('term');
    const id = await p.enqueue(q, { n: 1 });
    const events: ChildEvent[] = [];
    // A long lease: the job can only come back this soon because close() handed it back.
    const worker = child({ queue: q, lease: 30_000, mode: 'hang', closeTimeoutMs: 100 }, events);
    await waitFor(
      () => events.some((e) => e.ev === 'start' && e.id === id),
      20_000,
      'the child to take the job',
    );
    await worker.terminate();
    expect(events.some((e) => e.ev === 'closed' && e.child === worker.n)).toBe(true);
    // Pending right away, long before the 30 s lease could have expired.
    expect((await p.getJob(q, id))?.state).toBe('pending');
    const runs: string[] = [];
    const w = p.process(q, async (job) => {
      runs.push(job.id);
    });
    await waitFor(async () => (await p.getJob(q, id))?.state === 'completed', 20_000, 'the handed-back job');
    await w.close();
    expect(runs).toEqual([id]);
  }, 40_000);
});
