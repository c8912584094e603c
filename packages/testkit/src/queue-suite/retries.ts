import type { JobResult } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { aborted, sleep } from '../queue-helpers';
import { CLOCK_SLACK_MS, type SuiteContext } from './context';

/** Retries, backoff, timeouts and failing jobs for good (the dead-letter side). */
export function retriesTests(ctx: SuiteContext): void {
  const { setup, queueName, ms, deadlineMs, work, hasId, waitFor: until } = ctx;

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
}
