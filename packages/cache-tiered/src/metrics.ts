import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * The tiered cache's metrics. Children are resolved once, so counting an L1 hit is one addition,
 * not a label lookup. Without a registry the metrics still count (cheaply) but are not exported.
 */
export interface TierMetrics {
  l1Hit: { inc(): void };
  l1Miss: { inc(): void };
  l2Hit: { inc(): void };
  l2Miss: { inc(): void };
  staleServed: { inc(): void };
  loads: { inc(): void };
  busSent: { inc(n?: number): void };
  busReceived: { inc(): void };
  busErrors: { inc(): void };
  busLag: { observe(seconds: number): void };
}

/** A metric already registered (a second cache on the same registry) is shared, not re-created. */
function reuse<T>(registry: Registry | undefined, name: string, make: () => T): T {
  const existing = registry?.getSingleMetric(name);
  return (existing as T | undefined) ?? make();
}

export function createMetrics(registry: Registry | undefined, bus: string): TierMetrics {
  const registers = registry ? [registry] : [];
  const hits = reuse(
    registry,
    'fraiseql_cache_tier_hits_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_tier_hits_total',
        help: 'Reads answered by a tier of the tiered cache (l1 = in process, l2 = shared).',
        labelNames: ['tier'],
        registers,
      }),
  );
  const misses = reuse(
    registry,
    'fraiseql_cache_tier_misses_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_tier_misses_total',
        help: 'Reads a tier of the tiered cache could not answer.',
        labelNames: ['tier'],
        registers,
      }),
  );
  const stale = reuse(
    registry,
    'fraiseql_cache_stale_served_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_stale_served_total',
        help: 'Expired L1 values served within graceMs because L2 or the loader failed.',
        registers,
      }),
  );
  const loads = reuse(
    registry,
    'fraiseql_cache_loads_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_loads_total',
        help: 'getOrSet loaders run by this process.',
        registers,
      }),
  );
  const messages = reuse(
    registry,
    'fraiseql_cache_bus_messages_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_bus_messages_total',
        help: 'Invalidation messages on the tiered cache bus (direction sent | received).',
        labelNames: ['bus', 'direction'],
        registers,
      }),
  );
  const errors = reuse(
    registry,
    'fraiseql_cache_bus_errors_total',
    () =>
      new Counter({
        name: 'fraiseql_cache_bus_errors_total',
        help: 'Invalidation messages that could not be published, and bus connection losses.',
        labelNames: ['bus'],
        registers,
      }),
  );
  const lag = reuse(
    registry,
    'fraiseql_cache_bus_lag_seconds',
    () =>
      new Histogram({
        name: 'fraiseql_cache_bus_lag_seconds',
        help: 'Time from publishing an invalidation to another process receiving it.',
        labelNames: ['bus'],
        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers,
      }),
  );
  return {
    l1Hit: hits.labels('l1'),
    l1Miss: misses.labels('l1'),
    l2Hit: hits.labels('l2'),
    l2Miss: misses.labels('l2'),
    staleServed: stale,
    loads,
    busSent: messages.labels(bus, 'sent'),
    busReceived: messages.labels(bus, 'received'),
    busErrors: errors.labels(bus),
    busLag: lag.labels(bus),
  };
}
