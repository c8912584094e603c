import type { Registry } from 'prom-client';
import type * as z from 'zod';
import { envName, leaf, looseTable, nonNegativeInt, oneOf, positiveInt, str, table, tagged } from './leaves';
import type { MemoryCacheConfig, PostgresCacheConfig, RedisCacheConfig, ResilienceConfig } from './types';

/**
 * `[cache] backend = "tiered"` (DESIGN §14.2): `[cache.l1]` (memory) over `[cache.l2]` (redis or
 * postgresql), kept coherent by `bus`. `prefix`, `default_ttl` and `max_value_bytes` set on
 * `[cache]` apply to both tiers unless a tier sets its own.
 *
 * ```toml
 * [cache]
 * backend = "tiered"
 * bus = "redis"          # or "postgresql" (LISTEN/NOTIFY on [postgres]); omit for none
 * l1_ttl_ms = 60000
 * grace_ms = 30000
 * [cache.l1]
 * backend = "memory"
 * max_entries = 50000
 * [cache.l2]
 * backend = "redis"
 * url_env = "REDIS_URL"
 * ```
 */
export interface TieredCacheConfig {
  backend: 'tiered';
  l1: MemoryCacheConfig;
  l2: RedisCacheConfig | PostgresCacheConfig;
  /** Invalidation bus. Default none (each L1 may lag other processes' writes by up to `l1TtlMs`). */
  bus?: 'redis' | 'postgresql';
  /** `bus_url_env`: Redis URL of the bus when `[cache.l2]` is not Redis. Default: the L2's. */
  busUrlEnv?: string;
  /** Longest an entry stays in L1. Default: the package's (60_000). */
  l1TtlMs?: number;
  /** Fail-safe window for expired L1 values while L2 or a loader fails. Default 0. */
  graceMs?: number;
  /** Distributed `getOrSet` lease. Default: the package's (10_000). */
  leaseMs?: number;
  /** Bus channel. Default: the package's (`"fraiseql_cache_tiered"`). */
  channel?: string;
  prefix?: string;
  /** TOML `default_ttl` (seconds) in ms; also the tiers' default unless they set one. */
  defaultTtlMs?: number;
  maxValueBytes?: number;
  resilience?: ResilienceConfig;
}

const channelName = leaf<string>(
  'a channel name: 1-63 characters of letters, digits, "_", ".", ":" and "-"',
  (v) => typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,63}$/.test(v),
);

type Variants = { redis: z.ZodType; memory: z.ZodType; postgresql: z.ZodType };

/** The `tiered` variant of `[cache]`, built from the single-backend variants for its tiers. */
export function tieredCacheVariant(
  variants: Variants,
  ttlToMs: (o: Record<string, unknown>) => Record<string, unknown>,
) {
  return table(
    {
      backend: str,
      l1: tagged('backend', { memory: variants.memory }),
      l2: tagged('backend', { redis: variants.redis, postgresql: variants.postgresql }),
      bus: oneOf(['redis', 'postgresql'] as const).optional(),
      bus_url_env: envName.optional(),
      l1_ttl_ms: positiveInt.optional(),
      grace_ms: nonNegativeInt.optional(),
      lease_ms: positiveInt.optional(),
      channel: channelName.optional(),
      prefix: str.optional(),
      default_ttl: positiveInt.optional(),
      max_value_bytes: positiveInt.optional(),
      resilience: looseTable.optional(),
    },
    (o) => {
      const c = ttlToMs(o);
      // Shared settings flow down to the tiers that do not set their own.
      const inherit = (tier: Record<string, unknown>) => ({
        ...(c.prefix !== undefined ? { prefix: c.prefix } : {}),
        ...(c.defaultTtlMs !== undefined ? { defaultTtlMs: c.defaultTtlMs } : {}),
        ...(c.maxValueBytes !== undefined ? { maxValueBytes: c.maxValueBytes } : {}),
        ...tier,
      });
      return {
        ...c,
        l1: inherit(c.l1 as Record<string, unknown>),
        l2: inherit(c.l2 as Record<string, unknown>),
      };
    },
  );
}

/** Cross-checks: a Redis bus needs a Redis URL. */
export function tieredCrossChecks(cache: unknown): { path: string; message: string }[] {
  const c = cache as Partial<TieredCacheConfig> | undefined;
  if (c?.backend !== 'tiered' || c.bus !== 'redis' || c.l2?.backend === 'redis' || c.busUrlEnv) return [];
  return [
    {
      path: 'cache.bus_url_env',
      message: 'bus = "redis" over a PostgreSQL L2 needs bus_url_env (the Redis URL variable)',
    },
  ];
}

