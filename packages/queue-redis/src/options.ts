import type { QueueCommonOptions, QueueOptions } from '@fraiseql/core';
import {
  configError,
  DEFAULT_MAX_JOB_BYTES,
  nonNegativeIntOption,
  numberOption,
  redactSecrets,
  urlSecrets,
} from '@fraiseql/core';
import type { KeepJobs } from 'bullmq';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { PROVIDER } from './mapping';

/** Default key prefix: one hash tag, so every key of every queue lives in one Redis Cluster slot. */
export const DEFAULT_PREFIX = '{fraiseql}';

/** How long finished jobs are kept. Both limits apply; `{}` keeps every job. */
export interface RetentionOptions {
  /** Jobs older than this (since they finished) are removed. Default: see the option using it. */
  maxAgeMs?: number;
  /** At most this many jobs are kept, newest first. Default: see the option using it. */
  maxCount?: number;
}

/** Settings of one queue (`queues.<name>` or `queueDefaults`): the common ones plus this backend's. */
export interface RedisQueueSettings extends QueueOptions {
  /**
   * Whether jobs of the queue carry a priority. BullMQ keeps prioritized jobs in a sorted set
   * (plus a counter, in Lua) and plain ones in a list; priorities are on for every job, or
   * BullMQ would serve the plain list before every prioritized job. `false` adds every job to the
   * plain list — cheaper in Redis (bulk enqueue and processing) — and strictly oldest first;
   * an `enqueue` with a non-zero `priority` on such a queue throws IN005. `capabilities.priority`
   * is false when `queueDefaults.priorities` is false. Default true.
   */
  priorities?: boolean;
}

export interface RedisQueueOptions extends QueueCommonOptions {
  /** Settings for queues not listed in `queues` (see {@link RedisQueueSettings}). */
  queueDefaults?: RedisQueueSettings;
  /** Settings per queue name (see {@link RedisQueueSettings}). */
  queues?: Record<string, RedisQueueSettings>;
  /**
   * Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). Default
   * `redis://127.0.0.1:6379`. Not allowed together with `client`.
   */
  url?: string;
  /**
   * An ioredis client (`Redis` or `Cluster`) to use instead of a URL. The provider never closes
   * it; workers get duplicates of it (with `maxRetriesPerRequest: null`, which BullMQ needs for
   * blocking commands) that the provider owns and closes. It must not use ioredis `keyPrefix`
   * (use `prefix`). Default: none — a connection is made from `url`.
   */
  client?: Redis | Cluster;
  /**
   * BullMQ key prefix: a queue's keys are `<prefix>:<queue>:…`. Default `{fraiseql}`. The braces
   * are a Redis Cluster hash tag: every key of every queue under the prefix lands in one slot,
   * which BullMQ's multi-key Lua scripts require. On a cluster the prefix must contain a hash tag
   * (`{…}`, non-empty); use different prefixes to spread queues over shards.
   */
  prefix?: string;
  /** Extra ioredis options for the connection made from `url`. Default `{}`. */
  redisOptions?: RedisOptions;
  /** Largest job payload, as JSON, in bytes; larger data is refused with IN308. Default 1 MiB. */
  maxJobBytes?: number;
  /** How long `Worker.close()` waits for running jobs when no `timeoutMs` is given. Default 30_000. */
  closeTimeoutMs?: number;
  /**
   * How many times a job may be recovered from a dead worker (lease expired) before it is failed
   * with "job stalled more than allowable limit" — a job that crashes every worker taking it must
   * not crash them forever. Recoveries do not use up `maxRetries`. Default 10.
   */
  maxStalledCount?: number;
  /** Retention of completed jobs. Default `{ maxAgeMs: 86_400_000 (1 day), maxCount: 10_000 }`. */
  keepCompleted?: RetentionOptions;
  /** Retention of failed jobs. Default `{ maxAgeMs: 604_800_000 (7 days), maxCount: 100_000 }`. */
  keepFailed?: RetentionOptions;
  /** Limit for connecting at start-up. Default 10_000. */
  connectTimeoutMs?: number;
  /** Limit for `healthCheck()` (a PING). Default 2_000. */
  healthCheckTimeoutMs?: number;
}

const DEFAULT_KEEP_COMPLETED: RetentionOptions = { maxAgeMs: 86_400_000, maxCount: 10_000 };
const DEFAULT_KEEP_FAILED: RetentionOptions = { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 };
export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** The factory options, checked, with their defaults. */
export interface ResolvedRedisOptions {
  prefix: string;
  maxJobBytes: number;
  closeTimeoutMs: number;
  visibilityTimeoutMs: number;
  healthCheckTimeoutMs: number;
  connectTimeoutMs: number;
  concurrency: number;
  maxStalledCount: number;
  keepCompleted: false | KeepJobs;
  keepFailed: false | KeepJobs;
}

function invalid(message: string) {
  return configError(PROVIDER, message);
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Redis Cluster hashes only the part between the first `{` and the next `}`, when non-empty. */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}

