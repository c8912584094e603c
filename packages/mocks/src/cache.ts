import {
  assertCacheKey,
  assertTtl,
  type CacheCommonOptions,
  type CacheProvider,
  ErrorCode,
  fromJson,
  type GetOrSetOptions,
  globToRegExp,
  IntegrationError,
  resolveTtl,
  SingleFlight,
  toBytes,
  toJson,
} from '@fraiseql/core';

/** Default TTL when neither the call nor the options give one: 1 hour, as on every backend. */
const DEFAULT_TTL_MS = 3_600_000;
const DEFAULT_FAILURE_MESSAGE = 'Mock cache failure';
const INTEGER = /^-?\d+$/;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export type MockCacheOperationType =
  | 'get'
  | 'getJson'
  | 'set'
  | 'setJson'
  | 'delete'
  | 'deletePattern'
  | 'exists'
  | 'ttl'
  | 'expire'
  | 'incr'
  | 'getOrSet';

/**
 * One call made on a {@link MockCacheProvider}, recorded in call order (failed calls included,
 * with `error`). Only the fields that make sense for the `type` are present.
 */
export interface MockCacheOperation {
  type: MockCacheOperationType;
  /** The key as the caller passed it (without the provider prefix); absent for `deletePattern`. */
  key?: string;
  /** `deletePattern` only. */
  pattern?: string;
  /** `get`, `getJson`, `getOrSet`: whether a live entry was found (for `getOrSet`: `load` did not run for this call). */
  hit?: boolean;
  /** `set`, `setJson`, `getOrSet`: the TTL the caller passed (absent when the default TTL applied); `expire`: the new TTL. */
  ttlMs?: number;
  /** `incr` only: the delta applied. */
  delta?: number;
  /** What the call resolved with, for calls returning a boolean or a number (`delete`, `exists`, `expire`, `deletePattern`, `ttl`, `incr`). */
  result?: boolean | number | null;
  /** Message of the error the call rejected with. */
  error?: string;
}

export interface MockCacheProviderOptions extends CacheCommonOptions {
  /** Kept for inspection only: each mock has its own entries, so no prefix is needed to isolate it. Default `""`. */
  prefix?: string;
  /** TTL for `set`/`setJson`/`incr`/`getOrSet` without one. Default 3_600_000 (1 hour). */
  defaultTtlMs?: number;
  /** Largest value accepted, in bytes; a larger one is IN203. Default unbounded. */
  maxValueBytes?: number;
  /**
   * Clock used for every TTL decision, in epoch ms. Inject one to expire entries without
   * waiting. Default `Date.now`.
   */
  now?: () => number;
}

interface Entry {
  value: Uint8Array;
  /** Epoch ms (of the provider's clock) after which the entry is gone. */
  expiresAt: number;
}

/**
 * An in-memory {@link CacheProvider} for application tests: no I/O, real TTL semantics, and
 * the same contract as every backend (it passes `describeCacheProvider`). It records every call
 * and can be told to fail, so code that uses a cache can be tested without one.
 */
export class MockCacheProvider implements CacheProvider {
  readonly name = 'mock';
  /** The configured prefix. Entries live in this instance only, so it never affects visibility. */
  readonly prefix: string;
  readonly defaultTtlMs: number;
  readonly maxValueBytes: number;

  readonly #entries = new Map<string, Entry>();
  readonly #ops: MockCacheOperation[] = [];
  readonly #flight = new SingleFlight<string>();
  readonly #now: () => number;
  #failure: string | undefined;
  #closed = false;

  constructor(opts: MockCacheProviderOptions = {}) {
    this.prefix = opts.prefix ?? '';
    this.defaultTtlMs =
      opts.defaultTtlMs === undefined ? DEFAULT_TTL_MS : assertTtl(opts.defaultTtlMs, 'defaultTtlMs');
    const max = opts.maxValueBytes ?? Number.POSITIVE_INFINITY;
    if (typeof max !== 'number' || Number.isNaN(max) || max < 0) {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        `maxValueBytes must be a non-negative number, got ${String(max)}`,
      );
    }
    this.maxValueBytes = max;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * When true, every cache operation rejects with IN201 CacheConnectionFailed and `healthCheck`
   * resolves false. Setting it back to false also forgets a `failWith` message. Default false.
   */
  get shouldFail(): boolean {
    return this.#failure !== undefined;
  }

  set shouldFail(value: boolean) {
    this.#failure = value ? (this.#failure ?? DEFAULT_FAILURE_MESSAGE) : undefined;
  }

