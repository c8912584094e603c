import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { MIGRATIONS_TABLE, type SqlClient } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  createPostgresCache,
  DEFAULT_PREFIX,
  type PostgresCacheOptions,
  type PostgresCacheProvider,
} from '../src/index.ts';
import { eventually, expectCode, text } from './helpers.ts';

export interface BackendEnv {
  sql: SqlClient;
  /** A schema this test file owns (dropped by the file afterwards on a server). */
  schema: string;
  /** True on a shared server: anything created outside `schema` must be removed again. */
  shared: boolean;
}

/** A SqlClient that counts the statements sent through it, to prove that nothing reached the database. */
function countingClient(sql: SqlClient): { client: SqlClient; calls: () => number } {
  let calls = 0;
  const client = new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'query' || prop === 'exec' || prop === 'transaction') {
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  return { client, calls: () => calls };
}

/** Backend-specific tests of the Postgres cache, shared by the server and the PGlite files. */
export function postgresCacheTests(label: string, env: () => BackendEnv): void {
  describe(`${label}: postgres cache specifics`, () => {
    let opened: PostgresCacheProvider[] = [];
    const open = async (opts: Partial<PostgresCacheOptions> = {}): Promise<PostgresCacheProvider> => {
      const { sql, schema } = env();
      const cache = await createPostgresCache({
        sql,
        table: `${schema}.cache`,
        prefix: `${uniqueName('pc')}:`,
        pruneIntervalMs: 0,
        ...opts,
      });
      opened.push(cache);
      return cache;
    };
    const rows = async (table: string, prefix: string) =>
      (
        await env().sql.query<{ key: string; value: Uint8Array; expires_at: Date; in_ms: number }>(
          `SELECT key, value, expires_at,
                  floor(extract(epoch FROM expires_at - now()) * 1000)::int8 AS in_ms
           FROM ${table} WHERE key LIKE $1 || '%' ORDER BY key`,
          [prefix],
        )
      ).rows;
    /** Inserts `n` rows that expired a second ago, the way an old entry looks before pruning. */
    const insertExpired = (table: string, prefix: string, n: number) =>
      env().sql.query(
        `INSERT INTO ${table} (key, value, expires_at)
         SELECT $1 || g, '\\x00'::bytea, now() - interval '1 second' FROM generate_series(1, $2::int) g`,
        [prefix, n],
      );

    afterEach(async () => {
      const toClose = opened;
      opened = [];
      await Promise.all(toClose.map((c) => c.close()));
    });

    it('stores prefix + key, the exact bytes and a database-clock expiry in the configured UNLOGGED table', async () => {
      const { schema, sql } = env();
      const prefix = `${uniqueName('pc')}:`;
      const cache = await open({ prefix, defaultTtlMs: 60_000 });
      expect(cache.name).toBe('postgresql');
      expect(cache.table).toBe(`${schema}.cache`);
      await cache.set('bin', new Uint8Array([0, 0x5c, 0x78, 0xff, 0]), 5_000);
      await cache.set('empty', new Uint8Array(0));
      await cache.set('str', 'é');
      const found = await rows(`"${schema}"."cache"`, prefix);
      expect(found.map((r) => r.key)).toEqual([`${prefix}bin`, `${prefix}empty`, `${prefix}str`]);
      expect(found.map((r) => Array.from(r.value))).toEqual([[0, 0x5c, 0x78, 0xff, 0], [], [0xc3, 0xa9]]);
      expect(found[0]!.in_ms).toBeGreaterThan(0);
      expect(found[0]!.in_ms).toBeLessThanOrEqual(5_000);
      expect(found[1]!.in_ms).toBeGreaterThan(5_000);
      expect(found[1]!.in_ms).toBeLessThanOrEqual(60_000);
      // The values come back identical through the provider too, as plain Uint8Arrays.
      const bin = await cache.get('bin');
      expect(bin?.constructor).toBe(Uint8Array);
      expect(Array.from(bin!)).toEqual([0, 0x5c, 0x78, 0xff, 0]);
      expect(Array.from((await cache.get('empty'))!)).toEqual([]);
      const persistence = await sql.query<{ p: string }>(
        'SELECT relpersistence AS p FROM pg_class WHERE oid = to_regclass($1)',
        [`"${schema}"."cache"`],
      );
      expect(persistence.rows[0]?.p).toBe('u');
    });

    it('uses "fraiseql:cache:" as the default prefix and a 1 hour default TTL', async () => {
      const { schema } = env();
      const table = `${schema}.${uniqueName('defaults')}`;
      const cache = await open({ table, prefix: undefined });
      await cache.set('k', 'v');
      const [row] = await rows(table, DEFAULT_PREFIX);
      expect(row?.key).toBe(`${DEFAULT_PREFIX}k`);
      expect(row!.in_ms).toBeGreaterThan(3_600_000 - 60_000);
      expect(row!.in_ms).toBeLessThanOrEqual(3_600_000);
    });

    it('unlogged: false creates a regular (logged) table', async () => {
      const { schema, sql } = env();
      const table = uniqueName('logged');
      const cache = await open({ table: `${schema}.${table}`, unlogged: false });
      await cache.set('k', 'v');
      const r = await sql.query<{ p: string }>(
        'SELECT relpersistence AS p FROM pg_class WHERE oid = to_regclass($1)',
        [`"${schema}"."${table}"`],
      );
      expect(r.rows[0]?.p).toBe('p');
      expect(text(await cache.get('k'))).toBe('v');
    });

    it('get is one primary-key index lookup, also on a large table', async () => {
      const { schema, sql } = env();
      const table = `"${schema}"."${uniqueName('plan')}"`;
      const cache = await open({ table: table.replaceAll('"', '') });
      await sql.query(
        `INSERT INTO ${table} (key, value, expires_at)
         SELECT 'k' || g, '\\x01'::bytea, now() + interval '1 hour' FROM generate_series(1, 5000) g`,
      );
      await sql.exec(`ANALYZE ${table}`);
      const plan = await sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT value FROM ${table} WHERE key = $1 AND expires_at > now()`,
        ['k42'],
      );
      const lines = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(lines).toMatch(/Index Scan using \S+_pkey/);
      expect(lines).not.toMatch(/Seq Scan/);
      expect(await cache.exists('k')).toBe(false);
    });

    it('creates the table idempotently: many providers at once, and again on an existing table', async () => {
      const { schema, sql } = env();
      const table = `${schema}.${uniqueName('idem')}`;
      const caches = await Promise.all(Array.from({ length: 5 }, () => open({ table, prefix: 'same:' })));
      await caches[0]!.set('k', 'v');
      const again = await open({ table, prefix: 'same:' });
      expect(text(await again.get('k'))).toBe('v');
      const recorded = await sql.query(
        `SELECT id FROM "${schema}"."${MIGRATIONS_TABLE}" WHERE namespace = $1`,
        [`cache-postgres/${table.split('.')[1]}`],
      );
      expect(recorded.rowCount).toBe(1);
    });

    describe('table names', () => {
      const cleanup: string[] = [];
      afterAll(async () => {
        const { sql, shared } = env();
        if (!shared) return;
        for (const name of cleanup) {
          await sql.exec(`DROP TABLE IF EXISTS public."${name}"`);
          await sql.query(`DELETE FROM public."${MIGRATIONS_TABLE}" WHERE namespace = $1`, [
            `cache-postgres/${name}`,
          ]);
        }
      });

      it('accepts a bare "table" (schema public) and "schema.table"', async () => {
        const { sql, schema } = env();
        const bare = uniqueName('bare');
        cleanup.push(bare);
        const a = await open({ table: bare, prefix: 'p:' });
        expect(a.table).toBe(`public.${bare}`);
        await a.set('k', 'in public');
        expect((await rows(`public."${bare}"`, 'p:')).map((r) => r.key)).toEqual(['p:k']);

        const other = uniqueName('myschema');
        const b = await open({ table: `${other}.mycache`, prefix: 'p:' });
        try {
          expect(b.table).toBe(`${other}.mycache`);
          await b.set('k', 'in myschema');
          expect(text(await a.get('k'))).toBe('in public');
          expect(text(await b.get('k'))).toBe('in myschema');
          expect((await rows(`"${other}"."mycache"`, 'p:')).map((r) => text(r.value))).toEqual([
            'in myschema',
          ]);
        } finally {
          await b.close();
          await sql.exec(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
        }
        expect(schema.length).toBeGreaterThan(0);
      });

      const hostile = [
        'x; drop table y',
        'a"b',
        '"quoted"',
        `${'a'.repeat(64)}`,
        `s.${'t'.repeat(64)}`,
        'a.b.c',
        '',
        '1abc',
        'sch ema.t',
        'public.x; DROP SCHEMA public',
        'ключ',
        '.t',
        's.',
      ];
      it('refuses hostile or invalid names with IN002 before touching the database', async () => {
        const { sql } = env();
        const { client, calls } = countingClient(sql);
        for (const table of hostile) {
          const err = await expectCode(
            () => createPostgresCache({ sql: client, table }),
            ErrorCode.InvalidConfiguration,
          );
          expect((err as IntegrationError).kind, table).toBe('configuration');
        }
        expect(calls()).toBe(0);
      });

      it("two providers with different tables (and the same prefix) never see each other's keys", async () => {
        const { schema } = env();
        const a = await open({ table: `${schema}.${uniqueName('ta')}`, prefix: 'same:' });
        const b = await open({ table: `${schema}.${uniqueName('tb')}`, prefix: 'same:' });
        await a.set('k', 'a');
        await a.set('only-a', 'a');
        await b.set('k', 'b');
        expect(text(await a.get('k'))).toBe('a');
        expect(text(await b.get('k'))).toBe('b');
        expect(await b.exists('only-a')).toBe(false);
        expect(await b.incr('only-a')).toBe(1);
        expect(text(await a.get('only-a'))).toBe('a');
        expect(await b.deletePattern('*')).toBe(2);
        expect(text(await a.get('k'))).toBe('a');
      });
    });

    describe('LIKE metacharacters', () => {
      it('`%`, `_` and `\\` in keys and patterns are literal', async () => {
        const cache = await open();
        const keys = ['a%b', 'a_b', 'a\\b', 'axb', 'a%%b', 'a__b', 'ab', '%', '_', '\\'];
        for (const k of keys) await cache.set(k, k);
        const present = async () => {
          const out: string[] = [];
          for (const k of keys) if (await cache.exists(k)) out.push(k);
          return out;
        };
        expect(await cache.deletePattern('a%b')).toBe(1);
        expect(await cache.deletePattern('a_b')).toBe(1);
        expect(await cache.deletePattern('a\\\\b')).toBe(1);
        expect(await present()).toEqual(['axb', 'a%%b', 'a__b', 'ab', '%', '_', '\\']);
        // `*` around a metacharacter: only keys that really contain it.
        expect(await cache.deletePattern('*%*')).toBe(2);
        expect(await cache.deletePattern('*_*')).toBe(2);
        expect(await cache.deletePattern('*\\\\*')).toBe(1);
        expect(await present()).toEqual(['axb', 'ab']);
        expect(await cache.deletePattern('a?b')).toBe(1);
        expect(await present()).toEqual(['ab']);
      });

      it('a prefix made of LIKE metacharacters matches only itself', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('meta')}`;
        const special = await open({ table, prefix: '%_\\' });
        const neighbours = await Promise.all(
          ['%x\\', 'a_\\', '%_x', 'x_\\'].map((prefix) => open({ table, prefix })),
        );
        await special.set('k', 'special');
        for (const n of neighbours) await n.set('k', 'neighbour');
        expect(await special.deletePattern('*')).toBe(1);
        for (const n of neighbours) expect(text(await n.get('k'))).toBe('neighbour');
      });

      it('counts only live rows, but removes matching expired ones too', async () => {
        const { schema } = env();
        const prefix = `${uniqueName('pc')}:`;
        const cache = await open({ prefix });
        await insertExpired(`"${schema}"."cache"`, `${prefix}old:`, 5);
        await cache.set('old:live', 'v');
        expect(await cache.deletePattern('old:*')).toBe(1);
        expect(await rows(`"${schema}"."cache"`, prefix)).toEqual([]);
      });
    });

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
        opened.push(counted);
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

    describe('lifecycle', () => {
      it("close() stops the provider but leaves the caller's SqlClient open", async () => {
        const { sql } = env();
        const cache = await open();
        await cache.set('k', 'v');
        await cache.close();
        expect(await cache.healthCheck()).toBe(false);
        await expectCode(() => cache.get('k'), ErrorCode.CacheConnectionFailed);
        await expectCode(() => cache.set('k', 'v'), ErrorCode.CacheConnectionFailed);
        await expectCode(() => cache.prune(), ErrorCode.CacheConnectionFailed);
        await expectCode(() => cache.getOrSet('k', async () => 1), ErrorCode.CacheConnectionFailed);
        expect(sql.closed).toBe(false);
        expect((await sql.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      });

      it('migrate: false uses an existing table and reports a missing one as IN405 (42P01), unhealthy', async () => {
        const { schema } = env();
        const table = `${schema}.${uniqueName('pre')}`;
        const creator = await open({ table, prefix: 'x:' });
        await creator.set('k', 'v');
        const user = await open({ table, prefix: 'x:', migrate: false });
        expect(text(await user.get('k'))).toBe('v');
        expect(await user.healthCheck()).toBe(true);

        const missing = await open({ table: `${schema}.${uniqueName('missing')}`, migrate: false });
        const err = await expectCode(() => missing.get('k'), ErrorCode.PostgresError);
        expect(err.message).toContain('42P01');
        expect(err.provider).toBe('postgresql');
        expect(await missing.healthCheck()).toBe(false);
      });

      it('explains a table that was dropped behind its recorded migration', async () => {
        const { schema, sql } = env();
        const name = uniqueName('dropped');
        const cache = await open({ table: `${schema}.${name}` });
        await cache.close();
        await sql.exec(`DROP TABLE "${schema}"."${name}"`);
        const err = await expectCode(
          () => open({ table: `${schema}.${name}` }),
          ErrorCode.InvalidConfiguration,
        );
        expect(err.message).toContain(MIGRATIONS_TABLE);
      });

      it('refuses to start without a SqlClient (IN002)', async () => {
        await expectCode(
          () => createPostgresCache({} as PostgresCacheOptions),
          ErrorCode.InvalidConfiguration,
        );
      });
    });
  });
}
