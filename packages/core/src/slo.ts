import { type Counter, type Histogram, Registry as PromRegistry, type Registry } from 'prom-client';
import { ErrorCode, IntegrationError } from './errors';
import {
  type CounterCell,
  counterCell,
  type HistogramCell,
  histogramCell,
  tallyCounter,
  tallyHistogram,
} from './tally';

/** A latency + availability objective for one operation. */
export interface SloConfig {
  /** A success slower than this is a violation. Default 100. */
  targetLatencyMs: number;
  /** Fraction of requests that must be good, e.g. 0.999. Default 0.999. */
  targetAvailability: number;
  /** Window the error budget is computed over. Default 30. */
  budgetPeriodDays: number;
}

const base = (targetLatencyMs: number): SloConfig => ({
  targetLatencyMs,
  targetAvailability: 0.999,
  budgetPeriodDays: 30,
});

/** Presets; every one is a fresh object the caller may change. */
export const SloConfig = {
  /** 100 ms, 99.9 %, 30 days. */
  default: (): SloConfig => base(100),
  /** Search queries: 200 ms. */
  search: (): SloConfig => base(200),
  /** Index writes (they wait until searchable): 1 s. */
  searchIndex: (): SloConfig => base(1000),
  /** Cache reads: 10 ms. */
  cacheRead: (): SloConfig => base(10),
  /** Cache writes and deletes: 20 ms. */
  cacheWrite: (): SloConfig => base(20),
  /** Enqueue: 50 ms. */
  queueEnqueue: (): SloConfig => base(50),
  /** Job processing: 30 s. */
  queueProcess: (): SloConfig => base(30_000),
} as const;

function assertSloConfig(name: string, c: SloConfig): void {
  const bad: string[] = [];
  if (!(Number.isFinite(c.targetLatencyMs) && c.targetLatencyMs > 0)) bad.push('targetLatencyMs must be > 0');
  if (!(c.targetAvailability > 0 && c.targetAvailability < 1))
    bad.push('targetAvailability must be between 0 and 1 (exclusive)');
  if (!(Number.isFinite(c.budgetPeriodDays) && c.budgetPeriodDays > 0))
    bad.push('budgetPeriodDays must be > 0');
  if (bad.length) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `Invalid SLO "${name}": ${bad.join('; ')}`,
    );
  }
}

/** Histogram buckets in seconds; every preset's target is a bucket boundary so "under target" is exact in PromQL. */
export const SLO_LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Counts of one ring of time buckets. */
class BucketRing {
  readonly total: Float64Array;
  readonly violations: Float64Array;
  readonly errors: Float64Array;
  readonly epoch: Float64Array;
  // The bucket `add` wrote last: [start, end) of its time span and its slot.
  #curStart = 0;
  #curEnd = -1;
  #curSlot = 0;

  constructor(
    readonly widthMs: number,
    readonly size: number,
  ) {
    this.total = new Float64Array(size);
    this.violations = new Float64Array(size);
    this.errors = new Float64Array(size);
    this.epoch = new Float64Array(size).fill(-1);
  }

  add(now: number, violation: boolean, error: boolean): void {
    // Most calls land in the bucket of the previous one; only the others pay for the division.
    const slot = now >= this.#curStart && now < this.#curEnd ? this.#curSlot : this.#roll(now);
    this.total[slot]! += 1;
    if (violation) this.violations[slot]! += 1;
    if (error) this.errors[slot]! += 1;
  }

