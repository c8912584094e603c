import {
  assertCacheKey,
  assertTtl,
  type CacheCommonOptions,
  type CacheProvider,
  describeError,
  ErrorCode,
  fromJson,
  type GetOrSetOptions,
  getOrSetWith,
  globToRedisPattern,
  globToRegExp,
  IntegrationError,
  isLiteralGlob,
  MAX_KEY_BYTES,
  networkErrorCode,
  numberOption,
  parseGlob,
  positiveOption,
  resolveTtl,
  SingleFlight,
  toJson,
  toOwnedBuffer,
  withTimeout,
} from '@fraiseql/core';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { type ConnectionSettings, createOwnedClient } from './connection';
import { isNotAnIntegerReply, isReplyError, PROVIDER, showKey, toIntegrationError } from './errors';

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

/**
 * The sets of one tick in one command: Redis parses and dispatches one EVAL instead of N SETs,
 * and ioredis builds, writes and answers one command object instead of N — about twice the
 * throughput of one SET each. ARGV holds value and TTL of KEYS[i] at 2i-1 and 2i.
 */
const SET_BATCH_SCRIPT = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return #KEYS
`;

/** Keys per MGET. */
const MAX_GET_BATCH = 1000;
/** Keys per batched set: bounds the argument count and how long one script keeps Redis busy. */
const MAX_SET_BATCH = 500;
/** Key and value bytes per batched set, so one batch never becomes a multi-megabyte command. */
const MAX_SET_BATCH_BYTES = 1024 * 1024;
/** A value this large gains nothing from sharing a command: it goes out as its own SET. */
const MAX_BATCHED_VALUE_BYTES = 64 * 1024;

/** A get or set waiting for the end of the tick, in the order the caller issued it. */
type Pending =
  | { kind: 'get'; key: string; resolve: (b: Buffer | null) => void; reject: (e: unknown) => void }
  | {
      kind: 'set';
      key: string;
      value: Buffer | string;
      ttl: number;
      bytes: number;
      resolve: () => void;
      reject: (e: unknown) => void;
    };

/** Larger TTLs would overflow Redis' expiry arithmetic; 2^52 ms is ~142 000 years anyway. */
const MAX_TTL_MS = 2 ** 52;
const ESCAPE_REDIS = /[\\*?[\]^]/g;

/** Escapes every character Redis' MATCH treats specially, so `text` matches only itself. */
function redisLiteral(text: string): string {
  return text.replace(ESCAPE_REDIS, '\\$&');
}

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

  async get(key: string): Promise<Uint8Array | null> {
    assertCacheKey(key);
    this.#open();
    try {
      const buf = await this.#read(this.#key(key));
      return buf === null ? null : view(buf);
    } catch (err) {
      this.#fail(err, `GET ${showKey(key)} failed`);
    }
  }

  /**
   * Gets and sets issued in one tick, in issue order, sent at the end of the tick (single node).
   * One queue for both kinds keeps the caller's order: a run of gets becomes one MGET, a run of
   * sets one script call, and each run goes to ioredis only after the runs before it. Every other
   * command first empties the queue (`#flush`), so `set(k); delete(k)` can never send the UNLINK
   * before the SET. ioredis keeps that order on its one connection, auto-pipelining included.
   */
  #pending: Pending[] = [];
  #flushScheduled = false;
  readonly #flushAtTickEnd = () => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #enqueue(op: Pending): void {
    this.#pending.push(op);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushAtTickEnd);
    }
  }

  /**
   * Hands everything pending to ioredis now, in order. Called at the end of the tick and,
   * synchronously, before any command that does not go through the queue.
   */
  #flush(): void {
    const ops = this.#pending;
    if (ops.length === 0) return;
    this.#pending = [];
    let i = 0;
    while (i < ops.length) {
      const first = ops[i]!;
      let j = i + 1;
      if (first.kind === 'get') {
        while (j < ops.length && ops[j]!.kind === 'get' && j - i < MAX_GET_BATCH) j++;
        this.#sendGets(ops.slice(i, j) as Extract<Pending, { kind: 'get' }>[]);
      } else {
        let bytes = first.bytes;
        for (; j < ops.length && j - i < MAX_SET_BATCH; j++) {
          const next = ops[j]!;
          if (next.kind !== 'set' || bytes + next.bytes > MAX_SET_BATCH_BYTES) break;
          bytes += next.bytes;
        }
        this.#sendSets(ops.slice(i, j) as Extract<Pending, { kind: 'set' }>[]);
      }
      i = j;
    }
  }

  /**
   * MGET answers nil for a key holding another type, where GET fails with WRONGTYPE: keys under
   * our prefix only ever hold strings. A lone get stays a GET.
   */
  #sendGets(batch: Extract<Pending, { kind: 'get' }>[]): void {
    const fail = (err: unknown) => {
      for (const b of batch) b.reject(err);
    };
    try {
      if (batch.length === 1) {
        const only = batch[0]!;
        this.client.getBuffer(only.key).then(only.resolve, fail);
        return;
      }
      (this.client as Redis).mgetBuffer(...batch.map((b) => b.key)).then((values) => {
        for (const [j, b] of batch.entries()) b.resolve(values[j] ?? null);
      }, fail);
    } catch (err) {
      fail(err);
    }
  }

  /**
   * Always EVAL with the script's text, never EVALSHA: after SCRIPT FLUSH, EVALSHA fails with
   * NOSCRIPT and its retry would go out after commands the caller issued later — a `delete`
   * queued behind the batch would run first and the SETs would resurrect the key. The ~100
   * bytes of script text per batch cost less than that risk; Redis keeps the compiled script
   * cached by its hash, so EVAL does not recompile it. A lone set stays a plain SET.
   */
  #sendSets(batch: Extract<Pending, { kind: 'set' }>[]): void {
    const fail = (err: unknown) => {
      for (const b of batch) b.reject(err);
    };
    try {
      if (batch.length === 1) {
        const only = batch[0]!;
        this.client.set(only.key, only.value, 'PX', only.ttl).then(() => only.resolve(), fail);
        return;
      }
      const n = batch.length;
      const keysAndArgs: (Buffer | string | number)[] = new Array(n * 3);
      for (let k = 0; k < n; k++) {
        const b = batch[k]!;
        keysAndArgs[k] = b.key;
        keysAndArgs[n + 2 * k] = b.value;
        keysAndArgs[n + 2 * k + 1] = b.ttl;
      }
      this.client.eval(SET_BATCH_SCRIPT, n, ...keysAndArgs).then(() => {
        for (const b of batch) b.resolve();
      }, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** On a cluster the keys of one tick live in different slots: one GET each, sent at once. */
  #read(key: string): Promise<Buffer | null> {
    if (this.isCluster) return this.client.getBuffer(key);
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'get', key, resolve, reject }));
  }

  async set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    assertCacheKey(key);
    const ttl = this.#ttl(ttlMs);
    const payload = toOwnedBuffer(value, this.#settings.maxValueBytes);
    this.#open();
    try {
      await this.#store(this.#key(key), payload, ttl);
    } catch (err) {
      this.#fail(err, `SET ${showKey(key)} failed`);
    }
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
    try {
      await this.#store(this.#key(key), text, ttl);
    } catch (err) {
      this.#fail(err, `SET ${showKey(key)} failed`);
    }
  }

  /**
   * `value` is already ours (`toOwnedBuffer` copied the caller's bytes), so queueing it cannot
   * let a later mutation of the caller's buffer change what is stored. A large value goes out
   * as its own SET, after whatever is pending so the order still holds.
   */
  #store(key: string, value: Buffer | string, ttl: number): Promise<unknown> {
    if (this.isCluster) return this.client.set(key, value, 'PX', ttl);
    const bytes =
      key.length +
      (typeof value === 'string'
        ? value.length * 3 <= MAX_BATCHED_VALUE_BYTES
          ? value.length
          : Buffer.byteLength(value)
        : value.byteLength);
    if (bytes > MAX_BATCHED_VALUE_BYTES) {
      this.#flush();
      return this.client.set(key, value, 'PX', ttl);
    }
    return new Promise<void>((resolve, reject) =>
      this.#enqueue({ kind: 'set', key, value, ttl, bytes, resolve, reject }),
    );
  }

  async delete(key: string): Promise<boolean> {
    assertCacheKey(key);
    this.#open();
    this.#flush();
    try {
      return (await this.client.unlink(this.#key(key))) > 0;
    } catch (err) {
      this.#fail(err, `UNLINK ${showKey(key)} failed`);
    }
  }

  async exists(key: string): Promise<boolean> {
    assertCacheKey(key);
    this.#open();
    this.#flush();
    try {
      return (await this.client.exists(this.#key(key))) > 0;
    } catch (err) {
      this.#fail(err, `EXISTS ${showKey(key)} failed`);
    }
  }

  /** Remaining TTL in ms; null when absent; Infinity for a key without expiry (written by someone else). */
  async ttl(key: string): Promise<number | null> {
    assertCacheKey(key);
    this.#open();
    this.#flush();
    let ms: number;
    try {
      ms = await this.client.pttl(this.#key(key));
    } catch (err) {
      this.#fail(err, `PTTL ${showKey(key)} failed`);
    }
    if (ms === -2) return null;
    if (ms === -1) return Number.POSITIVE_INFINITY;
    return ms;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertCacheKey(key);
    const ttl = Math.min(assertTtl(ttlMs), MAX_TTL_MS);
    this.#open();
    this.#flush();
    try {
      return (await this.client.pexpire(this.#key(key), ttl)) === 1;
    } catch (err) {
      this.#fail(err, `PEXPIRE ${showKey(key)} failed`);
    }
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
    this.#flush();
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
    this.#flush();
    if (isLiteralGlob(pattern)) return this.#deleteLiteral(pattern);

    const tokens = parseGlob(pattern);
    const scanPrefix = this.#clientKeyPrefix + this.#settings.prefix;
    // Redis' `?` matches one byte, ours one character: with a `?` we scan for a superset (`?*`,
    // one or more bytes) and keep exactly the keys our glob matches.
    const exact = tokens.every((t) => t.type !== 'one');
    const body = exact
      ? globToRedisPattern(pattern)
      : tokens
          .map((t) => (t.type === 'any' ? '*' : t.type === 'one' ? '?*' : redisLiteral(t.value)))
          .join('');
    const match = redisLiteral(scanPrefix) + body;
    const regex = exact ? undefined : globToRegExp(pattern);
    const skip = Buffer.byteLength(scanPrefix);
    const stripBytes = Buffer.byteLength(this.#clientKeyPrefix);

    const masters = this.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    try {
      const counts = await Promise.all(
        masters.map((node) =>
          this.#scanAndUnlink(node, match, (raw) => {
            if (regex && !regex.test(raw.subarray(skip).toString('utf8'))) return undefined;
            return stripBytes > 0 ? raw.subarray(stripBytes) : raw;
          }),
        ),
      );
      return counts.reduce((a, b) => a + b, 0);
    } catch (err) {
      this.#fail(err, `deletePattern ${JSON.stringify(pattern)} failed`);
    }
  }

  async #deleteLiteral(pattern: string): Promise<number> {
    const key = parseGlob(pattern)
      .map((t) => (t.type === 'literal' ? t.value : ''))
      .join('');
    // A key we could never have stored matches nothing.
    if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) return 0;
    try {
      return await this.client.unlink(this.#key(key));
    } catch (err) {
      this.#fail(err, `deletePattern ${JSON.stringify(pattern)} failed`);
    }
  }

  /**
   * SCAN one node with MATCH and UNLINK what each page returns. Deleting while scanning is safe:
   * SCAN still returns every key that exists throughout, and a key seen twice is counted once
   * because the second UNLINK removes nothing. Counts what UNLINK removed, not what SCAN saw.
   */
  async #scanAndUnlink(
    node: Redis,
    match: string,
    select: (raw: Buffer) => Buffer | undefined,
  ): Promise<number> {
    const { scanCount } = this.#settings;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, found] = await node.scanBuffer(cursor, 'MATCH', match, 'COUNT', scanCount);
      cursor = next.toString('latin1');
      const keys: Buffer[] = [];
      for (const raw of found) {
        const k = select(raw);
        if (k) keys.push(k);
      }
      for (let i = 0; i < keys.length; i += scanCount)
        deleted += await this.#unlink(keys.slice(i, i + scanCount));
    } while (cursor !== '0');
    return deleted;
  }

  async #unlink(keys: Buffer[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.isCluster) return this.client.unlink(...keys);
    // A multi-key UNLINK across hash slots fails with CROSSSLOT: one UNLINK per key, which
    // auto-pipelining (or the cluster's own routing) batches per node.
    const results = await Promise.all(keys.map((k) => this.client.unlink(k)));
    return results.reduce((a, b) => a + b, 0);
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closing) return false;
    this.#flush();
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
    this.#flush();
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

/** Waits (at most `ms`) until ioredis has written every auto-pipelined command to the socket. */
async function drainAutoPipeline(client: Redis | Cluster, ms: number): Promise<void> {
  const queued = () => (client as { autoPipelineQueueSize?: number }).autoPipelineQueueSize ?? 0;
  const deadline = Date.now() + ms;
  while (queued() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
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
    await verify(cache, opts.client, connection.connectTimeoutMs, 'the given client');
    return cache;
  }

  const { client, secrets, target } = createOwnedClient(opts, connection);
  const cache = new RedisCache(client, true, settings, secrets);
  await verify(cache, client, connection.connectTimeoutMs, target, secrets);
  return cache;
}

/** Connects (if needed) and PINGs within `timeoutMs`; on failure an owned client is shut down. */
async function verify(
  cache: RedisCache,
  client: Redis | Cluster,
  timeoutMs: number,
  target: string,
  secrets: string[] = [],
): Promise<void> {
  const seen: unknown[] = [];
  const record = (err: unknown) => {
    if (seen.length < 20) seen.push(err);
  };
  client.on('error', record);
  // A cluster reports why its seeds failed only per node.
  if (client.isCluster) client.on('node error', record);
  try {
    const connectAndPing = async () => {
      if (client.status === 'end') throw new Error('Connection is closed.');
      if (client.status === 'wait') await client.connect();
      await client.ping();
    };
    // The handshake may stall after the socket connected (AUTH, a loading replica): bound it all.
    await withTimeout(connectAndPing(), timeoutMs + 1000, () => {
      const err = new Error(`no answer within ${timeoutMs + 1000} ms`) as Error & { code: string };
      err.code = 'ETIMEDOUT';
      return err;
    });
  } catch (err) {
    // A cluster reports "all nodes failed" last; the socket error before it says why.
    const cause = seen.find((e) => networkErrorCode(e) !== undefined) ?? seen.at(-1) ?? err;
    await cache.close().catch(() => {});
    const context = `could not connect to ${target}`;
    // A refusal by the server itself (WRONGPASS, LOADING, …) keeps its reply-based code.
    if (isReplyError(cause))
      throw toIntegrationError(cause, context, { secrets, lastConnectionError: () => undefined });
    const code = networkErrorCode(cause) ?? networkErrorCode(err) ?? ErrorCode.CacheConnectionFailed;
    throw IntegrationError.provider(
      code,
      PROVIDER,
      `[redis] ${context}: ${describeError(cause, secrets)}`,
      cause,
    );
  } finally {
    client.off('error', record);
    if (client.isCluster) client.off('node error', record);
  }
}
