import { describe, expect, it } from 'vitest';
import { delayTolerance, nextRung, priorityLevel, queueNames, RUNGS_MS } from '../src/index';
import { LOCAL_WAIT_MS, rungArgs } from '../src/topology';

/** The trips a job makes for `delayMs` when each hop takes exactly its rung's TTL. */
function trips(delayMs: number): number[] {
  const out: number[] = [];
  let remaining = delayMs;
  for (let rung = nextRung(remaining, delayMs); rung > 0; rung = nextRung(remaining, delayMs)) {
    out.push(rung);
    remaining -= rung;
  }
  return out;
}

describe('delay rungs', () => {
  it('are powers of two from 32 ms to about 70 minutes', () => {
    expect(RUNGS_MS).toHaveLength(18);
    expect(RUNGS_MS).toEqual(Array.from({ length: 18 }, (_, i) => 2 ** (5 + i)));
  });

  it('never deliver early, are at most delayTolerance late, and need few trips', () => {
    const delays = [
      1, 31, 32, 33, 50, 100, 300, 999, 1000, 1024, 1100, 1200, 5000, 25_000, 60_000, 3_600_000,
    ];
    for (let d = 40; d < 200_000; d = Math.ceil(d * 1.37)) delays.push(d);
    for (const d of delays) {
      const path = trips(d);
      const total = path.reduce((a, b) => a + b, 0);
      // What is left after the last rung the worker waits out itself (at most LOCAL_WAIT_MS).
      expect(d - total, `delay ${d} via ${path}`).toBeLessThanOrEqual(LOCAL_WAIT_MS);
      expect(total - d, `delay ${d} via ${path}`).toBeLessThanOrEqual(delayTolerance(d));
      expect(path.length, `delay ${d} via ${path}`).toBeLessThanOrEqual(7);
    }
  });

  it('a delay longer than the top rung goes round the top rung, then down', () => {
    const day = 86_400_000;
    const path = trips(day);
    const top = RUNGS_MS.at(-1)!;
    expect(path.filter((r) => r === top).length).toBe(Math.floor(day / top));
    expect(path.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(day - LOCAL_WAIT_MS);
  });

  it('a due job, or one due within LOCAL_WAIT_MS, goes straight to the jobs queue', () => {
    expect(nextRung(0, 0)).toBe(0);
    expect(nextRung(-5, 100)).toBe(0);
    expect(nextRung(LOCAL_WAIT_MS, 1000)).toBe(0);
    expect(nextRung(Number.NaN, 1000)).toBe(0);
  });

  it('dead-letter back to the jobs queue and expire only well after their TTL', () => {
    const args = rungArgs('fraiseql.jobs.q', 1024).arguments;
    expect(args).toMatchObject({
      'x-message-ttl': 1024,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'fraiseql.jobs.q',
    });
    expect(args['x-expires']).toBeGreaterThan(1024 + 60_000);
  });
});

describe('names and priorities', () => {
  it('put the kind before the queue name, so no queue collides with another one’s companions', () => {
    const a = queueNames('fraiseql', 'a');
    const aDlq = queueNames('fraiseql', 'a.dlq');
    expect(a).toMatchObject({ jobs: 'fraiseql.jobs.a', dlq: 'fraiseql.dlq.a', paused: 'fraiseql.paused.a' });
    expect(a.delay(64)).toBe('fraiseql.delay.a.64');
    const all = (n: typeof a) => [n.jobs, n.dlq, n.paused, ...n.rungs()];
    const names = [...all(a), ...all(aDlq), ...all(queueNames('fraiseql', 'a.64'))];
    expect(new Set(names).size).toBe(names.length);
  });

  it('fit the longest queue name within the AMQP limit of 255 bytes', () => {
    const n = queueNames('fraiseql', 'x'.repeat(128));
    for (const name of [n.jobs, n.dlq, n.paused, ...n.rungs()]) expect(name.length).toBeLessThanOrEqual(255);
  });

  it('map priorities onto levels 0..maxPriority, monotonically, 0 in the middle', () => {
    for (const max of [1, 2, 10, 20, 255]) {
      let last = -1;
      for (let p = -300; p <= 300; p++) {
        const level = priorityLevel(p, max);
        expect(level).toBeGreaterThanOrEqual(last);
        expect(level).toBeGreaterThanOrEqual(0);
        expect(level).toBeLessThanOrEqual(max);
        last = level;
      }
    }
    // Levels by magnitude: 0 | 1 | 2-3 | 4-7 | 8-15 | 16+ (mirrored below) on the default 10.
    expect(
      [-100, -16, -15, -8, -7, -4, -3, -2, -1, 0, 1, 2, 3, 4, 7, 8, 15, 16, 2 ** 40].map((p) =>
        priorityLevel(p),
      ),
    ).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 8, 8, 9, 9, 10, 10]);
    expect(priorityLevel(0.9)).toBe(5);
    expect([-5, 0, 5].map((p) => priorityLevel(p, 1))).toEqual([0, 0, 1]);
  });
});