  #roll(now: number): number {
    const idx = Math.floor(now / this.widthMs);
    const slot = idx % this.size;
    if (this.epoch[slot] !== idx) {
      this.epoch[slot] = idx;
      this.total[slot] = 0;
      this.violations[slot] = 0;
      this.errors[slot] = 0;
    }
    this.#curStart = idx * this.widthMs;
    this.#curEnd = (idx + 1) * this.widthMs;
    this.#curSlot = slot;
    return slot;
  }

  /** Sums the buckets that overlap the last `windowMs` (whole buckets, so up to one bucket more). */
  sum(now: number, windowMs: number): { total: number; violations: number; errors: number } {
    const idx = Math.floor(now / this.widthMs);
    const count = Math.min(this.size, Math.max(1, Math.ceil(windowMs / this.widthMs)));
    let total = 0;
    let violations = 0;
    let errors = 0;
    for (let i = 0; i < count; i++) {
      const e = idx - i;
      const slot = ((e % this.size) + this.size) % this.size;
      if (this.epoch[slot] !== e) continue;
      total += this.total[slot]!;
      violations += this.violations[slot]!;
      errors += this.errors[slot]!;
    }
    return { total, violations, errors };
  }
}

export interface SloTrackerOptions {
  /** Where the tracker's metrics go. Default: a private registry (never prom-client's global one). */
  registry?: Registry;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /** `provider` label value when a record call names none. Default `"unknown"`. */
  defaultProvider?: string;
}

/** Where the counts of one provider go: plain cells when the metric is ours, else prom-client directly. */
interface ProviderCells {
  readonly labels: { provider: string };
  readonly latency: HistogramCell | undefined;
  readonly total: CounterCell | undefined;
  readonly violations: CounterCell | undefined;
  readonly errors: CounterCell | undefined;
}

export interface SloSnapshot {
  name: string;
  config: SloConfig;
  total: number;
  violations: number;
  errors: number;
  errorBudgetRemaining: number;
  withinSlo: boolean;
}

/**
 * In-process SLO accounting for one operation, for health checks and the CLI. The budget of
 * record is Prometheus (the metrics below, over the same objective): a process restart resets
 * these counts, it does not reset the series.
 *
 * Counts live in time buckets — 1 s buckets for the last hour (burn-rate windows) and 1 h
 * buckets over the budget period — so old events age out without a timer.
 */
export class SloTracker {
  readonly name: string;
  readonly config: SloConfig;
  readonly registry: Registry;
  readonly #now: () => number;
  readonly #defaultProvider: string;
  readonly #fine = new BucketRing(1000, 3600);
  readonly #coarse: BucketRing;
  readonly #latency: Histogram<'provider'>;
  readonly #total: Counter<'provider'>;
  readonly #violations: Counter<'provider'>;
  readonly #errors: Counter<'provider'>;
  readonly #cells = new Map<string, ProviderCells>();
  #lastProvider: string | undefined;
  #lastCells: ProviderCells | undefined;

  constructor(name: string, config: SloConfig = SloConfig.default(), opts: SloTrackerOptions = {}) {
    if (!METRIC_NAME.test(name)) {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        `Invalid SLO name "${name}": use [A-Za-z0-9_]`,
      );
    }
    assertSloConfig(name, config);
    this.name = name;
    this.config = { ...config };
    this.registry = opts.registry ?? new PromRegistry();
    this.#now = opts.now ?? Date.now;
    this.#defaultProvider = opts.defaultProvider ?? 'unknown';
    const periodMs = config.budgetPeriodDays * 86_400_000;
    this.#coarse = new BucketRing(3_600_000, Math.max(1, Math.ceil(periodMs / 3_600_000)) + 1);

