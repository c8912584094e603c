import { type CacheProvider, SingleFlight } from '@fraiseql/core';

/**
 * The enrich step's lookup cache: the shared cache provider when the engine has one (so every
 * process sees a lookup once), else a small in-process LRU. Concurrent misses of one key make one
 * request: messages of one customer arriving together do not all call the customer service.
 */
export function createEnrichCache(cache: CacheProvider | undefined, lruSize: number) {
  const lru = new Map<string, { value: unknown; expires: number }>();
  const flight = new SingleFlight<string>();

  async function read(key: string): Promise<{ value: unknown } | undefined> {
    if (cache) {
      const cached = await cache.getJson<{ v: unknown }>(key).catch(() => null);
      return cached ? { value: cached.v } : undefined;
    }
    const e = lru.get(key);
    if (e && e.expires > Date.now()) {
      lru.delete(key);
      lru.set(key, e);
      return { value: e.value };
    }
    if (e) lru.delete(key);
    return undefined;
  }

  async function write(key: string, value: unknown, ttlMs: number): Promise<void> {
    if (cache) {
      // A cache that is down costs a lookup, never the message.
      await cache.setJson(key, { v: value }, ttlMs).catch(() => undefined);
      return;
    }
    lru.set(key, { value, expires: Date.now() + ttlMs });
    if (lru.size > lruSize) lru.delete(lru.keys().next().value as string);
  }

  return {
    /** The cached value of `key`, else `load()`'s (stored for `ttlMs`); without a TTL, always `load()`. */
    async lookup(key: string, ttlMs: number | undefined, load: () => Promise<unknown>): Promise<unknown> {
      if (!ttlMs) return load();
      const hit = await read(key);
      if (hit) return hit.value;
      return flight.run(key, async () => {
        const value = await load();
        await write(key, value, ttlMs);
        return value;
      });
    },
  };
}
