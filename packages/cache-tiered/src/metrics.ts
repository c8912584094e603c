import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Counts of one tiered cache. Plain fields, summed into the Prometheus counters only when the
 * registry is scraped: prom-client's `inc()` hashes and validates labels on every call, which
 * would cost an L1 hit more than the hit itself.
 */
export class Tally {
  l1Hit = 0;
  l1Miss = 0;
  l2Hit = 0;
  l2Miss = 0;
  staleServed = 0;
  loads = 0;
  busSent = 0;
  busReceived = 0;
  busErrors = 0;
  constructor(readonly bus: string) {}
}

type Field = Exclude<keyof Tally, 'bus'>;

export interface TierMetrics {
  readonly t: Tally;
  busLag: { observe(seconds: number): void };
  /** The cache closed: its counts stay in the totals (counters never go down). */
  retire(): void;
}

/** Every tally reporting into one registry's metrics (live caches, plus what closed ones counted). */
interface Pool {
  live: Set<Tally>;
  retired: Map<string, Tally>;
}
const pools = new WeakMap<Registry, Pool>();

function sum(pool: Pool, field: Field, bus?: string): number {
  let n = 0;
  for (const t of pool.live) if (bus === undefined || t.bus === bus) n += t[field];
  for (const t of pool.retired.values()) if (bus === undefined || t.bus === bus) n += t[field];
  return n;
}

function buses(pool: Pool): Set<string> {
  const out = new Set<string>();
  for (const t of pool.live) if (t.bus !== 'none') out.add(t.bus);
  for (const t of pool.retired.values()) if (t.bus !== 'none') out.add(t.bus);
  return out;
}

function register(registry: Registry, pool: Pool): void {
  const registers = [registry];
  new Counter({
    name: 'fraiseql_cache_tier_hits_total',
    help: 'Reads answered by a tier of the tiered cache (l1 = in process, l2 = shared).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      this.inc({ tier: 'l1' }, sum(pool, 'l1Hit'));
      this.inc({ tier: 'l2' }, sum(pool, 'l2Hit'));
    },
  });
  new Counter({
    name: 'fraiseql_cache_tier_misses_total',
    help: 'Reads a tier of the tiered cache could not answer.',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      this.inc({ tier: 'l1' }, sum(pool, 'l1Miss'));
      this.inc({ tier: 'l2' }, sum(pool, 'l2Miss'));
    },
  });
  new Counter({
    name: 'fraiseql_cache_stale_served_total',
    help: 'Expired L1 values served within graceMs because L2 or the loader failed.',
    registers,
    collect() {
      this.reset();
      this.inc(sum(pool, 'staleServed'));
    },
  });
  new Counter({
    name: 'fraiseql_cache_loads_total',
    help: 'getOrSet loaders run by this process.',
    registers,
    collect() {
      this.reset();
      this.inc(sum(pool, 'loads'));
    },
  });
  new Counter({
    name: 'fraiseql_cache_bus_messages_total',
    help: 'Invalidation messages on the tiered cache bus (direction sent | received).',
    labelNames: ['bus', 'direction'],
    registers,
    collect() {
      this.reset();
      for (const bus of buses(pool)) {
        this.inc({ bus, direction: 'sent' }, sum(pool, 'busSent', bus));
        this.inc({ bus, direction: 'received' }, sum(pool, 'busReceived', bus));
      }
    },
  });
  new Counter({
    name: 'fraiseql_cache_bus_errors_total',
    help: 'Invalidations that could not be published, and bus connection losses.',
    labelNames: ['bus'],
    registers,
    collect() {
      this.reset();
      for (const bus of buses(pool)) this.inc({ bus }, sum(pool, 'busErrors', bus));
    },
  });
  new Histogram({
    name: 'fraiseql_cache_bus_lag_seconds',
    help: 'Time from publishing an invalidation to another process receiving it.',
    labelNames: ['bus'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers,
  });
}

export function createMetrics(registry: Registry | undefined, bus: string): TierMetrics {
  const t = new Tally(bus);
  if (!registry) return { t, busLag: { observe() {} }, retire() {} };
  let pool = pools.get(registry);
  if (!pool) {
    pool = { live: new Set(), retired: new Map() };
    pools.set(registry, pool);
    register(registry, pool);
  }
  const p = pool;
  p.live.add(t);
  const lag = registry.getSingleMetric('fraiseql_cache_bus_lag_seconds') as Histogram<'bus'>;
  const child = lag.labels(bus);
  return {
    t,
    busLag: { observe: (s) => child.observe(s) },
    retire() {
      if (!p.live.delete(t)) return;
      let r = p.retired.get(t.bus);
      if (!r) {
        r = new Tally(t.bus);
        p.retired.set(t.bus, r);
      }
      for (const f of Object.keys(t) as (keyof Tally)[]) if (f !== 'bus') r[f] += t[f];
    },
  };
}
