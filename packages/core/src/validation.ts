import { ErrorCode, IntegrationError } from './errors';

/** Largest cache key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const INDEX_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const encoder = new TextEncoder();

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return typeof value === 'bigint' ? `${value}n` : String(value);
}

/** Keys are non-empty strings of at most 1024 UTF-8 bytes (IN205). */
export function assertCacheKey(key: unknown, field = 'key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidCacheKey,
      `Cache key must be a non-empty string, got ${show(key)}`,
      field,
    );
  }
  // Cheap bound first: a string of ≤ 256 UTF-16 units is ≤ 1024 bytes.
  if (key.length > MAX_KEY_BYTES / 4 && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidCacheKey,
      `Cache key is ${Buffer.byteLength(key, 'utf8')} bytes; the limit is ${MAX_KEY_BYTES}`,
      field,
    );
  }
}

/** A TTL must be a positive finite number of milliseconds (IN204). Returns it rounded up to whole ms. */
export function assertTtl(ttlMs: unknown, field = 'ttlMs'): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidTtl,
      `TTL must be a positive number of milliseconds, got ${show(ttlMs)}`,
      field,
    );
  }
  return Math.ceil(ttlMs);
}

/** The TTL to use: the given one (validated) or the provider default. */
export function resolveTtl(ttlMs: number | undefined, defaultTtlMs: number): number {
  return ttlMs === undefined ? defaultTtlMs : assertTtl(ttlMs);
}

/** Strings become UTF-8 bytes; anything but a string or Uint8Array is IN202. */
export function toBytes(value: unknown, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = encoder.encode(value);
  else if (value instanceof Uint8Array) bytes = value;
  else {
    throw IntegrationError.invalidInput(
      ErrorCode.CacheSerializationError,
      `Cache value must be a string or Uint8Array, got ${value === null ? 'null' : typeof value}`,
      'value',
    );
  }
  if (bytes.byteLength > maxBytes) {
    throw IntegrationError.invalidInput(
      ErrorCode.CacheCapacityExceeded,
      `Cache value is ${bytes.byteLength} bytes; the limit is ${maxBytes}`,
      'value',
    );
  }
  return bytes;
}

/**
 * Like `toBytes`, but always a Buffer the caller can no longer change: strings are encoded, a
 * caller's Uint8Array is copied — a driver may send it on a later tick, and a buffer mutated
 * meanwhile must not change what is stored.
 */
export function toOwnedBuffer(value: unknown, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  const bytes = toBytes(value, maxBytes);
  return typeof value === 'string'
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : Buffer.from(bytes);
}

/**
 * JSON for storage. BigInt, cycles and a top-level `undefined`/function are refused with `code`
 * (IN202 for the cache, IN308 for job data) instead of a TypeError from deep inside a driver.
 */
export function toJson(
  value: unknown,
  code: ErrorCode,
  what: string,
  maxBytes = Number.POSITIVE_INFINITY,
): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw IntegrationError.invalidInput(code, `${what} is not JSON-serialisable: ${reason}`, 'data');
  }
  if (text === undefined) {
    throw IntegrationError.invalidInput(code, `${what} is not JSON-serialisable: ${typeof value}`, 'data');
  }
  if (text.length > maxBytes / 3 && Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw IntegrationError.invalidInput(
      code === ErrorCode.CacheSerializationError ? ErrorCode.CacheCapacityExceeded : code,
      `${what} is ${Buffer.byteLength(text, 'utf8')} bytes as JSON; the limit is ${maxBytes}`,
      'data',
    );
  }
  return text;
}

/** Parses stored JSON; non-JSON bytes are IN202. */
export function fromJson<T>(bytes: Uint8Array | string, key: string): T {
  const text =
    typeof bytes === 'string'
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw IntegrationError.invalidInput(
      ErrorCode.CacheSerializationError,
      `Value of cache key ${show(key)} is not JSON`,
      'key',
    );
  }
}

/** Queue names: 1-128 chars of `[A-Za-z0-9_.:-]` (IN307). */
export function assertQueueName(queue: unknown): asserts queue is string {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidQueueName,
      `Invalid queue name ${show(queue)}: use 1-128 characters of A-Z a-z 0-9 _ . : -`,
      'queue',
    );
  }
}

/** Index names: 1-64 chars of `[A-Za-z0-9_-]` on every engine (IN106). */
export function assertIndexName(index: unknown): asserts index is string {
  if (typeof index !== 'string' || !INDEX_NAME.test(index)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidIndexName,
      `Invalid index name ${show(index)}: use 1-64 characters of A-Z a-z 0-9 _ -`,
      'index',
    );
  }
}

export function isValidQueueName(queue: unknown): queue is string {
  return typeof queue === 'string' && QUEUE_NAME.test(queue);
}

export function isValidIndexName(index: unknown): index is string {
  return typeof index === 'string' && INDEX_NAME.test(index);
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Checks an `IndexConfig` (IN002 naming the bad setting) and returns a clean copy: `searchable`
 * is required, `filterable`/`sortable` optional arrays of field names, `primaryKey` a top-level
 * field name. The one check every search backend applies before its own.
 */
export function assertIndexConfig(config: unknown): {
  searchable: string[];
  filterable?: string[];
  sortable?: string[];
  primaryKey?: string;
} {
  const bad = (message: string, field: string) =>
    IntegrationError.invalidInput(ErrorCode.InvalidConfiguration, message, field);
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw bad('Index settings must be an object', 'config');
  const c = config as Record<string, unknown>;
  const list = (key: string, required: boolean): string[] | undefined => {
    const value = c[key];
    if (value === undefined && !required) return undefined;
    if (
      !Array.isArray(value) ||
      !value.every((f) => typeof f === 'string' && f.length <= 255 && FIELD_NAME.test(f))
    ) {
      throw bad(`Index setting "${key}" must be an array of field names`, key);
    }
    return [...(value as string[])];
  };
  const out: { searchable: string[]; filterable?: string[]; sortable?: string[]; primaryKey?: string } = {
    searchable: list('searchable', true)!,
  };
  const filterable = list('filterable', false);
  const sortable = list('sortable', false);
  if (filterable) out.filterable = filterable;
  if (sortable) out.sortable = sortable;
  if (c.primaryKey !== undefined) {
    if (typeof c.primaryKey !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.primaryKey)) {
      throw bad('Index setting "primaryKey" must be a top-level field name', 'primaryKey');
    }
    out.primaryKey = c.primaryKey;
  }
  return out;
}
