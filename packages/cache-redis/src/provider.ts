import {
  assertCacheKey,
  assertTtl,
  type CacheCommonOptions,
  type CacheProvider,
  ErrorCode,
  fromJson,
  type GetOrSetOptions,
  getOrSetWith,
  IntegrationError,
  numberOption,
  positiveOption,
  resolveTtl,
  SingleFlight,
  toJson,
  toOwnedBuffer,
  withTimeout,
} from '@fraiseql/core';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { TickBatcher } from './batching';
import { type ConnectionSettings, createOwnedClient, drainAutoPipeline, verify } from './connection';
import { isNotAnIntegerReply, PROVIDER, showKey, toIntegrationError } from './errors';
import { deleteByPattern } from './pattern';

export const DEFAULT_PREFIX = 'fraiseql:cache:';
export const DEFAULT_TTL_MS = 3_600_000;
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;

export interface RedisCacheOptions extends CacheCommonOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). With `cluster: true` its
   * host:port is the seed node. Default `redis://127.0.0.1:6379`. Ignored when `client` is given.
   */
  url?: string;
  /**
   * An ioredis `Redis` or `Cluster` you already own. The provider uses it as configured (its
   * offline queue, timeouts and retry strategy stay yours) and `close()` leaves it open: you
   * close it. Do not combine with `url` / `cluster`.
   */
  client?: Redis | Cluster;
  /**
   * Redis Cluster: `true` uses `url` as the seed node; `{ nodes }` lists seeds as `"host:port"` or
   * redis:// URLs (the first URL carrying credentials supplies them for every node). Default false.
   */
  cluster?: boolean | { nodes: string[] };
  /** Longest wait for the initial connection (socket + handshake). Default 5000. */
  connectTimeoutMs?: number;
  /** A command without a reply after this long rejects with IN500. Default 5000. */
  commandTimeoutMs?: number;
  /** `healthCheck()` resolves false when PING takes longer than this. Default 2000. */
  healthCheckTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (50 ms doubling, with jitter); reconnection never stops. Default 2000. */
  maxReconnectDelayMs?: number;
  /** SCAN `COUNT` hint and the most keys one UNLINK removes in `deletePattern`. Default 1000. */
  scanCount?: number;
  /**
   * Extra ioredis options for a connection the provider creates (TLS, family, username, …); they
   * override the provider's own. `keyPrefix` is refused: use `prefix`.
   */
  redisOptions?: RedisOptions;
  /** Extra ioredis Cluster options (natMap, dnsLookup, …) for a cluster the provider creates. */
  clusterOptions?: ClusterOptions;
}

/** The Redis cache: a CacheProvider plus the ioredis client it runs on. */
export interface RedisCacheProvider extends CacheProvider {
  readonly name: 'redis';
  /** The underlying ioredis client (shared with the caller when it passed `client`). */
  readonly client: Redis | Cluster;
  /** True when the client talks to a Redis Cluster. */
  readonly isCluster: boolean;
}

/**
 * INCRBY and, when the key has no expiry (it was just created), the default TTL — in one atomic
 * script, so no caller ever sees a counter that lives forever and a concurrent `expire` is never
 * overwritten. Results beyond ±2^53 are undone: JavaScript numbers cannot represent them.
 */
