import type { Job, JobResult } from '@fraiseql/core';
import { expect, it } from 'vitest';
import type { SuiteContext } from './context';

/** What a handler gets, and how its result completes a job. */
export function processingTests(ctx: SuiteContext): void {
  const { setup, queueName, work, hasId, waitFor: until } = ctx;

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
    await until(() => hasId(rec.completed, a) && hasId(rec.completed, b), "'completed' events for both jobs");
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
}
