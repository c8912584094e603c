import type { EnqueueOptions } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import {
  CAPABILITIES,
  CLOCK_SLACK_MS,
  expectUnsupported,
  queueCall,
  type SuiteContext,
  UUID,
} from './context';

/** Provider basics: name, capabilities, health, enqueue, enqueueMany and queue lengths. */
export function basicsTests(ctx: SuiteContext): void {
  const { setup, queueName, work, waitFor: until } = ctx;

  it('has a name, six boolean capabilities and a passing health check', async () => {
    const p = await setup();
    expect(typeof p.name).toBe('string');
    expect(p.name.length).toBeGreaterThan(0);
    for (const cap of CAPABILITIES) expect(typeof p.capabilities[cap], `capabilities.${cap}`).toBe('boolean');
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
    await expectIntegrationError(
      () => p.enqueueMany(q, [{ data: { ok: 1 } }, { data: { bad: 1n } }]),
      'IN308',
      queueCall('BigInt item'),
    );
    await expectIntegrationError(
      () => p.enqueueMany(q, [{ data: { ok: 1 } }, { data: { ok: 2 }, opts: { maxRetries: -1 } }]),
      'IN309',
      queueCall('bad item options'),
    );
    expect(await p.queueLength(q)).toBe(0);
  });
}
