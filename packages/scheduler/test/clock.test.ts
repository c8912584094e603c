import { MockQueueProvider } from '@fraiseql/mocks';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../src/index.ts';

/** A scheduler on the memory store and the mock queue, driven by a fake clock through poll(). */
async function rig(startIso: string, tickMs?: number) {
  let now = Date.parse(startIso);
  const queue = new MockQueueProvider();
  const registry = new Registry();
  const scheduler = await createScheduler({
    queue,
    store: 'memory',
    now: () => now,
    registry,
    ...(tickMs ? { tickMs } : {}),
  });
  const ticks = (q = 'q') =>
    queue
      .jobsInQueue(q)
      .map((j) => Number(j.dedupKey?.split(':').pop()))
      .sort((a, b) => a - b);
  return {
    queue,
    registry,
    scheduler,
    ticks,
    set(iso: string | number) {
      now = typeof iso === 'number' ? iso : Date.parse(iso);
    },
    async advance(ms: number, stepMs = 1000) {
      const end = now + ms;
      while (now < end) {
        now = Math.min(end, now + stepMs);
        await scheduler.poll();
      }
    },
  };
}

let open: Scheduler[] = [];
afterEach(async () => {
  for (const s of open) await s.stop();
  open = [];
});
async function make(startIso: string, tickMs?: number) {
  const r = await rig(startIso, tickMs);
  open.push(r.scheduler);
  await r.scheduler.poll();
  return r;
}

