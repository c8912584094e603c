import { Counter, type CounterConfiguration, Histogram, type HistogramConfiguration } from 'prom-client';

/**
 * Hot-path counting in plain numbers. prom-client hashes a labels object on every `inc` and
 * `observe`; the wrappers count per call, so they add to a pre-resolved cell instead and the
 * metric adds the cells' pending counts to its own series when it is collected (every
 * `registry.metrics()` / `getMetricsAsJSON()` / `metric.get()`). What a scrape shows is what
 * direct calls would have shown (a histogram's `_sum` up to float rounding: it is added in
 * per-scrape partial sums); only the work moves from every call to every scrape.
 *
 * Cells are per metric object (a WeakMap keyed by it), so two trackers or wrappers that share
 * a series (same name on one registry) share its cells, and two registries never mix. A metric
 * that is not ours (created elsewhere under the same name) has no cells: callers then fall back
 * to calling prom-client directly.
 */

type Labels = Record<string, string>;

/** Pending increments of one counter series. */
export class CounterCell {
  n = 0;
  constructor(readonly labels: Labels) {}
}

class CounterCells {
  readonly #cells = new Map<string, CounterCell>();

  cell(key: string, labels: Labels): CounterCell {
    let c = this.#cells.get(key);
    if (!c) {
      c = new CounterCell({ ...labels });
      this.#cells.set(key, c);
    }
    return c;
  }

  flush(counter: Counter<string>): void {
    for (const c of this.#cells.values()) {
      if (c.n === 0) continue;
      const n = c.n;
      c.n = 0;
      counter.inc(c.labels, n);
    }
  }
}

const counterCells = new WeakMap<object, CounterCells>();

/** A Counter whose cells (see `counterCell`) are added to its series on collect. */
export function tallyCounter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  const cells = new CounterCells();
  const counter: Counter<T> = new Counter<T>({
    ...config,
    collect() {
      cells.flush(counter as Counter<string>);
    },
  });
  counterCells.set(counter, cells);
  return counter;
}

/** The cell of one series of a counter made by `tallyCounter`; undefined for any other counter. */
export function counterCell(counter: object, labels: Labels): CounterCell | undefined {
  return counterCells.get(counter)?.cell(cellKey(labels), labels);
}

/** Pending observations of one histogram series: per-bucket counts (non-cumulative), sum, count. */
export class HistogramCell {
  sum = 0;
  count = 0;
  readonly counts: Float64Array;
  constructor(
    readonly labels: Labels,
    /** The histogram's upper bounds, ascending. */
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Same as `Histogram.observe(labels, value)`, including its TypeError on a non-finite value. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        break;
      }
    }
    // Above the last bound: only +Inf (= count), as prom-client does.
    this.sum += value;
    this.count += 1;
  }
}

/** The parts of prom-client's Histogram series the flush adds to (lib/histogram.js, v15). */
interface HistogramEntry {
  labels: Labels;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}
interface HistogramInternals {
  hashMap: Record<string, HistogramEntry>;
  upperBounds: readonly number[];
  zero(labels: Labels): void;
}

class HistogramCells {
  readonly #cells = new Map<string, HistogramCell>();
  constructor(readonly bounds: readonly number[]) {}

  cell(key: string, labels: Labels): HistogramCell {
    let c = this.#cells.get(key);
    if (!c) {
      c = new HistogramCell({ ...labels }, this.bounds);
      this.#cells.set(key, c);
    }
    return c;
  }

  flush(histogram: Histogram<string>): void {
    const h = histogram as unknown as HistogramInternals;
    for (const c of this.#cells.values()) {
      if (c.count === 0) continue;
      let entry = findEntry(h, c.labels);
      if (!entry) {
        h.zero(c.labels);
        entry = findEntry(h, c.labels);
        if (!entry) throw new Error(`prom-client histogram: series not found after zero()`);
      }
      for (let i = 0; i < c.bounds.length; i++) {
        const n = c.counts[i]!;
        if (n === 0) continue;
        entry.bucketValues[c.bounds[i]!] = (entry.bucketValues[c.bounds[i]!] ?? 0) + n;
        c.counts[i] = 0;
      }
      entry.sum += c.sum;
      entry.count += c.count;
      c.sum = 0;
      c.count = 0;
    }
  }
}

function findEntry(h: HistogramInternals, labels: Labels): HistogramEntry | undefined {
  const keys = Object.keys(labels);
  for (const entry of Object.values(h.hashMap)) {
    if (keys.every((k) => entry.labels[k] === labels[k])) return entry;
  }
  return undefined;
}

const histogramCells = new WeakMap<object, HistogramCells>();

/** A Histogram whose cells (see `histogramCell`) are added to its series on collect. */
export function tallyHistogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
  let cells: HistogramCells | undefined;
  const histogram: Histogram<T> = new Histogram<T>({
    ...config,
    collect() {
      cells?.flush(histogram as Histogram<string>);
    },
  });
  const internals = histogram as unknown as Partial<HistogramInternals>;
  // Only when prom-client's internals look as expected; otherwise callers observe directly.
  if (
    internals.hashMap &&
    typeof internals.hashMap === 'object' &&
    Array.isArray(internals.upperBounds) &&
    typeof internals.zero === 'function'
  ) {
    cells = new HistogramCells([...internals.upperBounds]);
    histogramCells.set(histogram, cells);
  }
  return histogram;
}

/** The cell of one series of a histogram made by `tallyHistogram`; undefined for any other histogram. */
export function histogramCell(histogram: object, labels: Labels): HistogramCell | undefined {
  return histogramCells.get(histogram)?.cell(cellKey(labels), labels);
}

function cellKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
}
