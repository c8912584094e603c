import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectUnsupported, type SuiteContext } from './context';

/** retryJob and deleteJob. */
export function byIdTests(ctx: SuiteContext): void {
  const { setup, queueName, work, hasId, waitFor: until } = ctx;

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
}
