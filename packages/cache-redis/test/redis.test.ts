import { ErrorCode, isIntegrationError } from '@fraiseql/core';
import { checkService, describeCacheProvider, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisCache, type RedisCacheProvider } from '../src/index.ts';

const redis = await checkService('redis');
const decoder = new TextDecoder();

/** Records the name (and argument count) of every command the client sends, pipelined ones included. */
function recordCommands(client: Redis): { names: string[]; unlinkSizes: number[]; restore(): void } {
  const names: string[] = [];
  const unlinkSizes: number[] = [];
  const original = client.sendCommand;
  client.sendCommand = function (this: Redis, command, ...rest) {
    names.push(command.name.toLowerCase());
    if (command.name.toLowerCase() === 'unlink') unlinkSizes.push(command.args.length);
    if (command.name.toLowerCase() === 'keys') throw new Error('KEYS must never be sent');
    return original.call(this, command, ...rest);
  } as Redis['sendCommand'];
  return {
    names,
    unlinkSizes,
    restore: () => {
      client.sendCommand = original;
    },
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<unknown> {
  const err = await promise.then(
    (v) => expect.fail(`expected ${code}, resolved with ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  expect(isIntegrationError(err), String(err)).toBe(true);
  expect((err as { code: string }).code, String(err)).toBe(code);
  return err;
}

describe.skipIf(!redis.available)('redis cache (single node)', () => {
  describeCacheProvider('redis', ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createRedisCache({ url: redis.url, prefix, defaultTtlMs, maxValueBytes }),
  );

  describe('redis specifics', () => {
    let raw: Redis;
    const opened: RedisCacheProvider[] = [];
    const open = async (opts: Parameters<typeof createRedisCache>[0] = {}) => {
      const cache = await createRedisCache({ url: redis.url, prefix: `${uniqueName('cr')}:`, ...opts });
      opened.push(cache);
      return cache;
    };

    beforeAll(() => {
      raw = new Redis(redis.url, { lazyConnect: false });
    });

    afterAll(async () => {
      await Promise.all(opened.map((c) => c.close()));
      await raw.quit();
    });

    it('is named "redis" and stores keys under its prefix with a real PX TTL', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix, defaultTtlMs: 60_000 });
      expect(cache.name).toBe('redis');
      await cache.set('with-ttl', 'v', 5_000);
      await cache.set('default-ttl', 'v');
      const pttl = await raw.pttl(`${prefix}with-ttl`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5_000);
      const pttlDefault = await raw.pttl(`${prefix}default-ttl`);
      expect(pttlDefault).toBeGreaterThan(5_000);
      expect(pttlDefault).toBeLessThanOrEqual(60_000);
      expect(await raw.exists('with-ttl')).toBe(0);
      expect(await cache.deletePattern('*')).toBe(2);
    });

    it('uses "fraiseql:cache:" as the default prefix and a 1 hour default TTL', async () => {
      const cache = await createRedisCache({ url: redis.url });
      opened.push(cache);
      const key = uniqueName('default');
      try {
        await cache.set(key, 'v');
        const pttl = await raw.pttl(`fraiseql:cache:${key}`);
        expect(pttl).toBeGreaterThan(3_500_000);
        expect(pttl).toBeLessThanOrEqual(3_600_000);
      } finally {
        await raw.del(`fraiseql:cache:${key}`);
      }
    });

    it('returns plain Uint8Array values, not Buffers', async () => {
      const cache = await open();
      await cache.set('k', new Uint8Array([1, 2, 3]));
      const got = await cache.get('k');
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(got)).toBe(false);
      expect(Array.from(got!)).toEqual([1, 2, 3]);
    });

    it('incr is atomic under 50 concurrent calls and keeps the TTL of an existing key', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix });
      await cache.set('counter', '0', 30_000);
      const results = await Promise.all(Array.from({ length: 50 }, () => cache.incr('counter')));
      expect(new Set(results).size).toBe(50);
      expect(Math.max(...results)).toBe(50);
      expect(await raw.get(`${prefix}counter`)).toBe('50');
      const pttl = await raw.pttl(`${prefix}counter`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(30_000);
    });

    it('incr on a new key sets the default TTL in the same atomic step', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix, defaultTtlMs: 45_000 });
      const results = await Promise.all(Array.from({ length: 20 }, () => cache.incr('fresh', 2)));
      expect(Math.max(...results)).toBe(40);
      const pttl = await raw.pttl(`${prefix}fresh`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(45_000);
    });

    it('incr gives a key someone else stored without expiry the default TTL instead of keeping it forever', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix, defaultTtlMs: 45_000 });
      await raw.set(`${prefix}persistent`, '7');
      expect(await cache.ttl('persistent')).toBe(Number.POSITIVE_INFINITY);
      expect(await cache.incr('persistent')).toBe(8);
      const pttl = await raw.pttl(`${prefix}persistent`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(45_000);
    });

    it('incr refuses a result beyond a safe integer with IN202 and leaves the value unchanged', async () => {
      const cache = await open();
      await cache.set('big', String(Number.MAX_SAFE_INTEGER - 1));
      expect(await cache.incr('big')).toBe(Number.MAX_SAFE_INTEGER);
      await expectCode(cache.incr('big'), ErrorCode.CacheSerializationError);
      expect(decoder.decode((await cache.get('big'))!)).toBe(String(Number.MAX_SAFE_INTEGER));
    });

    it('deletePattern uses SCAN + UNLINK in batches (never KEYS) and handles more than 1000 matching keys', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix });
      const pipeline = raw.pipeline();
      for (let i = 0; i < 2500; i++) pipeline.set(`${prefix}bulk:${i}`, 'v', 'PX', 60_000);
      pipeline.set(`${prefix}other`, 'v', 'PX', 60_000);
      await pipeline.exec();
      const seen = recordCommands(cache.client as Redis);
      try {
        expect(await cache.deletePattern('bulk:*')).toBe(2500);
      } finally {
        seen.restore();
      }
      expect(seen.names).not.toContain('keys');
      expect(seen.names).toContain('scan');
      expect(seen.unlinkSizes.length).toBeGreaterThanOrEqual(3);
      for (const size of seen.unlinkSizes) expect(size).toBeLessThanOrEqual(1000);
      expect(await raw.exists(`${prefix}bulk:0`, `${prefix}bulk:2499`)).toBe(0);
      expect(await cache.exists('other')).toBe(true);
    });

    it('deletePattern counts only what UNLINK removed (a key gone meanwhile is not counted)', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix });
      await Promise.all(['a:1', 'a:2', 'a:3'].map((k) => cache.set(k, 'v')));
      const client = cache.client as Redis;
      const scan = client.scanBuffer;
      // Between SCAN and UNLINK another process deletes one of the keys SCAN just returned.
      client.scanBuffer = (async (...args: Parameters<Redis['scanBuffer']>) => {
        const page = await scan.apply(client, args);
        await raw.del(`${prefix}a:2`);
        return page;
      }) as Redis['scanBuffer'];
      try {
        expect(await cache.deletePattern('a:*')).toBe(2);
      } finally {
        client.scanBuffer = scan;
      }
      expect(await cache.exists('a:1')).toBe(false);
      expect(await cache.exists('a:3')).toBe(false);
    });

    it('treats Redis glob metacharacters ([ ] ^ \\) in keys, patterns and the prefix literally', async () => {
      const base = uniqueName('cr');
      // Unescaped, this prefix would be the Redis pattern "[pq]^\*?:" and match the sibling's keys.
      const special = await open({ prefix: `${base}:[pq]^\\*?:` });
      const sibling = await open({ prefix: `${base}:p^*x:` });
      const keys = ['a[b]c', 'abc', 'a^b', 'x[^y]', 'xz', 'back\\slash', 'backxslash'];
      for (const k of keys) await special.set(k, 'v');
      await sibling.set('abc', 'sibling');
      expect(await special.deletePattern('a[b]*')).toBe(1);
      expect(await special.exists('abc')).toBe(true);
      expect(await special.deletePattern('x[^y]')).toBe(1);
      expect(await special.exists('xz')).toBe(true);
      expect(await special.deletePattern('back\\\\*')).toBe(1);
      expect(await special.exists('backxslash')).toBe(true);
      expect(await special.deletePattern('*^*')).toBe(1);
      expect(await special.deletePattern('*')).toBe(3);
      expect(decoder.decode((await sibling.get('abc'))!)).toBe('sibling');
    });

    it('maps server errors to IN403 with the driver error as cause', async () => {
      const prefix = `${uniqueName('cr')}:`;
      const cache = await open({ prefix });
      await raw.lpush(`${prefix}list`, 'x');
      await raw.pexpire(`${prefix}list`, 60_000);
      const err = (await expectCode(cache.get('list'), ErrorCode.RedisError)) as Error & {
        provider?: string;
      };
      expect(err.provider).toBe('redis');
      expect(err.message).toMatch(/WRONGTYPE/);
      expect(err.cause).toBeInstanceOf(Error);
      await expectCode(cache.incr('list'), ErrorCode.RedisError);
    });

    it('works with a client you pass in, and close() leaves that client open', async () => {
      const client = new Redis(redis.url, { lazyConnect: true });
      try {
        const prefix = `${uniqueName('cr')}:`;
        // A lazy client is connected by the factory.
        const cache = await createRedisCache({ client, prefix });
        expect(cache.client).toBe(client);
        await cache.set('k', 'v', 10_000);
        expect(await client.get(`${prefix}k`)).toBe('v');
        expect(await cache.deletePattern('*')).toBe(1);
        await cache.close();
        expect(await client.ping()).toBe('PONG');
        expect(client.status).toBe('ready');
        await expectCode(cache.get('k'), ErrorCode.CacheConnectionFailed);
        expect(await cache.healthCheck()).toBe(false);
      } finally {
        await client.quit();
      }
    });

    it('respects the keyPrefix of a client you pass in, also in deletePattern', async () => {
      const outer = `${uniqueName('kp')}:`;
      const client = new Redis(redis.url, { keyPrefix: outer });
      try {
        const cache = await createRedisCache({ client, prefix: 'inner:' });
        await cache.set('a:1', 'v');
        await cache.set('b:1', 'v');
        expect(await raw.exists(`${outer}inner:a:1`)).toBe(1);
        expect(await cache.deletePattern('a:*')).toBe(1);
        expect(await raw.exists(`${outer}inner:a:1`)).toBe(0);
        expect(await cache.deletePattern('*')).toBe(1);
        await cache.close();
      } finally {
        await client.quit();
      }
    });

    it('rejects a client combined with url/cluster, and a closed client, with coded errors', async () => {
      const client = new Redis(redis.url, { lazyConnect: true });
      await expectCode(createRedisCache({ client, url: redis.url }), ErrorCode.InvalidConfiguration);
      client.disconnect();
      const closed = new Redis(redis.url);
      await closed.quit();
      await expectCode(createRedisCache({ client: closed }), ErrorCode.CacheConnectionFailed);
    });

    it('rejects bad options with IN002 and a bad URL without leaking its password', async () => {
      await expectCode(createRedisCache({ url: redis.url, scanCount: 0 }), ErrorCode.InvalidConfiguration);
      await expectCode(
        createRedisCache({ url: redis.url, healthCheckTimeoutMs: -1 }),
        ErrorCode.InvalidConfiguration,
      );
      await expectCode(
        createRedisCache({ url: redis.url, redisOptions: { keyPrefix: 'x:' } }),
        ErrorCode.InvalidConfiguration,
      );
      const err = (await expectCode(
        createRedisCache({ url: 'http://user:hunter22@127.0.0.1:6379' }),
        ErrorCode.InvalidConfiguration,
      )) as Error;
      expect(err.message).not.toContain('hunter22');
    });
  });
});
