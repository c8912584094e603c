import { createMemoryCache } from '@fraiseql/cache-memory';
import { createRedisCache } from '@fraiseql/cache-redis';
import { ErrorCode, isIntegrationError } from '@fraiseql/core';
import { servicesRequired, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { createTieredCache, type TieredCache } from '../src/index.ts';
import { eventually, sleep } from './procs.ts';

const installed = redisServerInstalled();
if (!installed && servicesRequired())
  throw new Error(
    'FRAISEQL_REQUIRE_SERVICES=1 but redis-server is not installed (the outage tests start their own)',
  );

/** What an unreachable L2 answers with (DESIGN §2: cache/network codes). */
const OUTAGE_CODES: string[] = [
  ErrorCode.CacheConnectionFailed,
  ErrorCode.ConnectionTimeout,
  ErrorCode.ConnectionRefused,
  ErrorCode.ProviderUnavailable,
  ErrorCode.RedisError,
];
const KEYS = Array.from({ length: 20 }, (_, i) => `item:${i}`);

interface Outcome {
  startedAt: number;
  endedAt: number;
  key: string;
  value?: unknown;
  code?: string;
  raw?: unknown;
}

/** Reads every key in a loop (8 at a time) until `stop()`, recording each outcome. */
function readLoop(cache: TieredCache) {
  const outcomes: Outcome[] = [];
  let running = true;
  const one = async (lane: number) => {
    for (let i = lane; running; i += 8) {
      const key = KEYS[i % KEYS.length]!;
      const startedAt = Date.now();
      try {
        const value = await cache.getJson(key);
        outcomes.push({ startedAt, endedAt: Date.now(), key, value });
      } catch (err) {
        outcomes.push({
          startedAt,
          endedAt: Date.now(),
          key,
          code: isIntegrationError(err) ? err.code : 'not an IntegrationError',
          raw: err,
        });
      }
      await sleep(2);
    }
  };
  const lanes = Array.from({ length: 8 }, (_, i) => one(i));
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
  };
}

describe.skipIf(!installed)('tiered cache when Redis (L2 and bus) is killed under load', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const open = async (graceMs: number) => {
    const prefix = `${uniqueName('to')}:`;
    const registry = new Registry();
    const cache = await createTieredCache({
      l1: await createMemoryCache({ prefix }),
      l2: await createRedisCache({ url: server.url, prefix, connectTimeoutMs: 500, commandTimeoutMs: 500 }),
      bus: 'redis',
      channel: uniqueName('to'),
      l1TtlMs: 1_000,
      graceMs,
      registry,
    });
    for (const [i, key] of KEYS.entries()) await cache.setJson(key, { i }, 60_000);
    return { cache, registry };
  };

  it('with grace: stale answers (the last values) and no errors within the grace, errors after it, never stale beyond it', async () => {
    const graceMs = 4_000;
    const { cache, registry } = await open(graceMs);
    try {
      const load = readLoop(cache);
      await sleep(300);
      const killedAt = Date.now();
      await server.kill();
      // Past every entry's freshness (≤ l1TtlMs after the kill) plus the grace, with a margin.
      await sleep(1_000 + graceMs + 1_500);
      await load.stop();

      const during = load.outcomes.filter((o) => o.startedAt >= killedAt);
      // Within the grace (before any entry could run out of it): every read answers, with the last value.
      const early = during.filter((o) => o.endedAt < killedAt + graceMs - 500);
      expect(early.length).toBeGreaterThan(0);
      for (const o of early) {
        expect(o.code, String(o.raw)).toBeUndefined();
        expect(o.value).toEqual({ i: KEYS.indexOf(o.key) });
      }
      // Never beyond the grace: a read that began after freshness + grace ran out cannot succeed.
      const late = during.filter((o) => o.startedAt > killedAt + 1_000 + graceMs);
      expect(late.length).toBeGreaterThan(0);
      for (const o of late) {
        expect(o.value, `stale value served at +${o.startedAt - killedAt} ms`).toBeUndefined();
        expect(OUTAGE_CODES, String(o.raw)).toContain(o.code);
      }
      const stale = (await registry.getSingleMetricAsString('fraiseql_cache_stale_served_total'))
        .split('\n')
        .find((l) => l.startsWith('fraiseql_cache_stale_served_total'));
      expect(Number(stale?.split(' ')[1])).toBeGreaterThan(0);
      // Writes fail with the contract's codes rather than hang.
      await expect(cache.set('w', 'v')).rejects.toSatisfy(
        (e: unknown) => isIntegrationError(e) && OUTAGE_CODES.includes(e.code),
      );

      // Back up: the bus resubscribes and L1 is trusted again.
      await server.start();
      await eventually('the bus is back', async () => (await cache.health()).bus?.connected === true, 20_000);
      // The restarted server is empty (nothing persisted): writes and reads work again.
      await eventually(
        'writes answer again',
        async () =>
          await cache.setJson('after', { back: true }).then(
            () => true,
            () => false,
          ),
        20_000,
      );
      expect(await cache.getJson('after')).toEqual({ back: true });
      expect((await cache.health()).healthy).toBe(true);
    } finally {
      await cache.close();
      if (!server.running) await server.start();
    }
  }, 60_000);

  it('without grace: reads fail with the contract codes, never a raw error or a hang', async () => {
    const { cache } = await open(0);
    try {
      const load = readLoop(cache);
      await sleep(300);
      const killedAt = Date.now();
      await server.kill();
      await sleep(1_500);
      await load.stop();
      const during = load.outcomes.filter((o) => o.startedAt > killedAt + 200);
      const failed = during.filter((o) => o.code !== undefined);
      expect(failed.length).toBeGreaterThan(0);
      for (const o of failed) expect(OUTAGE_CODES, String(o.raw)).toContain(o.code);
      // Once the bus loss is known, L1 is bypassed: nothing is served from it any more.
      const afterLoss = during.filter((o) => o.startedAt > killedAt + 1_000);
      expect(afterLoss.length).toBeGreaterThan(0);
      for (const o of afterLoss) expect(o.value).toBeUndefined();
      await server.start();
    } finally {
      await cache.close();
      if (!server.running) await server.start();
    }
  }, 60_000);
});