    const prefix = `fraiseql_integration_${name}`;
    const target = config.targetLatencyMs / 1000;
    const buckets = [...new Set([...SLO_LATENCY_BUCKETS_SECONDS, target])].sort((a, b) => a - b);
    this.#latency = this.#metric(`${prefix}_latency_seconds`, () =>
      tallyHistogram({
        name: `${prefix}_latency_seconds`,
        help: `Latency of ${name} in seconds`,
        labelNames: ['provider'],
        buckets,
        registers: [this.registry],
      }),
    );
    this.#total = this.#counter(`${prefix}_total`, `Requests of ${name}`);
    this.#violations = this.#counter(
      `${prefix}_slo_violations_total`,
      `Requests of ${name} that missed the SLO (errors or slower than ${config.targetLatencyMs} ms)`,
    );
    this.#errors = this.#counter(`${prefix}_errors_total`, `Failed requests of ${name}`);
  }

  // Two trackers of the same name on one registry share its series instead of throwing.
  #metric<M>(metricName: string, create: () => M): M {
    return (this.registry.getSingleMetric(metricName) as M | undefined) ?? create();
  }

  #counter(metricName: string, help: string): Counter<'provider'> {
    return this.#metric(metricName, () =>
      tallyCounter({ name: metricName, help, labelNames: ['provider'], registers: [this.registry] }),
    );
  }

  /** The series cells of a provider; the last one is kept, so a wrapper's calls look it up once. */
  #cellsFor(provider: string): ProviderCells {
    if (provider === this.#lastProvider && this.#lastCells) return this.#lastCells;
    let cells = this.#cells.get(provider);
    if (!cells) {
      const labels = { provider };
      cells = {
        labels,
        latency: histogramCell(this.#latency, labels),
        total: counterCell(this.#total, labels),
        violations: counterCell(this.#violations, labels),
        errors: counterCell(this.#errors, labels),
      };
      this.#cells.set(provider, cells);
    }
    this.#lastProvider = provider;
    this.#lastCells = cells;
    return cells;
  }

  #observe(c: ProviderCells, durationMs: number): void {
    const seconds = Math.max(0, durationMs) / 1000;
    if (c.latency) c.latency.observe(seconds);
    else this.#latency.observe(c.labels, seconds);
  }

  /** A successful request; slower than the target latency counts as a violation. */
  recordSuccess(durationMs: number, provider = this.#defaultProvider): void {
    const violation = !(durationMs <= this.config.targetLatencyMs);
    this.#record(violation, false);
    const c = this.#cellsFor(provider);
    this.#observe(c, durationMs);
    if (c.total) c.total.n += 1;
    else this.#total.inc(c.labels);
    if (violation) {
      if (c.violations) c.violations.n += 1;
      else this.#violations.inc(c.labels);
    }
  }

  /** A failed request: always a violation. */
  recordError(provider = this.#defaultProvider, durationMs?: number): void {
    this.#record(true, true);
    const c = this.#cellsFor(provider);
    if (durationMs !== undefined) this.#observe(c, durationMs);
    if (c.total) c.total.n += 1;
    else this.#total.inc(c.labels);
    if (c.violations) c.violations.n += 1;
    else this.#violations.inc(c.labels);
    if (c.errors) c.errors.n += 1;
    else this.#errors.inc(c.labels);
  }

  #record(violation: boolean, error: boolean): void {
    const now = this.#now();
    this.#fine.add(now, violation, error);
    this.#coarse.add(now, violation, error);
  }

  #periodCounts() {
    return this.#coarse.sum(this.#now(), this.config.budgetPeriodDays * 86_400_000);
  }

  /** clamp(1 − (violations/total) / (1 − targetAvailability), 0, 1) over the budget period; 1 with no requests. */
  errorBudgetRemaining(): number {
    const { total, violations } = this.#periodCounts();
    if (total === 0) return 1;
    const used = violations / total / (1 - this.config.targetAvailability);
    return Math.min(1, Math.max(0, 1 - used));
  }

  isWithinSlo(): boolean {
    return this.errorBudgetRemaining() > 0;
  }

  /**
   * How fast the budget burns over the last `windowMs`: the violation ratio divided by the
   * allowed ratio (1 = exactly on budget, 14.4 = a 30-day budget gone in ~2 days). 0 with no requests.
   */
  burnRate(windowMs: number): number {
    if (!(windowMs > 0))
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidConfiguration,
        'burnRate window must be > 0 ms',
        'windowMs',
      );
    const ring = windowMs <= 3_600_000 ? this.#fine : this.#coarse;
    const { total, violations } = ring.sum(this.#now(), windowMs);
    if (total === 0) return 0;
    return violations / total / (1 - this.config.targetAvailability);
  }

  snapshot(): SloSnapshot {
    const { total, violations, errors } = this.#periodCounts();
    const errorBudgetRemaining = this.errorBudgetRemaining();
    return {
      name: this.name,
      config: { ...this.config },
      total,
      violations,
      errors,
      errorBudgetRemaining,
      withinSlo: errorBudgetRemaining > 0,
    };
  }

  /** Times a synchronous call; a throw is recorded as an error and rethrown. */
  time<T>(fn: () => T, provider?: string): T {
    const start = performance.now();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.recordError(provider, performance.now() - start);
      throw err;
    }
    this.recordSuccess(performance.now() - start, provider);
    return result;
  }

  /** Times an async call; a rejection is recorded as an error and rethrown. */
  async timeAsync<T>(fn: () => Promise<T>, provider?: string): Promise<T> {
    const start = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      this.recordError(provider, performance.now() - start);
      throw err;
    }
    this.recordSuccess(performance.now() - start, provider);
    return result;
  }
}

