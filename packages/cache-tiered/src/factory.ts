import { type CacheProvider, configError, numberOption } from '@fraiseql/core';
import { Redis } from 'ioredis';
import type { Bus } from './bus';
import { CHANNEL } from './bus';
import { type BusSqlClient, PostgresBus } from './bus-postgres';
import { RedisBus } from './bus-redis';
import { createMetrics } from './metrics';
import type { TieredCacheOptions } from './options';
import { TieredCache } from './tiered';

const TAG = 'cache-tiered';
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function isProvider(p: unknown): p is CacheProvider {
  const c = p as Partial<CacheProvider> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.get === 'function' &&
    typeof c.set === 'function' &&
    typeof c.getOrSet === 'function' &&
    typeof c.close === 'function'
  );
}

function isSql(s: unknown): s is BusSqlClient {
  const c = s as Partial<BusSqlClient> | null;
  return (
    typeof c === 'object' && c !== null && typeof c.listen === 'function' && typeof c.notify === 'function'
  );
}

function leaseTableOf(name: string): { table: string; schema: string } {
  const parts = name.split('.');
  const [schema, table] = parts.length === 2 ? parts : ['_system', parts[0]];
  if (parts.length > 2 || !IDENT.test(schema!) || !IDENT.test(table!))
    throw configError(
      TAG,
      `leaseTable must be "table" or "schema.table" of lower-case identifiers, got ${JSON.stringify(name)}`,
      'leaseTable',
    );
  return { schema: `"${schema}"`, table: `"${schema}"."${table}"` };
}

function buildBus(o: TieredCacheOptions, channel: string, timeoutMs: number): Bus | undefined {
  const bus = o.bus;
  if (bus === undefined) return undefined;
  if (bus === 'redis' || (typeof bus === 'object' && bus !== null && 'redis' in bus)) {
    let client: unknown;
    let owns = false;
    if (bus === 'redis') {
      client = (o.l2 as { client?: unknown }).client;
      if (!(client instanceof Redis))
        throw configError(
          TAG,
          `bus "redis" reuses the L2's Redis connection, but l2 is "${o.l2.name}" without a single-node ioredis client; pass bus: { redis: url }`,
          'bus',
        );
    } else if (typeof bus.redis === 'string') {
      client = new Redis(bus.redis, {
        lazyConnect: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: 1,
      });
      (client as Redis).on('error', () => {});
      owns = true;
    } else if (bus.redis instanceof Redis) client = bus.redis;
    else throw configError(TAG, 'bus.redis must be a redis:// URL or an ioredis Redis instance', 'bus');
    return new RedisBus({ client: client as Redis, ownsClient: owns, channel, timeoutMs });
  }
  const sql =
    bus === 'postgresql'
      ? o.sql
      : typeof bus === 'object' && bus !== null && 'sql' in bus
        ? bus.sql
        : undefined;
  if (bus !== 'postgresql' && !(typeof bus === 'object' && bus !== null && 'sql' in bus))
    throw configError(
      TAG,
      `bus must be "redis", "postgresql", { redis } or { sql }, got ${JSON.stringify(bus)}`,
      'bus',
    );
  if (!isSql(sql))
    throw configError(
      TAG,
      'bus "postgresql" needs a SqlClient: pass sql (the @fraiseql/postgres client)',
      'sql',
    );
  if (sql.kind === 'pglite')
    throw configError(
      TAG,
      'bus "postgresql" needs a PostgreSQL server: embedded PGlite has no other process to notify',
      'sql',
    );
  const { table, schema } = leaseTableOf(o.leaseTable ?? '_system.cache_tiered_leases');
  const heartbeatMs = numberOption(o.heartbeatMs, 'heartbeatMs', 1_000, {
    provider: TAG,
    min: 10,
    unit: 'milliseconds',
  });
  return new PostgresBus({ sql, channel, leaseTable: table, leaseSchema: schema, timeoutMs, heartbeatMs });
}

/**
 * An L1 (in-process) cache over an L2 (shared) cache, kept coherent across processes by an
 * invalidation bus (DESIGN §14.2). Resolves once the bus is subscribed. Bad options are IN002.
 */
export async function createTieredCache(opts: TieredCacheOptions): Promise<TieredCache> {
  if (opts === null || typeof opts !== 'object') throw configError(TAG, 'options must be an object');
  if (!isProvider(opts.l1))
    throw configError(TAG, 'l1 must be a CacheProvider (e.g. createMemoryCache())', 'l1');
  if (!isProvider(opts.l2))
    throw configError(TAG, 'l2 must be a CacheProvider (createRedisCache() or createPostgresCache())', 'l2');
  if (opts.l1 === opts.l2) throw configError(TAG, 'l1 and l2 must be two different providers', 'l2');
  const l1TtlMs = numberOption(opts.l1TtlMs, 'l1TtlMs', 60_000, { provider: TAG, unit: 'milliseconds' });
  const graceMs = numberOption(opts.graceMs, 'graceMs', 0, { provider: TAG, min: 0, unit: 'milliseconds' });
  const leaseMs = numberOption(opts.leaseMs, 'leaseMs', 10_000, {
    provider: TAG,
    integer: true,
    unit: 'milliseconds',
  });
  const busTimeoutMs = numberOption(opts.busTimeoutMs, 'busTimeoutMs', 2_000, {
    provider: TAG,
    unit: 'milliseconds',
  });
  const defaultTtlMs = numberOption(opts.defaultTtlMs, 'defaultTtlMs', undefined, {
    provider: TAG,
    unit: 'milliseconds',
  });
  const channel = opts.channel ?? 'fraiseql_cache_tiered';
  if (typeof channel !== 'string' || !CHANNEL.test(channel))
    throw configError(
      TAG,
      `channel must be 1-63 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(channel)}`,
      'channel',
    );
  const bus = buildBus(opts, channel, busTimeoutMs);
  const cache = new TieredCache({
    l1: opts.l1,
    l2: opts.l2,
    bus,
    metrics: createMetrics(opts.registry, bus?.kind ?? 'none'),
    l1TtlMs,
    graceMs,
    defaultTtlMs,
    leaseMs,
    onBusMessage: opts.onBusMessage,
    onError: opts.onError,
  });
  try {
    await cache.start();
  } catch (err) {
    await bus?.close().catch(() => {});
    throw err;
  }
  return cache;
}
