import {
  ErrorCode,
  IntegrationError,
  nonNegativeIntOption,
  positiveIntOption,
  redactSecrets,
} from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { Registry } from 'prom-client';
import { TAG } from './errors';
import { schedulerMetrics } from './metrics';
import { SchedulerImpl } from './scheduler';
import type { ScheduleStore } from './store';
import { MemoryScheduleStore } from './store-memory';
import { PostgresScheduleStore } from './store-postgres';
import { RedisScheduleStore } from './store-redis';
import type { RedisLike, Scheduler, SchedulerLogger, SchedulerOptions } from './types';

const silent: SchedulerLogger = { debug() {}, info() {}, warn() {}, error() {} };

function isSqlClient(v: unknown): v is SqlClient {
  return typeof v === 'object' && v !== null && 'transaction' in v && 'query' in v && 'exec' in v;
}

function isRedisLike(v: unknown): v is RedisLike {
  return typeof v === 'object' && v !== null && typeof (v as RedisLike).call === 'function';
}

function urlFor(opts: SchedulerOptions, envName: string): string {
  const url = opts.storeUrl ?? (opts.env ?? process.env)[envName];
  if (!url) {
    throw new IntegrationError(
      ErrorCode.MissingConfiguration,
      `${TAG} store "${String(opts.store)}" needs storeUrl or the ${envName} environment variable`,
      { kind: 'configuration', field: 'storeUrl' },
    );
  }
  return url;
}

async function openStore(opts: SchedulerOptions, keepMs: number): Promise<ScheduleStore> {
  const schema = opts.schema ?? '_system';
  const prefix = opts.prefix ?? 'fraiseql:sched:';
  const s = opts.store;
  if (s === 'memory') return new MemoryScheduleStore();
  if (s === 'postgresql')
    return new PostgresScheduleStore(
      await createSqlClient({ url: urlFor(opts, 'DATABASE_URL') }),
      schema,
      true,
    );
  if (s === 'redis') {
    const url = urlFor(opts, 'REDIS_URL');
    const { Redis } = await import('ioredis');
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw new IntegrationError(
        ErrorCode.ConnectionRefused,
        `${TAG} cannot reach the Redis store at ${redactSecrets(url)}`,
        {
          provider: 'redis',
          cause: err,
        },
      );
    }
    return new RedisScheduleStore(client as unknown as RedisLike, prefix, true, keepMs);
  }
  if (isSqlClient(s)) return new PostgresScheduleStore(s, schema, false);
  if (isRedisLike(s)) return new RedisScheduleStore(s, prefix, false, keepMs);
  throw new IntegrationError(
    ErrorCode.InvalidConfiguration,
    `${TAG} store must be 'postgresql', 'redis', 'memory', a SqlClient or an ioredis client`,
    { kind: 'configuration', field: 'store' },
  );
}

/**
 * Creates a scheduler over `queue`, with schedules and tick claims in `store`. It does not fire
 * anything until `start()`; `upsert`/`remove`/`list` work right away (e.g. from an admin API).
 */
export async function createScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  if (!opts || typeof opts !== 'object' || !opts.queue || typeof opts.queue.enqueue !== 'function') {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `${TAG} createScheduler needs { queue: QueueProvider }`,
      {
        kind: 'configuration',
        field: 'queue',
      },
    );
  }
  const tickMs = positiveIntOption(opts.tickMs, 'tickMs', 1000, 'scheduler');
  const leaseMs = positiveIntOption(opts.claimLeaseMs, 'claimLeaseMs', 30_000, 'scheduler');
  const aheadMs = nonNegativeIntOption(opts.claimAheadMs, 'claimAheadMs', undefined, 'scheduler');
  const store = await openStore(opts, 2 * (Math.max(3 * tickMs, 5000) + leaseMs) + 60_000);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return new SchedulerImpl({
    queue: opts.queue,
    store,
    tickMs,
    leaseMs,
    metrics: schedulerMetrics(opts.registry ?? new Registry()),
    logger: opts.logger ?? silent,
    now: opts.now ?? Date.now,
    aheadMs,
  });
}
