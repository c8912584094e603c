// The measuring part of `pnpm bench`: alternating A/B comparisons, throughput and latency
// samplers, and the statistics every row reports. No provider is imported here.
import { Bench } from 'tinybench';

/** @typedef {{ median: number, min: number, max: number, p25: number, p75: number, n: number }} Summary */

/**
 * One result row, as written to results.json. `ratio` is always "how much better we are": ours ÷
 * peer for higher-is-better units (ops/s, jobs/s, req/s), peer ÷ ours for lower-is-better ones
 * (latency in ms), so ≥ 1 means we are at least as good and the aim reads the same way everywhere.
 * @typedef {{
 *   benchmark: string, unit: string, ours: number | null, peer: number | null, peerName: string,
 *   ratio: number | null, higherIsBetter: boolean, aim: number | null,
 *   oursSpread?: Summary, peerSpread?: Summary, rounds?: number, note?: string,
 *   oursSamples?: number[], peerSamples?: number[]
 * }} Row
 */

export const now = () => performance.now();

/** Linear-interpolated quantile of a sorted array. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Nearest-rank percentile (what queue latency tables usually quote: an observed value). */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** @returns {Summary} */
export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0],
    max: s.at(-1),
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    n: s.length,
  };
}

/** Runs a full GC when node was started with --expose-gc, so one side never pays for the other's garbage. */
export function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/**
 * Operations per second of `op` with `inFlight` concurrent callers, each awaiting its previous
 * call before starting the next, for `ms` milliseconds. `op(i)` gets a running counter so callers
 * can spread keys.
 */
export async function throughput(op, { inFlight = 1, ms = 1000 } = {}) {
  let done = 0;
  const started = now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      let i = w;
      // The clock is read once per 16 calls: cheap next to an I/O round trip, negligible otherwise.
      for (;;) {
        for (let k = 0; k < 16; k++) {
          await op(i);
          i += inFlight;
          done++;
        }
        if (now() >= deadline) break;
      }
    }),
  );
  return (done / (now() - started)) * 1000;
}

/**
 * Throughput of an in-process async call, measured with tinybench: one iteration is a batch of
 * `batch` sequentially awaited calls, so the timer's own cost (tens of ns) is spread over the
 * batch instead of inflating every call. Returns calls per second (mean over the iterations).
 */
export async function microThroughput(op, { ms = 500, batch = 1000 } = {}) {
  let i = 0;
  const bench = new Bench({ time: ms, warmupTime: Math.min(100, ms / 4), iterations: 8, throws: true });
  bench.add('op', async () => {
    for (let k = 0; k < batch; k++) await op(i++);
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r?.state !== 'completed') throw r?.error ?? new Error('tinybench task did not complete');
  return (batch / r.period) * 1000;
}

/** Same as microThroughput for a synchronous call (lru-cache's own API). */
export async function microThroughputSync(op, { ms = 500, batch = 1000 } = {}) {
  let i = 0;
  let sink = 0;
  const bench = new Bench({ time: ms, warmupTime: Math.min(100, ms / 4), iterations: 8, throws: true });
  bench.add('op', () => {
    for (let k = 0; k < batch; k++) if (op(i++) !== undefined) sink++;
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r?.state !== 'completed') throw r?.error ?? new Error('tinybench task did not complete');
  if (sink < 0) console.log(sink); // keeps `sink` observable so the loop is not optimised away
  return (batch / r.period) * 1000;
}

const fmt = (x) =>
  x === null || x === undefined || Number.isNaN(x)
    ? '—'
    : Math.abs(x) >= 100
      ? Math.round(x).toLocaleString('en-US')
      : x.toFixed(2);

/**
 * A/B comparison: `warmup` discarded rounds, then `rounds` rounds of ours then peer, strictly
 * alternating (A B A B …) so drift of the machine (other processes, thermal, autovacuum) lands on
 * both sides. Each sample function returns `{ [metricKey]: value }`; one row per metric.
 *
 * @param {{
 *   peerName: string,
 *   rounds: number,
 *   warmup?: number,
 *   metrics: { key: string, benchmark: string, unit: string, higherIsBetter?: boolean, aim?: number | null }[],
 *   ours: () => Promise<Record<string, number>>,
 *   peer: () => Promise<Record<string, number>>,
 *   log?: (line: string) => void,
 * }} spec
 * @returns {Promise<Row[]>}
 */
export async function compare(spec) {
  const { metrics, rounds, warmup = 1, log = console.log } = spec;
  const ours = Object.fromEntries(metrics.map((m) => [m.key, []]));
  const peer = Object.fromEntries(metrics.map((m) => [m.key, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    collectGarbage();
    const a = await spec.ours();
    collectGarbage();
    const b = await spec.peer();
    if (r < warmup) continue;
    for (const m of metrics) {
      ours[m.key].push(a[m.key]);
      peer[m.key].push(b[m.key]);
    }
    const shown = metrics.map((m) => `${m.key} ${fmt(a[m.key])} vs ${fmt(b[m.key])}`).join(', ');
    log(`    round ${r - warmup + 1}/${rounds}: ${shown}`);
  }
  return metrics.map((m) => {
    const higherIsBetter = m.higherIsBetter ?? true;
    const o = summarize(ours[m.key]);
    const p = summarize(peer[m.key]);
    const ratio = higherIsBetter ? o.median / p.median : p.median / o.median;
    return {
      benchmark: m.benchmark,
      unit: m.unit,
      ours: round(o.median),
      peer: round(p.median),
      peerName: spec.peerName,
      ratio: round(ratio, 3),
      higherIsBetter,
      aim: m.aim ?? null,
      oursSpread: roundSummary(o),
      peerSpread: roundSummary(p),
      rounds,
      oursSamples: ours[m.key].map((x) => round(x)),
      peerSamples: peer[m.key].map((x) => round(x)),
    };
  });
}

/** A single-metric comparison whose sample functions return a number. */
export async function compareOne({ benchmark, unit, higherIsBetter, aim, ours, peer, ...rest }) {
  const key = 'value';
  const [row] = await compare({
    ...rest,
    metrics: [{ key, benchmark, unit, higherIsBetter, aim }],
    ours: async () => ({ [key]: await ours() }),
    peer: async () => ({ [key]: await peer() }),
  });
  return row;
}

/** A row that could not be measured (service down, provider not built): kept, with why. */
export function unmeasured({ benchmark, unit, peerName, aim, higherIsBetter = true }, note) {
  return { benchmark, unit, ours: null, peer: null, peerName, ratio: null, higherIsBetter, aim, note };
}

export function round(x, digits) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  if (digits !== undefined) return Number(x.toFixed(digits));
  const abs = Math.abs(x);
  return Number(x.toFixed(abs >= 1000 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3));
}

function roundSummary(s) {
  return {
    median: round(s.median),
    min: round(s.min),
    max: round(s.max),
    p25: round(s.p25),
    p75: round(s.p75),
    n: s.n,
  };
}

/** Resolves when `done()` is true, checking every `everyMs`; rejects after `timeoutMs`. */
export function until(done, { everyMs = 2, timeoutMs = 120_000, what = 'condition' } = {}) {
  return new Promise((resolve, reject) => {
    const started = now();
    const tick = () => {
      if (done()) return resolve();
      if (now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, everyMs);
    };
    tick();
  });
}

/** A promise with its resolve function, for "resolve when the N-th job ran" style waits. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export { fmt };
