import type { Job } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { aborted, sleep, withDeadline } from '../queue-helpers';
import type { SuiteContext } from './context';

/** Worker concurrency, sharing a queue, and closing workers and providers. */
export function workerTests(ctx: SuiteContext): void {
  const { setup, queueName, ms, deadlineMs, work, hasId, gate, waitFor: until } = ctx;

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
}