const INCR_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v > 9007199254740991 or v < -9007199254740991 then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return redis.error_reply('ERR increment would overflow a safe integer')
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
`;

/** Larger TTLs would overflow Redis' expiry arithmetic; 2^52 ms is ~142 000 years anyway. */
const MAX_TTL_MS = 2 ** 52;
/** A plain Uint8Array over the reply's bytes (no copy). */
function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

interface Settings {
  prefix: string;
  defaultTtlMs: number;
  maxValueBytes: number;
  healthCheckTimeoutMs: number;
  scanCount: number;
}

class RedisCache implements RedisCacheProvider {
  readonly name = 'redis' as const;
  readonly client: Redis | Cluster;
  readonly isCluster: boolean;
  readonly #owned: boolean;
  readonly #settings: Settings;
  readonly #secrets: string[];
  readonly #flight = new SingleFlight<string>();
  readonly #batch: TickBatcher;
  /** ioredis' own keyPrefix on a caller's client: SCAN returns keys with it, commands add it. */
  readonly #clientKeyPrefix: string;
  #lastConnectionError: unknown;
  #closing: Promise<void> | undefined;
  readonly #onError = (err: unknown) => {
    this.#lastConnectionError = err;
  };

  constructor(client: Redis | Cluster, owned: boolean, settings: Settings, secrets: string[]) {
    this.client = client;
    this.isCluster = client.isCluster;
    this.#owned = owned;
    this.#settings = settings;
    this.#secrets = secrets;
    this.#clientKeyPrefix = client.options.keyPrefix ?? '';
    this.#batch = new TickBatcher(client);
    // Without a listener ioredis prints every reconnect failure as an "Unhandled error event".
    client.on('error', this.#onError);
    if (client.isCluster) client.on('node error', this.#onError);
  }

  /** Rejects (never throws synchronously) with the mapped error. */
  #fail(err: unknown, context: string): never {
    throw toIntegrationError(err, context, {
      secrets: this.#secrets,
      lastConnectionError: () => this.#lastConnectionError,
    });
  }

  #open(): void {
    if (this.#closing) {
      throw IntegrationError.provider(
        ErrorCode.CacheConnectionFailed,
        PROVIDER,
        '[redis] the cache provider is closed',
      );
    }
  }

  #key(key: string): string {
    return this.#settings.prefix + key;
  }

  #ttl(ttlMs: number | undefined): number {
    return Math.min(resolveTtl(ttlMs, this.#settings.defaultTtlMs), MAX_TTL_MS);
  }

  /** Runs one command on `key` (prefixed), mapping a failure to "<COMMAND> <key> failed". */
  async #call<T>(command: string, key: string, run: (prefixed: string) => Promise<T>): Promise<T> {
    try {
      return await run(this.#key(key));
    } catch (err) {
      this.#fail(err, `${command} ${showKey(key)} failed`);
    }
  }

  /** Before a command that bypasses the tick batch: the provider is open, pending gets/sets go first. */
  #unbatched(): void {
    this.#open();
    this.#batch.flush();
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertCacheKey(key);
    this.#open();
    const buf = await this.#call('GET', key, (k) => this.#batch.read(k));
    return buf === null ? null : view(buf);
  }

  async set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    assertCacheKey(key);
    const ttl = this.#ttl(ttlMs);
    const payload = toOwnedBuffer(value, this.#settings.maxValueBytes);
    this.#open();
    await this.#call('SET', key, (k) => this.#batch.store(k, payload, ttl));
  }

  async getJson<T>(key: string): Promise<T | null> {
    const bytes = await this.get(key);
    return bytes === null ? null : fromJson<T>(bytes, key);
  }

  async setJson<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    assertCacheKey(key);
    const ttl = this.#ttl(ttlMs);
    const text = toJson(
      value,
      ErrorCode.CacheSerializationError,
      'Cache value',
      this.#settings.maxValueBytes,
    );
    this.#open();
    await this.#call('SET', key, (k) => this.#batch.store(k, text, ttl));
  }

  async delete(key: string): Promise<boolean> {
    assertCacheKey(key);
    this.#unbatched();
    return (await this.#call('UNLINK', key, (k) => this.client.unlink(k))) > 0;
  }

  async exists(key: string): Promise<boolean> {
    assertCacheKey(key);
    this.#unbatched();
    return (await this.#call('EXISTS', key, (k) => this.client.exists(k))) > 0;
  }

  /** Remaining TTL in ms; null when absent; Infinity for a key without expiry (written by someone else). */
  async ttl(key: string): Promise<number | null> {
    assertCacheKey(key);
    this.#unbatched();
    const ms = await this.#call('PTTL', key, (k) => this.client.pttl(k));
    if (ms === -2) return null;
    if (ms === -1) return Number.POSITIVE_INFINITY;
    return ms;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertCacheKey(key);
    const ttl = Math.min(assertTtl(ttlMs), MAX_TTL_MS);
    this.#unbatched();
    return (await this.#call('PEXPIRE', key, (k) => this.client.pexpire(k, ttl))) === 1;
  }

  async incr(key: string, delta = 1): Promise<number> {
    assertCacheKey(key);
    if (!Number.isSafeInteger(delta)) {
      throw IntegrationError.invalidInput(
        ErrorCode.CacheSerializationError,
        `incr delta must be a safe integer, got ${String(delta)}`,
        'delta',
      );
    }
    this.#open();
    const args = [this.#key(key), String(delta), String(this.#settings.defaultTtlMs)] as const;
    this.#batch.flush();
    try {
      // EVAL, not EVALSHA with a NOSCRIPT fallback: the fallback would run after commands the
      // caller issued later (incr then delete could leave the key alive after a SCRIPT FLUSH).
      // Redis caches the compiled script by its SHA either way; the body costs ~300 bytes.
      return (await this.client.eval(INCR_SCRIPT, 1, ...args)) as number;
    } catch (err) {
      if (isNotAnIntegerReply(err)) {
        throw new IntegrationError(
          ErrorCode.CacheSerializationError,
          `[redis] incr ${showKey(key)}: the stored value is not an integer, or the result would overflow`,
          { provider: PROVIDER, field: 'key', cause: err },
        );
      }
      this.#fail(err, `incr ${showKey(key)} failed`);
    }
  }

  async getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    this.#open();
    return getOrSetWith(this, this.#flight, key, load, opts);
  }

  async deletePattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string') {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidCacheKey,
        `deletePattern needs a string glob, got ${pattern === null ? 'null' : typeof pattern}`,
        'pattern',
      );
    }
    this.#open();
    this.#batch.flush();
    const scope = {
      client: this.client,
      prefix: this.#settings.prefix,
      clientKeyPrefix: this.#clientKeyPrefix,
      scanCount: this.#settings.scanCount,
    };
    try {
      return await deleteByPattern(scope, pattern);
    } catch (err) {
      this.#fail(err, `deletePattern ${JSON.stringify(pattern)} failed`);
    }
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closing) return false;
    this.#batch.flush();
    try {
      const reply = await withTimeout(
        this.client.ping(),
        this.#settings.healthCheckTimeoutMs,
        () => new Error('PING timed out'),
      );
      return reply === 'PONG';
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#batch.flush();
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const client = this.client;
    if (!this.#owned) {
      client.off('error', this.#onError);
      if (client.isCluster) client.off('node error', this.#onError);
      return;
    }
    if (client.status === 'ready') {
      try {
        // QUIT bypasses auto-pipelining: any command issued before close() (a batch, a delete,
        // an incr) may still wait in ioredis' pipeline — which holds the next batch back while
        // one is in flight — and would fail behind QUIT. Once that queue is empty every earlier
        // command is on the socket, and QUIT lets their replies arrive.
        await drainAutoPipeline(client, 2000);
        // QUIT lets in-flight replies arrive; a dead or stuck server gets a hard disconnect.
        await withTimeout(client.quit(), 2000, () => new Error('QUIT timed out'));
      } catch {
        client.disconnect();
      }
    } else if (client.status !== 'end') {
      // Not connected (or still handshaking): nothing to flush, and QUIT could only wait.
      client.disconnect();
    }
    // Keep the error listener until the end: a late socket error must not become "unhandled".
  }
}

/**
 * Connects to Redis (single node or Cluster) and returns a CacheProvider named "redis".
 *
 * A connection created here fails fast while Redis is unreachable (no offline queue; calls reject
 * with IN201/IN5xx instead of piling up) and reconnects by itself with capped backoff; `close()`
 * quits it. A `client` you pass is verified with PING and left open by `close()`.
 */
export async function createRedisCache(opts: RedisCacheOptions = {}): Promise<RedisCacheProvider> {
  const settings: Settings = {
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    defaultTtlMs:
      opts.defaultTtlMs === undefined
        ? DEFAULT_TTL_MS
        : Math.min(assertTtl(opts.defaultTtlMs, 'defaultTtlMs'), MAX_TTL_MS),
    maxValueBytes: numberOption(opts.maxValueBytes, 'maxValueBytes', DEFAULT_MAX_VALUE_BYTES, {
      provider: 'redis',
      integer: true,
    }),
    healthCheckTimeoutMs: positiveOption(opts.healthCheckTimeoutMs, 'healthCheckTimeoutMs', 2000, 'redis'),
    scanCount: numberOption(opts.scanCount, 'scanCount', 1000, { provider: 'redis', integer: true }),
  };
  if (typeof settings.prefix !== 'string') {
    throw IntegrationError.configuration(ErrorCode.InvalidConfiguration, '[redis] prefix must be a string');
  }
  const connection: ConnectionSettings = {
    connectTimeoutMs: positiveOption(opts.connectTimeoutMs, 'connectTimeoutMs', 5000, 'redis'),
    commandTimeoutMs: positiveOption(opts.commandTimeoutMs, 'commandTimeoutMs', 5000, 'redis'),
    maxReconnectDelayMs: positiveOption(opts.maxReconnectDelayMs, 'maxReconnectDelayMs', 2000, 'redis'),
  };
  if (opts.redisOptions) connection.redisOptions = opts.redisOptions;
  if (opts.clusterOptions) connection.clusterOptions = opts.clusterOptions;

  if (opts.client) {
    if (opts.url !== undefined || opts.cluster) {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        '[redis] pass either `client` or `url`/`cluster`, not both',
      );
    }
    const cache = new RedisCache(opts.client, false, settings, []);
    await verify(() => cache.close(), opts.client, connection.connectTimeoutMs, 'the given client');
    return cache;
  }

  const { client, secrets, target } = createOwnedClient(opts, connection);
  const cache = new RedisCache(client, true, settings, secrets);
  await verify(() => cache.close(), client, connection.connectTimeoutMs, target, secrets);
  return cache;
}