  /** Makes every later operation reject with IN201 CacheConnectionFailed carrying `message`. */
  failWith(message: string): this {
    this.#failure = message;
    return this;
  }

  /** Seeds an entry without recording an operation; chainable. TTL defaults to the provider default. */
  withEntry(key: string, value: Uint8Array | string, ttlMs?: number): this {
    assertCacheKey(key);
    this.#write(key, toBytes(value, this.maxValueBytes), resolveTtl(ttlMs, this.defaultTtlMs));
    return this;
  }

  /** A copy of every operation recorded so far, oldest first. */
  recordedOperations(): MockCacheOperation[] {
    return this.#ops.map((op) => ({ ...op }));
  }

  clearRecordedOperations(): void {
    this.#ops.length = 0;
  }

  /** Throws unless some `get`, `getJson` or `getOrSet` of `key` found a live entry. */
  assertCacheHit(key: string): void {
    if (!this.#ops.some((op) => op.key === key && op.hit === true)) {
      throw new Error(`Expected a cache hit for ${JSON.stringify(key)}; ${this.#describeOps()}`);
    }
  }

  /** Throws unless some `get`, `getJson` or `getOrSet` of `key` found nothing. */
  assertCacheMiss(key: string): void {
    if (!this.#ops.some((op) => op.key === key && op.hit === false)) {
      throw new Error(`Expected a cache miss for ${JSON.stringify(key)}; ${this.#describeOps()}`);
    }
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.#record({ type: 'get', key }, (op) => {
      assertCacheKey(key);
      this.#ensureUp();
      const entry = this.#live(key);
      op.hit = entry !== undefined;
      // A copy, so a caller mutating the result cannot change what is cached.
      return entry ? entry.value.slice() : null;
    });
  }

  set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    return this.#record(withTtl({ type: 'set', key }, ttlMs), () => {
      assertCacheKey(key);
      const ttl = resolveTtl(ttlMs, this.defaultTtlMs);
      const bytes = toBytes(value, this.maxValueBytes);
      this.#ensureUp();
      this.#write(key, bytes, ttl);
    });
  }

  getJson<T>(key: string): Promise<T | null> {
    return this.#record({ type: 'getJson', key }, (op) => {
      assertCacheKey(key);
      this.#ensureUp();
      const entry = this.#live(key);
      op.hit = entry !== undefined;
      return entry ? fromJson<T>(entry.value, key) : null;
    });
  }

  setJson<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    return this.#record(withTtl({ type: 'setJson', key }, ttlMs), () => {
      assertCacheKey(key);
      const ttl = resolveTtl(ttlMs, this.defaultTtlMs);
      const bytes = toBytes(
        toJson(value, ErrorCode.CacheSerializationError, 'Cache value', this.maxValueBytes),
        this.maxValueBytes,
      );
      this.#ensureUp();
      this.#write(key, bytes, ttl);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#record({ type: 'delete', key }, (op) => {
      assertCacheKey(key);
      this.#ensureUp();
      const existed = this.#live(key) !== undefined;
      this.#entries.delete(key);
      op.result = existed;
      return existed;
    });
  }

  deletePattern(pattern: string): Promise<number> {
    return this.#record({ type: 'deletePattern', pattern }, (op) => {
      if (typeof pattern !== 'string') {
        throw IntegrationError.invalidInput(
          ErrorCode.InvalidCacheKey,
          `Pattern must be a string, got ${typeof pattern}`,
          'pattern',
        );
      }
      this.#ensureUp();
      const re = globToRegExp(pattern);
      const now = this.#now();
      let deleted = 0;
      for (const [key, entry] of this.#entries) {
        // Expired entries go too, but only live ones count: they are the only ones a caller could see.
        if (entry.expiresAt <= now) this.#entries.delete(key);
        else if (re.test(key)) {
          this.#entries.delete(key);
          deleted++;
        }
      }
      op.result = deleted;
      return deleted;
    });
  }

  exists(key: string): Promise<boolean> {
    return this.#record({ type: 'exists', key }, (op) => {
      assertCacheKey(key);
      this.#ensureUp();
      const found = this.#live(key) !== undefined;
      op.result = found;
      return found;
    });
  }

  ttl(key: string): Promise<number | null> {
    return this.#record({ type: 'ttl', key }, (op) => {
      assertCacheKey(key);
      this.#ensureUp();
      const entry = this.#live(key);
      // Live means expiresAt > now, so this is at least 1 even with a fractional injected clock.
      const remaining = entry ? Math.ceil(entry.expiresAt - this.#now()) : null;
      op.result = remaining;
      return remaining;
    });
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.#record({ type: 'expire', key, ttlMs }, (op) => {
      assertCacheKey(key);
      const ttl = assertTtl(ttlMs);
      this.#ensureUp();
      const entry = this.#live(key);
      if (entry) entry.expiresAt = this.#now() + ttl;
      op.result = entry !== undefined;
      return entry !== undefined;
    });
  }

  incr(key: string, delta = 1): Promise<number> {
    return this.#record({ type: 'incr', key, delta }, (op) => {
      assertCacheKey(key);
      if (!Number.isSafeInteger(delta)) {
        throw IntegrationError.invalidInput(
          ErrorCode.CacheSerializationError,
          `incr delta must be a safe integer, got ${String(delta)}`,
          'delta',
        );
      }
      this.#ensureUp();
      const entry = this.#live(key);
      let current = 0;
      if (entry) {
        const text = decoder.decode(entry.value);
        current = INTEGER.test(text) ? Number(text) : Number.NaN;
        if (!Number.isSafeInteger(current)) {
          throw IntegrationError.invalidInput(
            ErrorCode.CacheSerializationError,
            `Value of cache key ${JSON.stringify(key)} is not an integer`,
            'key',
          );
        }
      }
      const next = current + delta;
      if (!Number.isSafeInteger(next)) {
        throw IntegrationError.invalidInput(
          ErrorCode.CacheSerializationError,
          `incr of cache key ${JSON.stringify(key)} would overflow`,
          'delta',
        );
      }
      const bytes = encoder.encode(String(next));
      // An existing entry keeps its remaining TTL; a new one gets the default.
      if (entry) entry.value = bytes;
      else this.#write(key, bytes, this.defaultTtlMs);
      op.result = next;
      return next;
    });
  }

  getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    return this.#record(withTtl({ type: 'getOrSet', key }, opts?.ttlMs), async (op) => {
      assertCacheKey(key);
      const ttl = resolveTtl(opts?.ttlMs, this.defaultTtlMs);
      this.#ensureUp();
      // The same single-flight as core's getOrSetWith, but every joined caller also learns
      // whether the flight was a hit, so each recorded operation says so.
      const { value, hit } = await this.#flight.run(key, async () => {
        const entry = this.#live(key);
        if (entry) return { value: fromJson<T>(entry.value, key), hit: true };
        const loaded = await load();
        // The backend may have gone down while the loader ran.
        this.#ensureUp();
        if (loaded !== undefined) {
          const text = toJson(loaded, ErrorCode.CacheSerializationError, 'Cache value', this.maxValueBytes);
          this.#write(key, toBytes(text, this.maxValueBytes), ttl);
        }
        return { value: loaded, hit: false };
      });
      op.hit = hit;
      return value;
    });
  }

  async healthCheck(): Promise<boolean> {
    return !this.#closed && this.#failure === undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #write(key: string, bytes: Uint8Array, ttlMs: number): void {
    // Copied, so the caller reusing its buffer cannot change what is cached.
    this.#entries.set(key, { value: bytes.slice(), expiresAt: this.#now() + ttlMs });
  }

  #ensureUp(): void {
    if (this.#closed) {
      throw IntegrationError.provider(
        ErrorCode.CacheConnectionFailed,
        this.name,
        'MockCacheProvider is closed',
      );
    }
    if (this.#failure !== undefined) {
      throw IntegrationError.provider(ErrorCode.CacheConnectionFailed, this.name, this.#failure);
    }
  }

  /** Records `op` at call time (so the list is in call order) and notes the error if `fn` fails. */
  async #record<T>(op: MockCacheOperation, fn: (op: MockCacheOperation) => T | Promise<T>): Promise<T> {
    this.#ops.push(op);
    try {
      return await fn(op);
    } catch (err) {
      op.error = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  #describeOps(): string {
    if (this.#ops.length === 0) return 'no operations were recorded';
    const lines = this.#ops.map((op, i) => `  ${i + 1}. ${JSON.stringify(op)}`);
    return `recorded operations:\n${lines.join('\n')}`;
  }
}

function withTtl(op: MockCacheOperation, ttlMs: number | undefined): MockCacheOperation {
  if (ttlMs !== undefined) op.ttlMs = ttlMs;
  return op;
}
