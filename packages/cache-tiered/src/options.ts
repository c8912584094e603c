import type { CacheProvider } from '@fraiseql/core';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { BusSqlClient } from './bus-postgres';

/** Where invalidations travel: the L2's Redis, the shared SqlClient, or a client/URL of its own. */
export type TieredBusOption = 'redis' | 'postgresql' | { redis: Redis | string } | { sql: BusSqlClient };

/** What one bus message told this process to drop, with how long it took to arrive. */
export interface BusEvent {
  keys: string[];
  patterns: string[];
  /** Receive time minus send time (`Date.now()` of both processes), in ms. */
  lagMs: number;
}

export interface TieredCacheOptions {
  /** The in-process tier, normally `createMemoryCache()`. Closed with the tiered cache. */
  l1: CacheProvider;
  /** The shared tier (`createRedisCache()` / `createPostgresCache()`): the source of truth. Closed with the tiered cache. */
  l2: CacheProvider;
  /**
   * Invalidation bus between processes. `'redis'` uses the L2's own ioredis client (L2 must be a
   * single-node `createRedisCache`) plus one dedicated subscriber connection; `'postgresql'` uses
   * LISTEN/NOTIFY on `sql`; `{ redis }` / `{ sql }` bring their own. Default: none — then each
   * process's L1 may serve a value up to `l1TtlMs` after another process changed it.
   */
  bus?: TieredBusOption;
  /** The SqlClient for `bus: 'postgresql'` (`createIntegrations` passes the shared `[postgres]` client). */
  sql?: BusSqlClient;
  /** Longest an entry stays in L1 (capped by its remaining L2 TTL). Default 60_000. */
  l1TtlMs?: number;
  /**
   * Fail-safe: an L1 value past its freshness may still be served for up to this many ms while L2
   * or the loader fails (counted in `fraiseql_cache_stale_served_total`), never longer. Default 0 (off).
   */
  graceMs?: number;
  /**
   * The L2's default TTL, so a write without `ttlMs` can go to L1 too. Default: unknown — such a
   * write only drops the key from L1 and the next read fills it with L2's exact remaining TTL.
   */
  defaultTtlMs?: number;
  /** Registry for the `fraiseql_cache_tier_*` / `fraiseql_cache_bus_*` metrics. Default none (not exported). */
  registry?: Registry;
  /**
   * Bus channel (Redis channel, Postgres NOTIFY channel; `[A-Za-z0-9_.:-]`, at most 63). Caches
   * on one channel invalidate each other's L1. Default `"fraiseql_cache_tiered"`.
   */
  channel?: string;
  /** How long a process may hold the distributed `getOrSet` lease before others load too. Default 10_000. */
  leaseMs?: number;
  /** Lease table of the Postgres bus (`table` or `schema.table`). Default `"_system.cache_tiered_leases"`. */
  leaseTable?: string;
  /** Longest a publish or lease command may take. Default 2_000. */
  busTimeoutMs?: number;
  /** Heartbeat period of the Postgres bus (a lost LISTEN is noticed within about 3×). Default 1_000. */
  heartbeatMs?: number;
  /** Called for every bus message from another process (instrumentation, tests). Default none. */
  onBusMessage?: (event: BusEvent) => void;
  /** Called when publishing an invalidation fails (the write itself succeeded). Default none. */
  onError?: (err: Error) => void;
}
