import type { Provider } from './provider';

export interface GetOrSetOptions {
  /** TTL of the loaded value; defaults to the provider's default TTL. */
  ttlMs?: number;
}

/**
 * A key/value cache. Every entry has a TTL (the provider default when none is given); expired
 * entries are invisible to every read. Values are bytes; strings are stored as UTF-8.
 */
export interface CacheProvider extends Provider {
  get(key: string): Promise<Uint8Array | null>;
  set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void>;
  getJson<T>(key: string): Promise<T | null>;
  setJson<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  /** True when a live entry was removed. */
  delete(key: string): Promise<boolean>;
  /** Glob (`*`, `?`, `\` escapes) over keys under this provider's prefix; returns how many were deleted. */
  deletePattern(pattern: string): Promise<number>;
  exists(key: string): Promise<boolean>;
  /** Remaining TTL in ms, `null` when the key is absent or expired. */
  ttl(key: string): Promise<number | null>;
  /** Sets a new TTL on a live entry; false when the key is absent. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Atomic add (delta defaults to 1, may be negative); a new key gets the default TTL, an existing one keeps its TTL. */
  incr(key: string, delta?: number): Promise<number>;
  /** Single-flight per key within a process: concurrent misses run `load` once; rejections are not cached. */
  getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T>;
}

/** Options every cache factory accepts. */
export interface CacheCommonOptions {
  /** Prepended to every key; two providers with different prefixes never see each other's keys. Default `""` (memory), `"fraiseql:cache:"` elsewhere. */
  prefix?: string;
  /** TTL for `set`/`setJson`/`incr` without one. Default 3_600_000 (1 hour). */
  defaultTtlMs?: number;
  /** Largest value accepted, in bytes. Default 16 MiB (Redis/Postgres), unbounded beyond `maxSizeBytes` for memory. */
  maxValueBytes?: number;
}