/** The `*_env` variables of a tiered cache. */
export function tieredEnvNeeds(cache: unknown): { key: string; variable: string }[] {
  const c = cache as Partial<TieredCacheConfig> | undefined;
  if (c?.backend !== 'tiered') return [];
  const needs: { key: string; variable: string }[] = [];
  if (c.l2?.backend === 'redis') needs.push({ key: 'cache.l2.url_env', variable: c.l2.urlEnv });
  if (c.busUrlEnv) needs.push({ key: 'cache.bus_url_env', variable: c.busUrlEnv });
  return needs;
}

/** A tiered cache needs the shared `[postgres]` client for a PostgreSQL L2 or bus. */
export function tieredUsesSql(cache: unknown): boolean {
  const c = cache as Partial<TieredCacheConfig> | undefined;
  return c?.backend === 'tiered' && (c.l2?.backend === 'postgresql' || c.bus === 'postgresql');
}

const drop = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Factory options of the tiered step: the tiers as configs, built by `tieredFactory`. */
export function tieredOptions(
  c: TieredCacheConfig,
  env: (key: string) => string | undefined,
): Record<string, unknown> {
  const tierCommon = (t: { prefix?: string; defaultTtlMs?: number; maxValueBytes?: number }) =>
    drop({ prefix: t.prefix, defaultTtlMs: t.defaultTtlMs, maxValueBytes: t.maxValueBytes });
  const l2 =
    c.l2.backend === 'redis'
      ? {
          backend: 'redis',
          ...drop({ url: env('cache.l2.url_env'), cluster: c.l2.cluster }),
          ...tierCommon(c.l2),
        }
      : { backend: 'postgresql', ...drop({ table: c.l2.table }), ...tierCommon(c.l2) };
  const busUrl = c.busUrlEnv ? env('cache.bus_url_env') : undefined;
  return drop({
    l1: {
      backend: 'memory',
      ...drop({ maxEntries: c.l1.maxEntries, maxSizeBytes: c.l1.maxSizeBytes }),
      ...tierCommon(c.l1),
    },
    l2,
    bus: c.bus === 'redis' && busUrl ? { redis: busUrl } : c.bus,
    l1TtlMs: c.l1TtlMs,
    graceMs: c.graceMs,
    leaseMs: c.leaseMs,
    channel: c.channel,
    // L2's default TTL, so writes without a TTL can go to L1 too.
    defaultTtlMs: c.l2.defaultTtlMs,
  });
}

type Factory = (opts: Record<string, unknown>) => Promise<unknown>;
type LoadFactory = (backend: { package: string; factory: string }) => Promise<Factory>;

const TIERS = {
  memory: { package: '@fraiseql/cache-memory', factory: 'createMemoryCache' },
  redis: { package: '@fraiseql/cache-redis', factory: 'createRedisCache' },
  postgresql: { package: '@fraiseql/cache-postgres', factory: 'createPostgresCache' },
} as const;

/**
 * Wraps `createTieredCache` so it receives providers: builds L1 and L2 from their configs (loading
 * their packages like any backend), then the tiered cache over them. A failure closes what it built.
 */
export function tieredFactory(
  createTiered: Factory,
  load: LoadFactory,
  registry: Registry | undefined,
): Factory {
  return async (opts) => {
    const {
      l1: l1Cfg,
      l2: l2Cfg,
      sql,
      ...rest
    } = opts as {
      l1: { backend: 'memory' } & Record<string, unknown>;
      l2: { backend: 'redis' | 'postgresql' } & Record<string, unknown>;
      sql?: unknown;
    } & Record<string, unknown>;
    const [makeL1, makeL2] = await Promise.all([load(TIERS.memory), load(TIERS[l2Cfg.backend])]);
    const built: { close(): Promise<void> }[] = [];
    try {
      const { backend: _b1, ...l1Opts } = l1Cfg;
      const { backend: _b2, ...l2Opts } = l2Cfg;
      const l1 = (await makeL1(l1Opts)) as { close(): Promise<void> };
      built.push(l1);
      const l2 = (await makeL2(l2Cfg.backend === 'postgresql' ? { sql, ...l2Opts } : l2Opts)) as {
        close(): Promise<void>;
      };
      built.push(l2);
      return await createTiered({
        ...rest,
        l1,
        l2,
        ...(sql ? { sql } : {}),
        ...(registry ? { registry } : {}),
      });
    } catch (err) {
      for (const p of built.reverse()) await p.close().catch(() => {});
      throw err;
    }
  };
}
