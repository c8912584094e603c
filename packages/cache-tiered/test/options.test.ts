import { createMemoryCache } from '@fraiseql/cache-memory';
import { createRedisCache } from '@fraiseql/cache-redis';
import { ErrorCode } from '@fraiseql/core';
import { checkService, expectIntegrationError, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTieredCache, type TieredCacheOptions } from '../src/index.ts';

const redis = await checkService('redis');

describe('createTieredCache options', () => {
  const memory = () => createMemoryCache();

  it.each<[string, (l1: TieredCacheOptions['l1'], l2: TieredCacheOptions['l2']) => unknown]>([
    ['l1 that is not a provider', (_l1, l2) => ({ l1: {}, l2 })],
    ['the same provider twice', (l1) => ({ l1, l2: l1 })],
    ['l1TtlMs 0', (l1, l2) => ({ l1, l2, l1TtlMs: 0 })],
    ['graceMs -1', (l1, l2) => ({ l1, l2, graceMs: -1 })],
    ['an unknown bus', (l1, l2) => ({ l1, l2, bus: 'kafka' })],
    ['bus "redis" over a memory L2', (l1, l2) => ({ l1, l2, bus: 'redis' })],
    ['bus "postgresql" without sql', (l1, l2) => ({ l1, l2, bus: 'postgresql' })],
    ['a channel with spaces', (l1, l2) => ({ l1, l2, channel: 'a b' })],
  ])('refuses %s with IN002', async (_label, make) => {
    const opts = make(await memory(), await memory()) as TieredCacheOptions;
    await expectIntegrationError(() => createTieredCache(opts), ErrorCode.InvalidConfiguration);
  });

  it('without a bus, L1 serves reads and the metrics count hits per tier', async () => {
    const registry = new Registry();
    const l2 = await memory();
    const cache = await createTieredCache({ l1: await memory(), l2, registry });
    await cache.set('k', 'v', 60_000);
    await l2.set('k', 'changed behind L1', 60_000);
    // L1 answers: without a bus nobody told this process.
    expect(new TextDecoder().decode((await cache.get('k'))!)).toBe('v');
    await cache.get('absent');
    const text = await registry.metrics();
    expect(text).toMatch(/fraiseql_cache_tier_hits_total\{tier="l1"\} 1/);
    expect(text).toMatch(/fraiseql_cache_tier_misses_total\{tier="l2"\} 1/);
    expect((await cache.health()).bus).toBeNull();
    await cache.close();
  });
});

describe.skipIf(!redis.available)('tiered cache health', () => {
  it('reports both tiers and the bus', async () => {
    const prefix = `${uniqueName('th')}:`;
    const cache = await createTieredCache({
      l1: await createMemoryCache({ prefix }),
      l2: await createRedisCache({ url: redis.url, prefix }),
      bus: { redis: redis.url },
      channel: uniqueName('th'),
    });
    try {
      expect(await cache.healthCheck()).toBe(true);
      expect(await cache.health()).toEqual({
        healthy: true,
        l1: { name: 'memory', healthy: true },
        l2: { name: 'redis', healthy: true },
        bus: { kind: 'redis', connected: true, healthy: true },
      });
    } finally {
      await cache.close();
    }
  });
});
