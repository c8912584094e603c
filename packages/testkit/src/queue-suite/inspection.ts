import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectUnsupported, type SuiteContext } from './context';

/** getJob and listJobs. */
export function inspectionTests(ctx: SuiteContext): void {
  const { setup, queueName, work, waitFor: until } = ctx;

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
}