function keep(opt: RetentionOptions | undefined, fallback: RetentionOptions, what: string): false | KeepJobs {
  const r = opt ?? fallback;
  if (r === null || typeof r !== 'object') throw invalid(`${what} must be an object`);
  const { maxAgeMs, maxCount } = r;
  if (maxAgeMs !== undefined && !(Number.isFinite(maxAgeMs) && maxAgeMs > 0)) {
    throw invalid(`${what}.maxAgeMs must be a positive number of milliseconds`);
  }
  if (maxCount !== undefined && !(Number.isInteger(maxCount) && maxCount >= 0)) {
    throw invalid(`${what}.maxCount must be a non-negative integer`);
  }
  if (maxAgeMs === undefined) return maxCount === undefined ? false : { count: maxCount };
  const age = Math.max(1, Math.ceil(maxAgeMs / 1000));
  return maxCount === undefined ? { age } : { age, count: maxCount };
}

/** Checks the factory options (IN002 for a bad one) and fills in the defaults. */
export function resolveOptions(opts: RedisQueueOptions): ResolvedRedisOptions {
  if (opts === null || typeof opts !== 'object') throw invalid('options must be an object');
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 256 || /\s/.test(prefix)) {
    throw invalid('prefix must be a non-empty string of at most 256 characters without whitespace');
  }
  if (opts.client && opts.url !== undefined) throw invalid('give either url or client, not both');
  for (const [name, q] of [
    ['queueDefaults', opts.queueDefaults],
    ...Object.entries(opts.queues ?? {}).map(([k, v]) => [`queues.${k}`, v] as const),
  ] as const) {
    if (q?.priorities !== undefined && typeof q.priorities !== 'boolean') {
      throw invalid(`${name}.priorities must be true or false`);
    }
  }
  return {
    prefix,
    maxJobBytes: numberOption(opts.maxJobBytes, 'maxJobBytes', DEFAULT_MAX_JOB_BYTES, {
      provider: PROVIDER,
      min: 1,
    }),
    closeTimeoutMs: numberOption(opts.closeTimeoutMs, 'closeTimeoutMs', 30_000, {
      provider: PROVIDER,
      min: 0,
    }),
    visibilityTimeoutMs: Math.round(
      numberOption(opts.visibilityTimeoutMs, 'visibilityTimeoutMs', 30_000, { provider: PROVIDER, min: 200 }),
    ),
    healthCheckTimeoutMs: numberOption(opts.healthCheckTimeoutMs, 'healthCheckTimeoutMs', 2_000, {
      provider: PROVIDER,
      min: 1,
    }),
    connectTimeoutMs: numberOption(opts.connectTimeoutMs, 'connectTimeoutMs', 10_000, {
      provider: PROVIDER,
      min: 1,
    }),
    concurrency: numberOption(opts.concurrency, 'concurrency', 1, {
      provider: PROVIDER,
      integer: true,
      min: 1,
      max: 1000,
    }),
    maxStalledCount: nonNegativeIntOption(opts.maxStalledCount, 'maxStalledCount', 10, PROVIDER),
    keepCompleted: keep(opts.keepCompleted, DEFAULT_KEEP_COMPLETED, 'keepCompleted'),
    keepFailed: keep(opts.keepFailed, DEFAULT_KEEP_FAILED, 'keepFailed'),
  };
}

/** Whether jobs of `queue` carry a priority: its own `priorities`, else `queueDefaults`, else true. */
export function prioritiesOf(opts: RedisQueueOptions, queue: string): boolean {
  return opts.queues?.[queue]?.priorities ?? opts.queueDefaults?.priorities ?? true;
}

/** The connection the provider uses: the caller's client, or one it makes (and owns) from `url`. */
export interface ProviderClient {
  client: Redis | Cluster;
  ownsClient: boolean;
  /** Passwords to mask in messages. */
  secrets: (string | undefined)[];
}

/** The caller's client after checking it, or a lazy connection made from `url`. */
export function providerClient(
  opts: RedisQueueOptions,
  prefix: string,
  connectTimeoutMs: number,
): ProviderClient {
  let pc: ProviderClient;
  if (opts.client) {
    const client = opts.client;
    if (typeof (client as Redis).duplicate !== 'function') throw invalid('client must be an ioredis client');
    const clientOptions = isCluster(client) ? client.options.redisOptions : (client as Redis).options;
    if (clientOptions?.keyPrefix) {
      throw invalid('the client must not use an ioredis keyPrefix: BullMQ needs `prefix` instead');
    }
    pc = { client, ownsClient: false, secrets: [clientOptions?.password] };
  } else {
    const url = opts.url ?? DEFAULT_URL;
    if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
      throw invalid(
        `url must start with redis:// or rediss:// (got ${JSON.stringify(redactSecrets(String(url)))})`,
      );
    }
    try {
      new URL(url);
    } catch {
      throw invalid(`url is not a valid URL: ${redactSecrets(url)}`);
    }
    pc = {
      client: new Redis(url, { lazyConnect: true, connectTimeout: connectTimeoutMs, ...opts.redisOptions }),
      ownsClient: true,
      secrets: [...urlSecrets(url), opts.redisOptions?.password],
    };
  }
  if (isCluster(pc.client) && !hasHashTag(prefix)) {
    throw invalid(
      `prefix "${prefix}" has no hash tag: on Redis Cluster every key of a BullMQ queue must be in one slot — use a prefix such as "{fraiseql}"`,
    );
  }
  // ioredis reports connection trouble as 'error' events; the calls that fail report it to
  // their callers, and an unhandled 'error' event would only print noise. A caller's client is
  // left as it is.
  if (pc.ownsClient) pc.client.on('error', () => {});
  return pc;
}
