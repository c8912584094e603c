import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, type IntegrationError, isIntegrationError } from '@fraiseql/core';
import { servicesRequired, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { createRedisCache, type RedisCacheProvider } from '../src/index.ts';

const installed = redisServerInstalled();
if (!installed) {
  const line = 'redis-server is not installed, so the outage tests cannot start a Redis of their own';
  if (servicesRequired()) throw new Error(`FRAISEQL_REQUIRE_SERVICES=1 but ${line}`);
  console.warn(
    `\n!!! SKIPPING REDIS OUTAGE SUITE: ${line}. Set FRAISEQL_REQUIRE_SERVICES=1 to make this fail.\n`,
  );
}

const CONNECTION_CODES: string[] = [
  ErrorCode.CacheConnectionFailed,
  ErrorCode.ConnectionTimeout,
  ErrorCode.ConnectionRefused,
  ErrorCode.ProviderUnavailable,
];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fails the test instead of hanging it when `promise` does not settle within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** Expects `promise` to reject (within `ms`) with an IntegrationError whose code is one of `codes`. */
async function expectCoded(promise: Promise<unknown>, what: string, codes = CONNECTION_CODES, ms = 4_000) {
  const err = await within(promise, ms, what).then(
    (v) => expect.fail(`${what} resolved with ${JSON.stringify(v)} while Redis was unreachable`),
    (e: unknown) => e,
  );
  expect(isIntegrationError(err), `${what}: ${String(err)}`).toBe(true);
  expect(codes, `${what}: ${String(err)}`).toContain((err as IntegrationError).code);
  return err as IntegrationError;
}

/** Polls `check` until true; fails after `timeoutMs`. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!installed)('redis cache when the server goes away', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Each test leaves a running, answering server behind for the next. */
  async function ensureRunning(): Promise<void> {
    server.resume();
    if (!server.running) await server.start();
  }

  it('rejects every call with a coded error while Redis is down, then the same provider heals by itself', async () => {
    const cache = await createRedisCache({
      url: server.url,
      prefix: `${uniqueName('down')}:`,
      healthCheckTimeoutMs: 1_000,
      maxReconnectDelayMs: 300,
    });
    try {
      await cache.set('k', 'v');
      expect(await cache.incr('n')).toBe(1);
      expect(await cache.healthCheck()).toBe(true);

      await server.kill();
      await expectCoded(cache.get('k'), 'get');
      await expectCoded(cache.set('k', 'v2'), 'set');
      await expectCoded(cache.setJson('j', { a: 1 }), 'setJson');
      await expectCoded(cache.exists('k'), 'exists');
      await expectCoded(cache.ttl('k'), 'ttl');
      await expectCoded(cache.expire('k', 1_000), 'expire');
      await expectCoded(cache.delete('k'), 'delete');
      await expectCoded(cache.incr('n'), 'incr');
      await expectCoded(cache.deletePattern('*'), 'deletePattern');
      await expectCoded(
        cache.getOrSet('g', async () => 1),
        'getOrSet',
      );
      const err = await expectCoded(cache.get('k'), 'get');
      expect(err.provider).toBe('redis');
      expect(err.isTransient).toBe(true);
      expect(await within(cache.healthCheck(), 4_000, 'healthCheck')).toBe(false);

      await server.start();
      await eventually('the provider reconnected', async () => {
        await cache.set('after', 'restart');
        return true;
      });
      expect(await within(cache.healthCheck(), 4_000, 'healthCheck')).toBe(true);
      expect(new TextDecoder().decode((await cache.get('after'))!)).toBe('restart');
      // The restarted server has an empty script cache: incr must reload its script.
      expect(await cache.incr('n')).toBe(1);
      expect(await cache.deletePattern('*')).toBe(2);
    } finally {
      await cache.close();
      await ensureRunning();
    }
  });

  it('a hung server makes commands time out with IN500 and healthCheck answer false within its timeout', async () => {
    const cache = await createRedisCache({
      url: server.url,
      prefix: `${uniqueName('hung')}:`,
      commandTimeoutMs: 500,
      healthCheckTimeoutMs: 500,
    });
    try {
      await cache.set('k', 'v');
      server.pause();
      await expectCoded(cache.get('k'), 'get', [ErrorCode.ConnectionTimeout]);
      expect(await within(cache.healthCheck(), 4_000, 'healthCheck')).toBe(false);
      server.resume();
      await eventually('the server answers again', () => cache.healthCheck());
      expect(new TextDecoder().decode((await cache.get('k'))!)).toBe('v');
    } finally {
      server.resume();
      await cache.close();
      await ensureRunning();
    }
  });

  it('healthCheck is bounded even for a passed-in client that queues commands while disconnected', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    client.on('error', () => {});
    let cache: RedisCacheProvider | undefined;
    try {
      cache = await createRedisCache({ client, prefix: `${uniqueName('own')}:`, healthCheckTimeoutMs: 300 });
      expect(await cache.healthCheck()).toBe(true);
      await server.kill();
      expect(await within(cache.healthCheck(), 4_000, 'healthCheck')).toBe(false);
      await server.start();
      await eventually('the caller-owned client reconnected', () => cache!.healthCheck());
    } finally {
      await cache?.close();
      client.disconnect();
      await ensureRunning();
    }
  });

  it('a factory pointed at a dead port fails quickly with a coded error that does not contain the password', async () => {
    const err = await expectCoded(
      createRedisCache({ url: 'redis://:sekret@127.0.0.1:1' }),
      'createRedisCache',
    );
    expect(err.code).toBe(ErrorCode.ConnectionRefused);
    expect(err.message).toContain('127.0.0.1:1');
    const everything = `${err.message} ${JSON.stringify(err.toJSON())} ${err.stack} ${String(err.cause)}`;
    expect(everything).not.toContain('sekret');
  });

  it('a cluster factory whose seeds are all dead fails with a coded error too', async () => {
    const err = await expectCoded(
      createRedisCache({ cluster: { nodes: ['redis://:sekret@127.0.0.1:1'] } }),
      'createRedisCache(cluster)',
      CONNECTION_CODES,
      8_000,
    );
    expect(`${err.message} ${JSON.stringify(err.toJSON())}`).not.toContain('sekret');
  });

  describe('a server that accepts connections but never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    let port = 0;

    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as { port: number }).port;
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('fails the factory with IN500 instead of hanging', async () => {
      const err = await expectCoded(
        createRedisCache({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }),
        'createRedisCache',
        [ErrorCode.ConnectionTimeout],
        6_000,
      );
      expect(err.message).toContain(`127.0.0.1:${port}`);
    });
  });
});
