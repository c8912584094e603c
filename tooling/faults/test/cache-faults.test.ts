import { createMemoryCache } from '@fraiseql/cache-memory';
import { createRedisCache } from '@fraiseql/cache-redis';
import { isIntegrationError, resilienceOf, withResilience } from '@fraiseql/core';
import { sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { redisServerInstalled, startRedisServer } from '../../redis-server';
import { record, SOAK } from './support/results';
import { MB, quantile, round } from './support/stats';

/**
 * Scenario 3 — the cache under faults: a Redis that dies (calls must fail fast with a code, not
 * hang on the command timeout), getOrSet while the cache is down (the loader must not be
 * stampeded), the same provider caching again once Redis is back, and the memory cache's byte
 * bound under a write storm.
 */

describe.skipIf(!redisServerInstalled())('cache faults: redis down', () => {
  it('fails fast with IN201/IN503, getOrSet degrades without a stampede, and recovers in place', async () => {
    const server = await startRedisServer();
    const raw = await createRedisCache({ url: server.url, prefix: `${uniqueName('faults_c')}:` });
    const cache = withResilience('cache', raw, {
      registry: new Registry(),
      resilience: { breaker: { threshold: 3, halfOpenAfterMs: 300, maxHalfOpenAfterMs: 1000 } },
    });
    const resilience = resilienceOf(cache)!;
    try {
      await cache.set('warm', 'up');
      expect(new TextDecoder().decode((await cache.get('warm'))!)).toBe('up');

      await server.kill();
      // 1. Plain calls while Redis is down: each one timed, each error's code counted.
      const latencies: number[] = [];
      const codes: Record<string, number> = {};
      const uncoded: unknown[] = [];
      for (let i = 0; i < 300; i++) {
        const start = performance.now();
        try {
          if (i % 3 === 0) await cache.set(`k${i}`, 'v');
          else if (i % 3 === 1) await cache.get(`k${i}`);
          else await cache.incr(`n${i}`);
          uncoded.push(new Error('a call succeeded while Redis was down'));
        } catch (err) {
          if (isIntegrationError(err)) codes[err.code] = (codes[err.code] ?? 0) + 1;
          else uncoded.push(err);
        }
        latencies.push(performance.now() - start);
      }

      // Without the wrapper (no breaker) the provider itself fails fast: its offline queue is off.
      const rawLatencies: number[] = [];
      const rawCodes: Record<string, number> = {};
      for (let i = 0; i < 50; i++) {
        const start = performance.now();
        try {
          await raw.get(`r${i}`);
          uncoded.push(new Error('a raw call succeeded while Redis was down'));
        } catch (err) {
          if (isIntegrationError(err)) rawCodes[err.code] = (rawCodes[err.code] ?? 0) + 1;
          else uncoded.push(err);
        }
        rawLatencies.push(performance.now() - start);
      }

      // 2. getOrSet while down: concurrent callers of one key share one load; no value is cached.
      let loads = 0;
      const loader = async () => {
        loads++;
        await sleep(50);
        return { at: 'source' };
      };
      const callers = 200;
      const keys = 10;
      const results = await Promise.all(
        Array.from({ length: callers }, (_, i) => cache.getOrSet(`hot${i % keys}`, loader)),
      );
      const loadsWhileDown = loads;

      // 3. Redis returns: the same provider object (never recreated) caches again.
      const upStart = Date.now();
      await server.start();
      await waitFor(
        async () => {
          try {
            await cache.set('probe', '1');
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        'the cache to accept writes again',
        50,
      );
      const recoverMs = Date.now() - upStart;
      loads = 0;
      await Promise.all(Array.from({ length: 50 }, () => cache.getOrSet('after', loader)));
      await cache.getOrSet('after', loader);
      const loadsAfter = loads;
      const breakerFinal = resilience.state;

      const codeText = Object.entries(codes)
        .map(([c, n]) => `${c}×${n}`)
        .join(' ');
      const p99 = quantile(latencies, 0.99);
      const rawP99 = quantile(rawLatencies, 0.99);
      const rawCodeText = Object.entries(rawCodes)
        .map(([c, n]) => `${c}×${n}`)
        .join(' ');
      record(
        'cache-faults',
        'redis-down',
        {
          calls: latencies.length,
          errorCodes: codeText,
          uncoded: uncoded.length,
          p50Ms: round(quantile(latencies, 0.5)),
          p99Ms: round(p99),
          maxMs: round(Math.max(...latencies)),
          unwrappedErrorCodes: rawCodeText,
          unwrappedP99Ms: round(rawP99),
          getOrSetCallers: callers,
          getOrSetKeys: keys,
          loaderRunsWhileDown: loadsWhileDown,
          loaderRunsAfterRecovery: loadsAfter,
          recoverS: round(recoverMs / 1000),
        },
        `${latencies.length} calls while down: ${codeText} (uncoded ${uncoded.length}), p99 ${round(p99, 1)} ms, ` +
          `max ${round(Math.max(...latencies), 1)} ms (without the breaker: ${rawCodeText}, p99 ${round(rawP99, 1)} ms); getOrSet: ${callers} callers on ${keys} keys ran the loader ` +
          `${loadsWhileDown}×; after restart caching again in ${round(recoverMs / 1000, 2)} s (loader ${loadsAfter}× for 51 calls)`,
      );

      expect(uncoded).toEqual([]);
      for (const code of Object.keys(codes)) expect(code).toMatch(/^IN(201|503)$/);
      expect(Object.keys(rawCodes)).toEqual(['IN201']);
      expect(rawP99).toBeLessThan(1000);
      expect(codes.IN503, 'the breaker opened and rejected calls').toBeGreaterThan(0);
      // Fail fast: far below the 5 s command timeout a queued command would wait.
      expect(p99).toBeLessThan(1000);
      expect(results.every((r) => r.at === 'source')).toBe(true);
      expect(loadsWhileDown).toBe(keys);
      expect(loadsAfter).toBe(1);
      expect(breakerFinal).toBe('closed');
    } finally {
      await cache.close();
      await server.stop();
    }
  }, 90_000);
});

describe('cache faults: memory cache write storm', () => {
  it('stays within its byte bound while writers hammer it', async () => {
    const bound = 4 * MB;
    const cache = await createMemoryCache({ maxSizeBytes: bound, maxEntries: 1_000_000 });
    const writes = SOAK ? 1_000_000 : 200_000;
    const keySpace = 50_000;
    let maxSeen = 0;
    let written = 0;
    let bytesOffered = 0;
    let rejected = 0;
    const before = process.memoryUsage().heapUsed;
    try {
      // Batches of concurrent writers: values from 0 B to 16 KiB (a few far larger), keys reused.
      for (let batch = 0; written < writes; batch++) {
        await Promise.all(
          Array.from({ length: 500 }, async (_, i) => {
            const big = (batch * 500 + i) % 997 === 0;
            const size = big ? 5 * MB : Math.floor(Math.random() * 16 * 1024);
            bytesOffered += size;
            try {
              await cache.set(`k${Math.floor(Math.random() * keySpace)}`, new Uint8Array(size));
            } catch (err) {
              if (!isIntegrationError(err)) throw err;
              rejected++;
            }
          }),
        );
        written += 500;
        maxSeen = Math.max(maxSeen, cache.sizeBytes);
      }
      const heapGrowth = process.memoryUsage().heapUsed - before;
      record(
        'cache-faults',
        'memory-write-storm',
        {
          writes: written,
          offeredMB: round(bytesOffered / MB, 1),
          boundMB: bound / MB,
          maxAccountedMB: round(maxSeen / MB, 3),
          rejectedOversize: rejected,
          heapGrowthMB: round(heapGrowth / MB, 1),
        },
        `${written} writes (${round(bytesOffered / MB, 0)} MB offered): accounted size peaked at ` +
          `${round(maxSeen / MB, 2)} MB of a ${bound / MB} MB bound, ${rejected} oversized values refused, ` +
          `heap ${heapGrowth >= 0 ? '+' : ''}${round(heapGrowth / MB, 1)} MB`,
      );
      expect(maxSeen).toBeLessThanOrEqual(bound);
      expect(maxSeen).toBeGreaterThan(bound / 2);
      // A single value larger than the whole bound is refused (IN203), not stored by evicting everything.
      expect(rejected).toBeGreaterThan(0);
      expect(rejected).toBeLessThan(written / 100);
      // Memory stays of the order of the bound, not of what was offered (GB).
      expect(heapGrowth).toBeLessThan(200 * MB);
    } finally {
      await cache.close();
    }
  }, 120_000);
});
