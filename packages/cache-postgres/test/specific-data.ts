import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { uniqueName } from '@fraiseql/testkit';
import { describe, expect, it, vi } from 'vitest';
import { createPostgresCache, type PostgresCacheOptions } from '../src/index.ts';
import { type BackendEnv, cacheFixture, countingClient } from './fixture.ts';
import { eventually, expectCode, text } from './helpers.ts';

/** Backend-specific tests of the Postgres cache (pruning, values, counters, TTLs). */
export function postgresCacheDataTests(label: string, env: () => BackendEnv): void {
  describe(`${label}: postgres cache specifics`, () => {
    const { open, track, rows, insertExpired } = cacheFixture(env);

    describe('pruning', () => {
      it('prune() deletes expired rows in bounded batches and leaves live ones', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('prune')}`;
        const prefix = `${uniqueName('pc')}:`;
        const cache = await open({ table, prefix, pruneBatchSize: 10 });
        await cache.set('live1', 'v');
        await cache.set('live2', 'v', 60_000);
        await insertExpired(table, `${prefix}dead:`, 25);
        expect(await cache.prune()).toBe(10);
        expect(await cache.prune()).toBe(10);
        expect(await cache.prune(3)).toBe(3);
        expect(await cache.prune()).toBe(2);
        expect(await cache.prune()).toBe(0);
        expect((await rows(table, prefix)).map((r) => r.key)).toEqual([`${prefix}live1`, `${prefix}live2`]);
      });

      it('prune() also clears expired rows of other prefixes in the same table (they are invisible to all)', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('prune')}`;
        const cache = await open({ table });
        await insertExpired(table, 'someone-else:', 4);
        expect(await cache.prune()).toBe(4);
      });

      it('prune rejects a limit that is not a positive integer', async () => {
        const cache = await open();
        for (const bad of [0, -1, 1.5, Number.NaN]) {
          await expectCode(() => cache.prune(bad), ErrorCode.InvalidConfiguration);
        }
      });

      it('the background sweep removes expired rows by itself', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('sweep')}`;
        const prefix = `${uniqueName('pc')}:`;
        await open({ table, prefix }); // creates the table
        await insertExpired(table, prefix, 35);
        await open({ table, prefix, pruneIntervalMs: 50, pruneBatchSize: 10, pruneMaxBatches: 2 });
        await eventually(
          'every expired row was pruned',
          async () => (await rows(table, prefix)).length === 0,
        );
      });

      it('one sweep deletes at most pruneBatchSize × pruneMaxBatches rows', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('sweep')}`;
        const prefix = `${uniqueName('pc')}:`;
        await open({ table, prefix });
        await insertExpired(table, prefix, 35);
        // Only the provider's interval is faked: the database and the polling below run on real time.
        vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
        try {
          const cache = await open({
            table,
            prefix,
            pruneIntervalMs: 60_000,
            pruneBatchSize: 10,
            pruneMaxBatches: 2,
          });
          vi.advanceTimersByTime(60_000);
          await eventually('the first sweep ran', async () => (await rows(table, prefix)).length <= 15);
          // close() waits for a running sweep, so nothing is deleted behind the count below.
          await cache.close();
          expect(await rows(table, prefix)).toHaveLength(15);
        } finally {
          vi.useRealTimers();
        }
      });

      it('reports background sweep failures to onError and keeps going', async () => {
        const { schema, sql } = env();
        const name = uniqueName('gone');
        const errors: IntegrationError[] = [];
        await open({ table: `${schema}.${name}`, pruneIntervalMs: 50, onError: (err) => errors.push(err) });
        await sql.exec(`DROP TABLE "${schema}"."${name}"`);
        await eventually('two sweeps failed', async () => errors.length >= 2);
        expect(errors[0]?.code).toBe(ErrorCode.PostgresError);
        expect(errors[0]?.message).toContain('42P01');
      });

      it('rejects bad prune options with IN002', async () => {
        const { sql, schema } = env();
        const bad: Partial<PostgresCacheOptions>[] = [
          { pruneIntervalMs: -1 },
          { pruneBatchSize: 0 },
          { pruneBatchSize: 2.5 },
          { pruneMaxBatches: 0 },
          { healthCheckTimeoutMs: 0 },
          { maxValueBytes: -5 },
        ];
        for (const o of bad) {
          await expectCode(
            () => createPostgresCache({ sql, table: `${schema}.cache`, ...o }),
            ErrorCode.InvalidConfiguration,
          );
        }
        await expectCode(() => createPostgresCache({ sql, defaultTtlMs: 0 }), ErrorCode.InvalidTtl);
      });
    });

    describe('values, counters and TTLs', () => {
      it('round-trips a 1 MiB random value byte for byte', async () => {
        const cache = await open();
        const value = new Uint8Array(1024 * 1024);
        for (let i = 0; i < value.length; i += 65_536) crypto.getRandomValues(value.subarray(i, i + 65_536));
        await cache.set('big', value);
        const got = await cache.get('big');
        expect(got?.byteLength).toBe(value.byteLength);
        expect(Buffer.compare(Buffer.from(got!), Buffer.from(value))).toBe(0);
      });

      it('refuses a value over the 16 MiB default without sending it', async () => {
        const { sql, schema } = env();
        const { client, calls } = countingClient(sql);
        const counted = await createPostgresCache({
          sql: client,
          table: `${schema}.cache`,
          migrate: false,
          pruneIntervalMs: 0,
        });
        track(counted);
        await expectCode(
          () => counted.set('huge', new Uint8Array(16 * 1024 * 1024 + 1)),
          ErrorCode.CacheCapacityExceeded,
        );
        expect(calls()).toBe(0);
        expect(await counted.exists('huge')).toBe(false);
      });

      it('incr refuses non-UTF-8 bytes and a result beyond 2^53 - 1 with IN202, leaving the value', async () => {
        const cache = await open();
        await cache.set('bin', new Uint8Array([0xff, 0x31]));
        await expectCode(() => cache.incr('bin'), ErrorCode.CacheSerializationError);
        expect(Array.from((await cache.get('bin'))!)).toEqual([0xff, 0x31]);
        await cache.set('max', String(Number.MAX_SAFE_INTEGER));
        await expectCode(() => cache.incr('max'), ErrorCode.CacheSerializationError);
        expect(text(await cache.get('max'))).toBe(String(Number.MAX_SAFE_INTEGER));
        expect(await cache.incr('max', -1)).toBe(Number.MAX_SAFE_INTEGER - 1);
        await expectCode(() => cache.incr('max', 1.5), ErrorCode.CacheSerializationError);
        await expectCode(() => cache.incr('max', 2 ** 53), ErrorCode.CacheSerializationError);
      });

      it('incr on an expired row restarts from 0 with the default TTL, in the same row', async () => {
        const { schema } = env();
        const prefix = `${uniqueName('pc')}:`;
        const cache = await open({ prefix, defaultTtlMs: 60_000 });
        await insertExpired(`"${schema}"."cache"`, `${prefix}n`, 1); // key `${prefix}n1`
        expect(await cache.incr('n1', 7)).toBe(7);
        const [row] = await rows(`"${schema}"."cache"`, prefix);
        expect(text(row!.value)).toBe('7');
        expect(row!.in_ms).toBeGreaterThan(50_000);
      });

      it('caps a huge TTL instead of overflowing the timestamp', async () => {
        const cache = await open();
        await cache.set('forever', 'v', Number.MAX_VALUE);
        expect(await cache.ttl('forever')).toBeGreaterThan(100 * 365 * 24 * 3_600_000);
        expect(await cache.expire('forever', 1e300)).toBe(true);
        expect(await cache.incr('n')).toBe(1);
      });

      it('refuses keys containing NUL with IN205 (Postgres text cannot hold them)', async () => {
        const cache = await open();
        await expectCode(() => cache.set('a\0b', 'v'), ErrorCode.InvalidCacheKey);
        await expectCode(() => cache.get('a\0b'), ErrorCode.InvalidCacheKey);
        await expectCode(() => cache.incr('\0'), ErrorCode.InvalidCacheKey);
        await expectCode(() => open({ prefix: 'p\0' }), ErrorCode.InvalidConfiguration);
      });
    });
  });
}
