import { expect, it } from 'vitest';
import { expectUnsupported, type SuiteContext, UUID } from './context';

/** Deduplication by dedupKey. */
export function dedupTests(ctx: SuiteContext): void {
  const { setup, queueName, work, hasId, gate, waitFor: until } = ctx;

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
}
