import { setTimeout as sleep } from 'node:timers/promises';
import type { EnqueueOptions, QueueProvider } from '@fraiseql/core';
import { MockQueueProvider } from '@fraiseql/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../src/index.ts';

/** The mock queue, noting the wall-clock time each tick's enqueue was called. */
function noting() {
  const queue = new MockQueueProvider();
  const calls: { tick: number; at: number }[] = [];
  const note = (opts?: EnqueueOptions) => {
    calls.push({ tick: Number(opts?.dedupKey?.split(':').pop()), at: Date.now() });
  };
  const wrapped = Object.create(queue, {
    enqueue: {
      value: (q: string, data: unknown, opts?: EnqueueOptions) => {
        note(opts);
        return queue.enqueue(q, data, opts);
      },
    },
    enqueueMany: {
      value: (q: string, items: { data: unknown; opts?: EnqueueOptions }[]) => {
        for (const it of items) note(it.opts);
        return queue.enqueueMany(q, items);
      },
    },
  }) as QueueProvider;
  return { queue, wrapped, calls };
}

let open: Scheduler[] = [];
afterEach(async () => {
  for (const s of open) await s.stop();
  open = [];
});

describe('claiming ahead of the tick', () => {
  it('claimed-ahead ticks are enqueued at their instant, never before, each once', async () => {
    const { wrapped, calls } = noting();
    const scheduler = await createScheduler({ queue: wrapped, store: 'memory', claimAheadMs: 150 });
    open.push(scheduler);
    await scheduler.upsert({ id: 'a', everyMs: 200, queue: 'q' });
    await scheduler.upsert({ id: 'b', everyMs: 300, queue: 'q' });
    await scheduler.start();
    await sleep(2000);
    await scheduler.stop();
    expect(calls.length).toBeGreaterThanOrEqual(12);
    for (const c of calls) {
      expect(c.at, `tick ${c.tick} enqueued ${c.tick - c.at} ms early`).toBeGreaterThanOrEqual(c.tick);
      expect(c.at - c.tick).toBeLessThan(150);
    }
    const perTick = new Map<number, number>();
    for (const c of calls) perTick.set(c.tick, (perTick.get(c.tick) ?? 0) + 1);
    // Ticks shared by a and b (every 600 ms) are two calls; none is three.
    for (const [tick, n] of perTick) expect(n, `tick ${tick}`).toBe(tick % 600 === 0 ? 2 : 1);
  });

  it('a schedule removed between the claim and the instant does not fire that tick', async () => {
    const { wrapped, calls } = noting();
    const scheduler = await createScheduler({ queue: wrapped, store: 'memory', claimAheadMs: 700 });
    open.push(scheduler);
    // Start mid-second: the first claim-ahead pass comes 700 ms before the next second.
    await sleep(1000 - (Date.now() % 1000) + 400);
    await scheduler.upsert({ id: 'r', everyMs: 1000, queue: 'q' });
    await scheduler.start();
    let claimed: number | null = null;
    const until = Date.now() + 3000;
    while (claimed === null && Date.now() < until) {
      const [info] = await scheduler.list();
      const last = info?.lastRun?.getTime();
      if (last !== undefined && last > Date.now() + 100) claimed = last;
      else await sleep(10);
    }
    expect(claimed).not.toBeNull();
    expect(await scheduler.remove('r')).toBe(true);
    await sleep((claimed as number) - Date.now() + 300);
    expect(calls.map((c) => c.tick)).not.toContain(claimed);
  });
});

describe('cron timings sharing a pattern', () => {
  it('answer per schedule window although croner runs once per pattern and instant', async () => {
    const { makeTiming } = await import('../src/timing.ts');
    const base = Date.parse('2026-01-01T00:00:00Z');
    const plain = makeTiming({ cron: '0 * * * * *', tz: 'UTC' });
    const late = makeTiming({ cron: '0 * * * * *', tz: 'UTC', startAtMs: base + 180_000 });
    const ended = makeTiming({ cron: '0 * * * * *', tz: 'UTC', endAtMs: base + 30_000 });
    const berlin = makeTiming({ cron: '0 0 * * * *', tz: 'Europe/Berlin' });
    for (let k = 0; k < 2; k++) {
      expect(plain.next(base)).toBe(base + 60_000);
      expect(late.next(base)).toBe(base + 180_000);
      expect(ended.next(base)).toBeNull();
      expect(plain.next(base + 60_000)).toBe(base + 120_000);
      expect(berlin.next(base)).toBe(base + 3_600_000);
    }
  });
});
