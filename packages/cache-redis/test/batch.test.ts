import { ErrorCode, type IntegrationError, isIntegrationError } from '@fraiseql/core';
import { checkService, servicesRequired, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { createRedisCache, type RedisCacheProvider } from '../src/index.ts';

const redis = await checkService('redis');
const installed = redisServerInstalled();
if (!installed && servicesRequired())
  throw new Error('FRAISEQL_REQUIRE_SERVICES=1 but redis-server is not installed');

const decoder = new TextDecoder();
const text = (v: Uint8Array | null) => (v === null ? null : decoder.decode(v));

/** Records the lower-case name of every command the client sends, auto-pipelined ones included. */
function recordCommands(cache: RedisCacheProvider): string[] {
  const sent: string[] = [];
  const client = cache.client as unknown as { sendCommand: (c: { name: string }) => unknown };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (c) => {
    sent.push(c.name.toLowerCase());
    return send(c);
  };
  return sent;
}

async function expectCode(promise: Promise<unknown>, codes: string[]): Promise<IntegrationError> {
  const err = await promise.then(
    (v) => expect.fail(`expected one of ${codes.join()}, resolved with ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  expect(isIntegrationError(err), String(err)).toBe(true);
  expect(codes, String(err)).toContain((err as IntegrationError).code);
  return err as IntegrationError;
}

describe.skipIf(!redis.available)('redis cache: gets of one tick share one MGET', () => {
  it('answers every concurrent get with its own value (hits, misses, expired) from one MGET', async () => {
    const cache = await createRedisCache({ url: redis.url, prefix: `${uniqueName('mget')}:` });
    try {
      for (let i = 0; i < 100; i += 2) await cache.set(`k${i}`, `v${i}`);
      await cache.set('short', 'gone', 1);
      await new Promise((r) => setTimeout(r, 20));
      const sent = recordCommands(cache);
      const keys = [...Array.from({ length: 100 }, (_, i) => `k${i}`), 'short'];
      const values = await Promise.all(keys.map((k) => cache.get(k)));
      expect(values.map(text)).toEqual([
        ...Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `v${i}` : null)),
        null,
      ]);
      expect(sent.filter((n) => n === 'mget')).toHaveLength(1);
      expect(sent.filter((n) => n === 'get')).toHaveLength(0);
      // A lone get is still a plain GET.
      sent.length = 0;
      expect(text(await cache.get('k0'))).toBe('v0');
      expect(sent).toEqual(['get']);
    } finally {
      await cache.close();
    }
  });
});

describe.skipIf(!redis.available)(
  'redis cache: sets of one tick share one script call, in issue order',
  () => {
    let raw: Redis;
    const opened: RedisCacheProvider[] = [];
    const open = async (opts: Parameters<typeof createRedisCache>[0] = {}) => {
      const prefix = `${uniqueName('sb')}:`;
      const cache = await createRedisCache({ url: redis.url, prefix, ...opts });
      opened.push(cache);
      return { cache, prefix };
    };
    /** Other sets in the same tick, so the set under test really is part of a batch. */
    const filler = (cache: RedisCacheProvider, n = 20) =>
      Array.from({ length: n }, (_, i) => cache.set(`filler:${i}`, `f${i}`));

    beforeAll(() => {
      raw = new Redis(redis.url);
    });

    afterAll(async () => {
      // Some tests close their provider: cleaning up after those is best effort.
      await Promise.all(
        opened.map((c) =>
          c
            .deletePattern('*')
            .catch(() => 0)
            .then(() => c.close()),
        ),
      );
      await raw.quit();
    });

    it('sends the sets of one tick as one EVAL and a lone set as a plain SET', async () => {
      const { cache, prefix } = await open();
      const sent = recordCommands(cache);
      await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`k${i}`, `v${i}`, 10_000 + i)));
      expect(sent).toEqual(['eval']);
      expect(await raw.mget(...Array.from({ length: 50 }, (_, i) => `${prefix}k${i}`))).toEqual(
        Array.from({ length: 50 }, (_, i) => `v${i}`),
      );
      sent.length = 0;
      await cache.set('alone', 'v');
      expect(sent).toEqual(['set']);
      sent.length = 0;
      await Promise.all([cache.setJson('j1', { a: 1 }), cache.setJson('j2', [2]), cache.set('s', 's')]);
      expect(sent).toEqual(['eval']);
      expect(await cache.getJson('j1')).toEqual({ a: 1 });
      expect(await cache.getJson('j2')).toEqual([2]);
    });

    it('set then delete in one tick leaves the key absent; delete then set leaves it present', async () => {
      const { cache, prefix } = await open();
      await cache.set('b', 'old');
      const sent = recordCommands(cache);
      const [, , deletedA] = await Promise.all([
        Promise.all(filler(cache)),
        cache.set('a', 'v'),
        cache.delete('a'),
      ]);
      expect(deletedA).toBe(true);
      expect(sent).toEqual(['eval', 'unlink']);
      expect(await raw.exists(`${prefix}a`)).toBe(0);
      expect(await cache.get('a')).toBeNull();

      const [deletedB] = await Promise.all([cache.delete('b'), cache.set('b', 'new'), ...filler(cache)]);
      expect(deletedB).toBe(true);
      expect(await raw.get(`${prefix}b`)).toBe('new');
    });

    it('get, set, get of one key in one tick answer null, then the new value', async () => {
      const { cache } = await open();
      const [before, , after] = await Promise.all([
        cache.get('k'),
        cache.set('k', 'new'),
        cache.get('k'),
        ...filler(cache),
      ]);
      expect(text(before)).toBeNull();
      expect(text(after)).toBe('new');
      // Runs of the same kind still share one command: gets, sets, gets.
      const sent = recordCommands(cache);
      const results = await Promise.all([
        cache.get('k'),
        cache.get('filler:1'),
        cache.set('k', 'newer'),
        cache.set('filler:1', 'x'),
        cache.get('k'),
        cache.get('filler:1'),
      ]);
      expect(results.map((r) => (r === undefined ? undefined : text(r)))).toEqual([
        'new',
        'f1',
        undefined,
        undefined,
        'newer',
        'x',
      ]);
      expect(sent).toEqual(['mget', 'eval', 'mget']);
    });

    it('incr after a set in one tick sees the value set; a non-integer value is IN202', async () => {
      const { cache } = await open();
      const [, n] = await Promise.all([cache.set('n', '41'), cache.incr('n'), ...filler(cache)]);
      expect(n).toBe(42);
      const results = await Promise.allSettled([cache.set('n', 'abc'), cache.incr('n'), ...filler(cache)]);
      expect(results[0]!.status).toBe('fulfilled');
      const err = (results[1] as PromiseRejectedResult).reason;
      expect(isIntegrationError(err), String(err)).toBe(true);
      expect(err.code).toBe(ErrorCode.CacheSerializationError);
      expect(text(await cache.get('n'))).toBe('abc');
    });

    it('expire, ttl and exists after a set in one tick see the new entry', async () => {
      const { cache, prefix } = await open();
      const [, expired, ttl, exists] = await Promise.all([
        cache.set('e', 'v', 600_000),
        cache.expire('e', 5_000),
        cache.ttl('e'),
        cache.exists('e'),
        ...filler(cache),
      ]);
      expect(expired).toBe(true);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
      expect(exists).toBe(true);
      const pttl = await raw.pttl(`${prefix}e`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5_000);
      // And the other way round: the later set wins over the earlier expire.
      await Promise.all([cache.expire('e', 1_000), cache.set('e', 'v2', 600_000), ...filler(cache)]);
      expect(await raw.pttl(`${prefix}e`)).toBeGreaterThan(500_000);
    });

    it('deletePattern after sets in one tick removes them', async () => {
      const { cache, prefix } = await open();
      const [, , deleted] = await Promise.all([
        Promise.all(Array.from({ length: 30 }, (_, i) => cache.set(`p:${i}`, 'v'))),
        cache.set('keep', 'v'),
        cache.deletePattern('p:*'),
      ]);
      expect(deleted).toBe(30);
      expect(await raw.exists(`${prefix}p:0`)).toBe(0);
      expect(await raw.exists(`${prefix}keep`)).toBe(1);
    });

    it('2,000 concurrent sets with their own TTLs, some larger than 64 KiB, all land with their own value and TTL', async () => {
      const { cache, prefix } = await open();
      const sent = recordCommands(cache);
      const n = 2_000;
      const ttlOf = (i: number) => 60_000 + i * 1_000;
      const big = (i: number) => i % 97 === 0;
      const bytesOf = (i: number) =>
        big(i) ? Buffer.alloc(70 * 1024 + i, i % 251) : Buffer.from(`value-${i}-${'x'.repeat(i % 300)}`);
      const started = Date.now();
      await Promise.all(Array.from({ length: n }, (_, i) => cache.set(`m:${i}`, bytesOf(i), ttlOf(i))));
      const elapsed = Date.now() - started;

      const pipe = raw.pipeline();
      for (let i = 0; i < n; i++) pipe.getBuffer(`${prefix}m:${i}`).pttl(`${prefix}m:${i}`);
      const replies = (await pipe.exec())!;
      for (let i = 0; i < n; i++) {
        const [errV, stored] = replies[2 * i]!;
        const [errT, pttl] = replies[2 * i + 1]!;
        expect(errV).toBeNull();
        expect(errT).toBeNull();
        expect(Buffer.compare(stored as Buffer, bytesOf(i)), `value of m:${i}`).toBe(0);
        expect(pttl as number, `PTTL of m:${i}`).toBeLessThanOrEqual(ttlOf(i));
        expect(pttl as number, `PTTL of m:${i}`).toBeGreaterThan(ttlOf(i) - elapsed - 5_000);
      }
      const bigCount = Array.from({ length: n }, (_, i) => i).filter(big).length;
      // Large values go out alone; the rest in script calls of at most 500 keys.
      expect(sent.filter((c) => c === 'set')).toHaveLength(bigCount);
      expect(sent.filter((c) => c === 'eval').length).toBeGreaterThanOrEqual(Math.ceil((n - bigCount) / 500));
      expect(sent.filter((c) => c === 'eval').length).toBeLessThan(bigCount + 10);
    });

    it('splits a batch at ~1 MiB of payload', async () => {
      const { cache, prefix } = await open();
      const sent = recordCommands(cache);
      // 40 values of 60 KiB = 2.3 MiB: at least three script calls.
      const value = (i: number) => Buffer.alloc(60 * 1024, i);
      await Promise.all(Array.from({ length: 40 }, (_, i) => cache.set(`big:${i}`, value(i))));
      expect(sent.every((c) => c === 'eval')).toBe(true);
      expect(sent.length).toBeGreaterThanOrEqual(3);
      const stored = await raw.mgetBuffer(...Array.from({ length: 40 }, (_, i) => `${prefix}big:${i}`));
      for (const [i, b] of stored.entries()) expect(Buffer.compare(b!, value(i))).toBe(0);
    });

    it('a large value keeps its place in the order: set(big) then delete in one tick leaves nothing', async () => {
      const { cache, prefix } = await open();
      const big = Buffer.alloc(200 * 1024, 7);
      await Promise.all([
        cache.set('x', 'small'),
        cache.set('big', big),
        cache.set('x', 'last'),
        cache.delete('big'),
      ]);
      expect(await raw.exists(`${prefix}big`)).toBe(0);
      expect(await raw.get(`${prefix}x`)).toBe('last');
    });

    it('stores the bytes of set() time, even when the caller mutates its buffer before the batch goes out', async () => {
      const { cache } = await open();
      const bufs = Array.from({ length: 10 }, (_, i) => new Uint8Array([i, i, i]));
      const writes = bufs.map((b, i) => cache.set(`buf:${i}`, b));
      for (const b of bufs) b.fill(255);
      await Promise.all(writes);
      const got = await Promise.all(bufs.map((_, i) => cache.get(`buf:${i}`)));
      expect(got.map((g) => Array.from(g!))).toEqual(bufs.map((_, i) => [i, i, i]));
    });

    it('batches under the keyPrefix of a client you pass in', async () => {
      const outer = `${uniqueName('kp')}:`;
      const client = new Redis(redis.url, { keyPrefix: outer, enableAutoPipelining: true });
      try {
        const cache = await createRedisCache({ client, prefix: 'inner:' });
        await Promise.all(Array.from({ length: 10 }, (_, i) => cache.set(`k${i}`, `v${i}`)));
        expect(await raw.get(`${outer}inner:k3`)).toBe('v3');
        expect(await cache.deletePattern('*')).toBe(10);
        await cache.close();
      } finally {
        await client.quit();
      }
    });

    it('gets and sets issued just before close() still complete; calls after close() reject with IN201', async () => {
      const { cache, prefix } = await open();
      await cache.set('pre', 'p');
      await cache.set('gone', 'g');
      const results = await Promise.allSettled([
        cache.set('a', '1'),
        cache.set('b', '2'),
        cache.get('pre'),
        cache.delete('gone'),
        cache.incr('n'),
        cache.close(),
      ]);
      expect(results.map((r) => r.status)).toEqual(Array(6).fill('fulfilled'));
      expect(text((results[2] as PromiseFulfilledResult<Uint8Array | null>).value)).toBe('p');
      expect((results[3] as PromiseFulfilledResult<boolean>).value).toBe(true);
      expect((results[4] as PromiseFulfilledResult<number>).value).toBe(1);
      expect(await raw.exists(`${prefix}gone`)).toBe(0);
      expect(await raw.mget(`${prefix}a`, `${prefix}b`)).toEqual(['1', '2']);
      await expectCode(cache.set('c', '3'), [ErrorCode.CacheConnectionFailed]);
      await raw.del(`${prefix}a`, `${prefix}b`, `${prefix}pre`, `${prefix}n`);
    });
  },
);

describe.skipIf(!installed)('redis cache: batched sets on a Redis of their own', () => {
  let server: RedisServer;
  const CONNECTION_CODES: string[] = [
    ErrorCode.CacheConnectionFailed,
    ErrorCode.ConnectionTimeout,
    ErrorCode.ConnectionRefused,
    ErrorCode.ProviderUnavailable,
  ];

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('keep working, and in order, right after SCRIPT FLUSH', async () => {
    const cache = await createRedisCache({ url: server.url, prefix: `${uniqueName('flush')}:` });
    const raw = new Redis(server.url);
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => cache.set(`k${i}`, 'v')));
      for (let round = 0; round < 3; round++) {
        await raw.script('FLUSH');
        const [, , deleted] = await Promise.all([
          Promise.all(Array.from({ length: 10 }, (_, i) => cache.set(`k${i}`, `r${round}`))),
          cache.set('gone', 'v'),
          cache.delete('gone'),
        ]);
        expect(deleted).toBe(true);
        expect(await cache.exists('gone')).toBe(false);
        expect(text(await cache.get('k9'))).toBe(`r${round}`);
      }
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('incr then delete in one tick, right after SCRIPT FLUSH, leaves no key behind', async () => {
    const cache = await createRedisCache({ url: server.url, prefix: `${uniqueName('incrflush')}:` });
    const raw = new Redis(server.url);
    try {
      for (let round = 0; round < 3; round++) {
        await raw.script('FLUSH');
        const [value, deleted] = await Promise.all([cache.incr('n', 5), cache.delete('n')]);
        expect(value).toBe(5);
        expect(deleted).toBe(true);
        expect(await cache.exists('n')).toBe(false);
      }
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('a batch against a dead connection rejects every waiter with a coded error, then heals', async () => {
    const cache = await createRedisCache({
      url: server.url,
      prefix: `${uniqueName('deadb')}:`,
      maxReconnectDelayMs: 200,
    });
    try {
      await cache.set('k', 'v');
      await server.kill();
      const results = await Promise.allSettled([
        ...Array.from({ length: 50 }, (_, i) => cache.set(`k${i}`, `v${i}`)),
        cache.setJson('j', { a: 1 }),
        ...Array.from({ length: 10 }, (_, i) => cache.get(`k${i}`)),
      ]);
      for (const [i, r] of results.entries()) {
        expect(r.status, `call ${i}`).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason as IntegrationError;
        expect(isIntegrationError(err), String(err)).toBe(true);
        expect(CONNECTION_CODES, String(err)).toContain(err.code);
        expect(err.provider).toBe('redis');
      }
      const first = (results[3] as PromiseRejectedResult).reason as IntegrationError;
      expect(first.message).toContain('SET "k3" failed');

      await server.start();
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await Promise.all(
          Array.from({ length: 20 }, (_, i) => cache.set(`k${i}`, `back${i}`)),
        ).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) expect.fail('the provider did not reconnect');
        await new Promise((r) => setTimeout(r, 100));
      }
      // A restarted server has an empty script cache: the batch must still work.
      expect(text(await cache.get('k19'))).toBe('back19');
    } finally {
      await cache.close();
      server.resume();
      if (!server.running) await server.start();
    }
  });

  it('a batch whose server stops answering rejects every waiter with IN500', async () => {
    const cache = await createRedisCache({
      url: server.url,
      prefix: `${uniqueName('hungb')}:`,
      commandTimeoutMs: 400,
    });
    try {
      await cache.set('k', 'v');
      server.pause();
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => cache.set(`k${i}`, `v${i}`)),
      );
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as IntegrationError).code).toBe(
          ErrorCode.ConnectionTimeout,
        );
      }
    } finally {
      server.resume();
      await cache.close();
    }
  });
});
