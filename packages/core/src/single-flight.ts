import type { CacheProvider, GetOrSetOptions } from './contracts/cache';
import { assertCacheKey, assertTtl } from './validation';

/**
 * Collapses concurrent calls with the same key into one: the first caller runs `fn`, the others
 * wait for its result (or its rejection). Nothing is remembered once it settles.
 */
export class SingleFlight<K = string> {
  readonly #inFlight = new Map<K, Promise<unknown>>();

  run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const existing = this.#inFlight.get(key);
    if (existing) return existing as Promise<T>;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.#inFlight.delete(key);
      }
    })();
    this.#inFlight.set(key, p);
    return p;
  }

  get size(): number {
    return this.#inFlight.size;
  }
}

/**
 * The shared `getOrSet` of every cache backend: a hit returns the stored JSON; N concurrent misses
 * run `load` once and all get its result; a rejected load is not cached and reaches every waiter.
 * `undefined` cannot be stored as JSON, so it is returned without being cached.
 */
export async function getOrSetWith<T>(
  cache: Pick<CacheProvider, 'getJson' | 'setJson'>,
  flight: SingleFlight<string>,
  key: string,
  load: () => Promise<T>,
  opts?: GetOrSetOptions,
): Promise<T> {
  // Bad input fails before the loader runs, not after it did the expensive work.
  assertCacheKey(key);
  if (opts?.ttlMs !== undefined) assertTtl(opts.ttlMs);
  return flight.run(key, async () => {
    const hit = await cache.getJson<T>(key);
    if (hit !== null) return hit;
    const value = await load();
    if (value !== undefined) await cache.setJson(key, value, opts?.ttlMs);
    return value;
  });
}
