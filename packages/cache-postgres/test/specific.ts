import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { MIGRATIONS_TABLE } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCache, DEFAULT_PREFIX, type PostgresCacheOptions } from '../src/index.ts';
import { type BackendEnv, cacheFixture, countingClient } from './fixture.ts';
import { expectCode, text } from './helpers.ts';
import { postgresCacheDataTests } from './specific-data.ts';

export type { BackendEnv } from './fixture.ts';

/** Backend-specific tests of the Postgres cache (table, keys, lifecycle), shared by the server and the PGlite files. */
export function postgresCacheTests(label: string, env: () => BackendEnv): void {
  describe(`${label}: postgres cache specifics`, () => {
    const { open, rows, insertExpired } = cacheFixture(env);

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
  postgresCacheDataTests(label, env);
}
