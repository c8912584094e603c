import { sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildEvent, FixtureChild, killAllChildren } from './support/children';
import { openQueueBackend, type QueueBackend, type QueueBackendName, serviceFor } from './support/queues';
import { record, SOAK } from './support/results';
import { MB, quantile, round, slope } from './support/stats';

/**
 * Scenario 7 — soak. One worker process takes jobs at a steady rate; every second it reports its
 * RSS, its heap after a full GC (run with --expose-gc: what survives is what leaks) and its
 * event-loop lag. Figures: the slopes of those over the run (after a warm-up), which must stay
 * flat. Bounded here (45 s); `--soak` runs 10 minutes (FRAISEQL_SOAK_MINUTES to change).
 */

const minutes = Number(process.env.FRAISEQL_SOAK_MINUTES ?? (SOAK ? 10 : 0.75));
const durationMs = Math.round(minutes * 60_000);
const ratePerSecond = Number(process.env.FRAISEQL_SOAK_RATE ?? 100);
const backendName = (process.env.FRAISEQL_SOAK_BACKEND ?? 'postgresql') as QueueBackendName;
const service = await serviceFor(backendName);

afterAll(killAllChildren);

describe.skipIf(service !== undefined && !service.available)(`soak: ${backendName}`, () => {
  let backend: QueueBackend | undefined;
  afterAll(async () => {
    await killAllChildren();
    await backend?.close();
  }, 60_000);

  it(
    `a worker at ${ratePerSecond} jobs/s for ${minutes} min keeps RSS, heap and event-loop lag flat`,
    async () => {
      expect(backendName).not.toBe('pglite'); // one process per directory: the producer could not run beside it
      backend = await openQueueBackend(backendName, { lease: 5000, ...(service ? { service } : {}) });
      const queue = uniqueName('soak');
      const stats: ChildEvent[] = [];
      const done = new Set<string>();
      const child = new FixtureChild(
        'worker.mjs',
        {
          ...backend.childEnv(queue),
          CONCURRENCY: '8',
          VT_MS: '5000',
          WORK_MIN_MS: '1',
          WORK_MAX_MS: '10',
          STATS_MS: '1000',
        },
        (e) => {
          if (e.ev === 'stats') stats.push(e);
          else if (e.ev === 'done') done.add(e.id!);
        },
        ['--expose-gc'],
      );
      await child.ready;

      // Steady production: a batch every 100 ms, so the rate holds whatever each call costs.
      const ids: string[] = [];
      const start = Date.now();
      const perTick = Math.max(1, Math.round(ratePerSecond / 10));
      for (let tick = 0; Date.now() - start < durationMs; tick++) {
        ids.push(...(await backend.enqueue(queue, perTick)));
        const next = start + (tick + 1) * 100;
        await sleep(Math.max(0, next - Date.now()));
      }
      const producedMs = Date.now() - start;
      await waitFor(() => ids.every((id) => done.has(id)), 60_000, 'the worker to finish every job', 100);
      await child.stop();

      // Warm-up excluded: JIT, pools and caches fill during the first quarter (at least 10 s).
      const warm = start + Math.max(10_000, producedMs / 4);
      const window = stats.filter((s) => s.t! >= warm && s.t! <= start + producedMs);
      const perMinute = (key: 'rss' | 'heap' | 'lagP99', unit: number) =>
        slope(window.map((s) => ({ x: (s.t! - warm) / 60_000, y: (s[key] as number) / unit })));
      const rssSlope = perMinute('rss', MB);
      const heapSlope = perMinute('heap', MB);
      const lagSlope = perMinute('lagP99', 1);
      const lagP99 = quantile(
        window.map((s) => s.lagP99 as number),
        0.5,
      );
      const lagMax = Math.max(...window.map((s) => s.lagMax as number));
      const rss = window.map((s) => (s.rss as number) / MB);
      const heap = window.map((s) => (s.heap as number) / MB);
      const growth = (xs: number[]) => quantile(xs.slice(-5), 0.5) - quantile(xs.slice(0, 5), 0.5);
      const heapGrowth = growth(heap);
      const rssGrowth = growth(rss);

      record(
        'soak',
        `${backendName}, ${minutes} min`,
        {
          minutes,
          ratePerSecond,
          jobs: ids.length,
          samples: window.length,
          rssStartMB: round(rss[0] ?? 0, 1),
          rssEndMB: round(rss.at(-1) ?? 0, 1),
          rssSlopeMBPerMin: round(rssSlope),
          heapAfterGcStartMB: round(heap[0] ?? 0, 1),
          heapAfterGcEndMB: round(heap.at(-1) ?? 0, 1),
          heapSlopeMBPerMin: round(heapSlope),
          heapGrowthMB: round(heapGrowth),
          rssGrowthMB: round(rssGrowth),
          lagP99MedianMs: round(lagP99),
          lagMaxMs: round(lagMax),
          lagP99SlopeMsPerMin: round(lagSlope),
        },
        `${ids.length} jobs at ${ratePerSecond}/s over ${minutes} min: RSS ${round(rss[0] ?? 0, 0)}→${round(rss.at(-1) ?? 0, 0)} MB ` +
          `(slope ${round(rssSlope)} MB/min), heap after GC ${round(heap[0] ?? 0, 1)}→${round(heap.at(-1) ?? 0, 1)} MB ` +
          `(slope ${round(heapSlope)} MB/min), event-loop lag p99 ${round(lagP99, 1)} ms (slope ${round(lagSlope)} ms/min, max ${round(lagMax, 0)} ms)`,
      );

      expect(window.length).toBeGreaterThanOrEqual(Math.floor((producedMs - (warm - start)) / 1000) - 5);
      // A slope over a short window is noisy, so the bounds are on growth (median of the first five
      // samples → median of the last five) with room for GC and allocator noise on a loaded machine:
      // a leak of 1 KB per job at this rate would add ~6 MB per minute to the heap.
      expect(heapGrowth, 'heap growth after GC, MB').toBeLessThan(4 + minutes);
      expect(rssGrowth, 'RSS growth, MB').toBeLessThan(30 + 5 * minutes);
      expect(lagSlope, 'event-loop lag p99 slope, ms/min').toBeLessThan(20);
    },
    durationMs + 180_000,
  );
});
