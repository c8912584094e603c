import { expect, it } from 'vitest';
import { CLOCK_SLACK_MS, expectUnsupported, type SuiteContext } from './context';

/** Delivery order: oldest first, priority, and delayed jobs. */
export function priorityAndDelayTests(ctx: SuiteContext): void {
  const { setup, queueName, ms, work, waitFor: until } = ctx;

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
}