describe('timing with an injected clock', () => {
  it('everyMs fires once per interval, aligned, with the template data and the tick dedup key', async () => {
    const r = await make('2026-01-01T00:00:00.500Z');
    await r.scheduler.upsert({ id: 'e', everyMs: 1000, queue: 'q', data: { a: 1 } });
    await r.advance(5000, 250);
    expect(r.ticks()).toEqual([1, 2, 3, 4, 5].map((s) => Date.parse('2026-01-01T00:00:00Z') + s * 1000));
    for (const j of r.queue.jobsInQueue('q')) expect(j.data).toEqual({ a: 1 });
    const [info] = await r.scheduler.list();
    expect(info?.firedCount).toBe(5);
    expect(info?.lastRun?.toISOString()).toBe('2026-01-01T00:00:05.000Z');
    expect(info?.nextRun?.toISOString()).toBe('2026-01-01T00:00:06.000Z');
    expect(info?.lastJobId).toBe(r.queue.jobsInQueue('q').at(-1)?.id);
    const fired = await r.registry.getSingleMetric('fraiseql_schedule_fired_total')?.get();
    expect(fired?.values.find((v) => v.labels.schedule === 'e')?.value).toBe(5);
  });

  it('0 30 2 * * * Europe/Berlin: once at 03:00 on spring-forward day, once on fall-back day', async () => {
    // Passes every minute: a loop with tickMs = 60 s, so minutes are not "missed while down".
    const r = await make('2026-03-28T00:00:00Z', 60_000);
    await r.scheduler.upsert({ id: 'dst', cron: '0 30 2 * * *', tz: 'Europe/Berlin', queue: 'q' });
    await r.advance(3 * 86_400_000, 60_000);
    expect(r.ticks().map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    const f = await make('2026-10-24T00:00:00Z', 60_000);
    await f.scheduler.upsert({ id: 'dst', cron: '0 30 2 * * *', tz: 'Europe/Berlin', queue: 'q' });
    await f.advance(3 * 86_400_000, 60_000);
    expect(f.ticks().map((t) => new Date(t).toISOString())).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 of the repeated hour, not the second
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    const [info] = await f.scheduler.list();
    expect(info?.tz).toBe('Europe/Berlin');
  });

  it('without backfillMs, ticks missed while every scheduler was down are skipped; the next one runs', async () => {
    const r = await make('2026-01-01T00:00:00.100Z');
    await r.scheduler.upsert({ id: 'b0', everyMs: 1000, queue: 'q' });
    await r.advance(2000, 500);
    expect(r.ticks()).toHaveLength(2);
    r.set(Date.parse('2026-01-01T00:01:00.100Z')); // down for a minute
    await r.scheduler.poll();
    expect(r.ticks()).toHaveLength(2);
    await r.advance(1000, 500);
    expect(r.ticks().at(-1)).toBe(Date.parse('2026-01-01T00:01:01Z'));
    expect(r.ticks()).toHaveLength(3);
  });

  it('with backfillMs, missed ticks inside the window fire oldest first, each once', async () => {
    const r = await make('2026-01-01T00:00:00.100Z');
    await r.scheduler.upsert({ id: 'b5', everyMs: 1000, queue: 'q', backfillMs: 5000 });
    await r.advance(2000, 500);
    r.set(Date.parse('2026-01-01T00:01:00.100Z'));
    await r.scheduler.poll();
    await r.scheduler.poll();
    const base = Date.parse('2026-01-01T00:00:00Z');
    expect(r.ticks()).toEqual([1, 2, 56, 57, 58, 59, 60].map((s) => base + s * 1000));
    const order = r.queue.jobsInQueue('q').map((j) => Number(j.dedupKey?.split(':').pop()));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('startAt, endAt and limit bound the ticks', async () => {
    const r = await make('2026-01-01T00:00:00Z');
    const base = Date.parse('2026-01-01T00:00:00Z');
    await r.scheduler.upsert({
      id: 'w',
      everyMs: 1000,
      queue: 'q',
      startAt: new Date(base + 3000),
      endAt: new Date(base + 6000),
    });
    await r.scheduler.upsert({ id: 'l', everyMs: 1000, queue: 'l', limit: 2 });
    await r.advance(10_000, 500);
    expect(r.ticks()).toEqual([3, 4, 5, 6].map((s) => base + s * 1000));
    expect(r.ticks('l')).toHaveLength(2);
    const list = await r.scheduler.list();
    expect(list.find((s) => s.id === 'l')?.nextRun).toBeNull();
    expect(list.find((s) => s.id === 'w')?.nextRun).toBeNull();
  });

  it('remove stops a schedule; upsert replaces it', async () => {
    const r = await make('2026-01-01T00:00:00.100Z');
    await r.scheduler.upsert({ id: 'x', everyMs: 1000, queue: 'q', data: 1 });
    await r.advance(2000, 500);
    await r.scheduler.upsert({ id: 'x', everyMs: 1000, queue: 'q', data: 2 });
    await r.advance(1000, 500);
    expect(r.queue.jobsInQueue('q').map((j) => j.data)).toEqual([1, 1, 2]);
    expect(await r.scheduler.remove('x')).toBe(true);
    expect(await r.scheduler.remove('x')).toBe(false);
    await r.advance(3000, 500);
    expect(r.ticks()).toHaveLength(3);
  });

  it('a queue that is down: the tick is retried on the next pass, counted, and the scheduler keeps going', async () => {
    const r = await make('2026-01-01T00:00:00.100Z');
    await r.scheduler.upsert({ id: 'd', everyMs: 1000, queue: 'q' });
    r.queue.failWith('backend down');
    await r.advance(2000, 500);
    expect(r.queue.jobsInQueue('q')).toHaveLength(0);
    r.queue.shouldFail = false;
    await r.advance(500, 500);
    const base = Date.parse('2026-01-01T00:00:00Z');
    expect(r.ticks()).toEqual([1, 2].map((s) => base + s * 1000));
    const errors = await r.registry.getSingleMetric('fraiseql_schedule_errors_total')?.get();
    expect(errors?.values.find((v) => v.labels.stage === 'enqueue')?.value).toBeGreaterThanOrEqual(2);
  });

  it('runNow enqueues one job outside the timing', async () => {
    const r = await make('2026-01-01T00:00:00.100Z');
    await r.scheduler.upsert({ id: 'n', cron: '0 0 0 1 1 *', queue: 'q', data: { now: true } });
    const id = await r.scheduler.runNow('n');
    expect(r.queue.jobsInQueue('q').map((j) => [j.id, j.data])).toEqual([[id, { now: true }]]);
    await expect(r.scheduler.runNow('missing')).rejects.toMatchObject({ code: 'IN300', httpStatus: 404 });
  });
});

describe('bad input', () => {
  it('refuses bad cron, time zone, ids, queue names and values with a clear error naming the schedule', async () => {
    const r = await make('2026-01-01T00:00:00Z');
    const cases: [Record<string, unknown>, RegExp, string][] = [
      [{ id: 'c', cron: 'not a cron', queue: 'q' }, /schedule "c": invalid cron "not a cron"/, 'cron'],
      [{ id: 'c', cron: '61 * * * * *', queue: 'q' }, /schedule "c": invalid cron/, 'cron'],
      [
        { id: 'z', cron: '* * * * *', tz: 'Mars/Olympus', queue: 'q' },
        /schedule "z": invalid time zone "Mars\/Olympus"/,
        'tz',
      ],
      [{ id: 'a b', everyMs: 1000, queue: 'q' }, /invalid id "a b"/, 'id'],
      [{ id: "x'; DROP TABLE t;--", everyMs: 1000, queue: 'q' }, /invalid id/, 'id'],
      [{ id: 'q', everyMs: 1000, queue: '../etc' }, /schedule "q": invalid queue name/, 'queue'],
      [{ id: 'e', everyMs: 10, queue: 'q' }, /everyMs must be an integer ≥ 100/, 'everyMs'],
      [{ id: 'e', queue: 'q' }, /exactly one of cron or everyMs/, 'cron'],
      [{ id: 'e', cron: '* * * * *', everyMs: 1000, queue: 'q' }, /exactly one of cron or everyMs/, 'cron'],
      [{ id: 'd', everyMs: 1000, queue: 'q', data: { n: 1n } }, /data must be JSON/, 'data'],
      [{ id: 'l', everyMs: 1000, queue: 'q', limit: 0 }, /limit must be an integer ≥ 1/, 'limit'],
      [
        { id: 's', everyMs: 1000, queue: 'q', startAt: new Date('nope') },
        /startAt must be a valid Date/,
        'startAt',
      ],
    ];
    for (const [input, message, field] of cases) {
      const err = await r.scheduler.upsert(input as never).then(
        () => null,
        (e) => e,
      );
      expect(
        err,
        JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      ).toMatchObject({
        name: 'IntegrationError',
        code: 'IN002',
        field,
        httpStatus: 400,
      });
      expect(err.message).toMatch(message);
    }
    expect(await r.scheduler.list()).toEqual([]);
    await expect(r.scheduler.remove('bad id')).rejects.toMatchObject({ code: 'IN002' });
    await expect(createScheduler({ queue: r.queue, store: 'nope' as never })).rejects.toMatchObject({
      code: 'IN002',
    });
    await expect(createScheduler({ queue: r.queue, store: 'memory', tickMs: 0 })).rejects.toMatchObject({
      code: 'IN002',
    });
    await expect(createScheduler({ queue: r.queue, store: 'redis', env: {} })).rejects.toMatchObject({
      code: 'IN001',
    });
  });
});
