import { describeCacheProvider, servicesRequired, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RedisCluster,
  redisClusterAvailable,
  startRedisCluster,
} from '../../../tooling/redis-cluster.ts';
import { createRedisCache, type RedisCacheProvider } from '../src/index.ts';

const available = redisClusterAvailable();
if (!available) {
  const line = 'redis-server / redis-cli are not installed, so no throwaway Redis Cluster can be started';
  if (servicesRequired()) throw new Error(`FRAISEQL_REQUIRE_SERVICES=1 but ${line}`);
  console.warn(
    `\n!!! SKIPPING REDIS CLUSTER SUITES: ${line}. Set FRAISEQL_REQUIRE_SERVICES=1 to make this fail.\n`,
  );
}

/** Keys under `prefix` on one node, found with SCAN on that node alone. */
async function keysOn(node: string, prefix: string): Promise<string[]> {
  const [host, port] = node.split(':');
  const client = new Redis({ host, port: Number(port), lazyConnect: true });
  try {
    await client.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...page);
    } while (cursor !== '0');
    return keys;
  } finally {
    client.disconnect();
  }
}

describe.skipIf(!available)('redis cache on a Redis Cluster', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  describeCacheProvider('redis-cluster', ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createRedisCache({ cluster: { nodes: cluster.nodes }, prefix, defaultTtlMs, maxValueBytes }),
  );

  describe('cluster specifics', () => {
    const opened: RedisCacheProvider[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((c) => c.close()));
    });

    it('spreads keys over every master and deletePattern removes the matching ones on all of them', async () => {
      const prefix = `${uniqueName('cl')}:`;
      const cache = await createRedisCache({ cluster: { nodes: cluster.nodes }, prefix });
      opened.push(cache);
      expect(cache.isCluster).toBe(true);
      const keys = Array.from({ length: 60 }, (_, i) => `user:${i}`);
      await Promise.all(keys.map((k) => cache.set(k, 'v')));
      await Promise.all(Array.from({ length: 30 }, (_, i) => cache.set(`keep:${i}`, 'v')));

      const before = await Promise.all(cluster.nodes.map((n) => keysOn(n, `${prefix}user:`)));
      // With 60 keys hashed over 16384 slots, a master without one is a ~1e-10 event.
      for (const [i, found] of before.entries()) expect(found.length, cluster.nodes[i]).toBeGreaterThan(0);
      expect(before.flat().length).toBe(60);

      expect(await cache.deletePattern('user:*')).toBe(60);
      const after = await Promise.all(cluster.nodes.map((n) => keysOn(n, `${prefix}user:`)));
      expect(after.flat()).toEqual([]);
      const kept = await Promise.all(cluster.nodes.map((n) => keysOn(n, `${prefix}keep:`)));
      expect(kept.flat().length).toBe(30);
      expect(await cache.deletePattern('*')).toBe(30);
    });

    it('deletePattern with `?` and more keys than one SCAN page works across masters', async () => {
      const prefix = `${uniqueName('cl')}:`;
      const cache = await createRedisCache({ cluster: { nodes: cluster.nodes }, prefix, scanCount: 50 });
      opened.push(cache);
      const keys = Array.from({ length: 400 }, (_, i) => `n:${i}`);
      await Promise.all(keys.map((k) => cache.set(k, 'v')));
      await cache.set('n:é', 'v');
      // `n:?` = n:0 … n:9 and n:é (one character, two bytes).
      expect(await cache.deletePattern('n:?')).toBe(11);
      expect(await cache.deletePattern('n:*')).toBe(390);
    });

    it('keeps one command per key for the sets of one tick, in issue order', async () => {
      const prefix = `${uniqueName('cl')}:`;
      const cache = await createRedisCache({ cluster: { nodes: cluster.nodes }, prefix });
      opened.push(cache);
      const sets = Array.from({ length: 40 }, (_, i) => cache.set(`s:${i}`, `v${i}`, 60_000 + i));
      const [, , deleted, after] = await Promise.all([
        Promise.all(sets),
        cache.set('gone', 'v'),
        cache.delete('gone'),
        cache.get('s:7'),
      ]);
      expect(deleted).toBe(true);
      expect(await cache.exists('gone')).toBe(false);
      expect(after).not.toBeNull();
      expect(new TextDecoder().decode(after!)).toBe('v7');
      const ttl = await cache.ttl('s:39');
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_039);
      expect(await cache.deletePattern('*')).toBe(40);
    });

    it('accepts `cluster: true` with a url as the seed node', async () => {
      const prefix = `${uniqueName('cl')}:`;
      const cache = await createRedisCache({ url: `redis://${cluster.nodes[1]}`, cluster: true, prefix });
      opened.push(cache);
      expect(cache.isCluster).toBe(true);
      expect(await cache.healthCheck()).toBe(true);
      expect(await cache.incr('c', 5)).toBe(5);
      expect(await cache.deletePattern('*')).toBe(1);
    });
  });
});