/** The operations every registry tracks from the start, with their objectives. */
export const DEFAULT_SLO_OPERATIONS: Record<string, () => SloConfig> = {
  search_query: SloConfig.search,
  search_index: SloConfig.searchIndex,
  cache_get: SloConfig.cacheRead,
  cache_set: SloConfig.cacheWrite,
  cache_delete: SloConfig.cacheWrite,
  queue_enqueue: SloConfig.queueEnqueue,
  queue_process: SloConfig.queueProcess,
};

export interface SloStatus {
  /** Every operation has budget left. */
  withinSlo: boolean;
  averageBudgetRemaining: number;
  /** Budget remaining per operation. */
  operations: Record<string, number>;
}

export interface SloRegistryOptions {
  registry?: Registry;
  now?: () => number;
  /** Objectives that replace the defaults, by operation name. */
  overrides?: Record<string, Partial<SloConfig>>;
}

/** The trackers of one process: search_query, search_index, cache_get, cache_set, cache_delete, queue_enqueue, queue_process. */
export class SloRegistry {
  readonly registry: Registry;
  readonly #trackers = new Map<string, SloTracker>();
  readonly #now: (() => number) | undefined;
  #revision = 0;

  constructor(opts: SloRegistryOptions = {}) {
    this.registry = opts.registry ?? new PromRegistry();
    this.#now = opts.now;
    for (const [name, preset] of Object.entries(DEFAULT_SLO_OPERATIONS)) {
      this.register(name, { ...preset(), ...opts.overrides?.[name] });
    }
  }

  /** Adds (or replaces) the tracker of an operation. */
  register(name: string, config: SloConfig = SloConfig.default()): SloTracker {
    const tracker = new SloTracker(name, config, {
      registry: this.registry,
      ...(this.#now ? { now: this.#now } : {}),
    });
    this.#trackers.set(name, tracker);
    this.#revision++;
    return tracker;
  }

  /** Goes up whenever a tracker is added or replaced, so a caller may keep the trackers it looked up until then. */
  get revision(): number {
    return this.#revision;
  }

  get(name: string): SloTracker | undefined {
    return this.#trackers.get(name);
  }

  /** The tracker of an operation, registered with the default objective when new. */
  getOrRegister(name: string): SloTracker {
    return this.#trackers.get(name) ?? this.register(name);
  }

  names(): string[] {
    return [...this.#trackers.keys()];
  }

  overallStatus(): SloStatus {
    const operations: Record<string, number> = {};
    let sum = 0;
    let within = true;
    for (const [name, t] of this.#trackers) {
      const b = t.errorBudgetRemaining();
      operations[name] = b;
      sum += b;
      if (!(b > 0)) within = false;
    }
    const n = this.#trackers.size;
    return { withinSlo: within, averageBudgetRemaining: n ? sum / n : 1, operations };
  }

  snapshots(): SloSnapshot[] {
    return [...this.#trackers.values()].map((t) => t.snapshot());
  }
}
