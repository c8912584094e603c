import { reindex, type SearchProvider, withResilience } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, describeReindex, expectIntegrationError, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertSingleSelect,
  countRows,
  createPostgresSearch,
  type PostgresSearchProvider,
  sqlRows,
} from '../src/index.ts';

const pg = await checkService('postgres');

/** Index names in the catalog and tables in the schema (a leftover would show in either). */
async function listIndexes(sql: SqlClient, schema: string): Promise<string[]> {
  const r = await sql.query<{ name: string }>(
    `SELECT name FROM "${schema}".search_indexes
     UNION SELECT substr(tablename, 8) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'search\\_%' AND tablename <> 'search_indexes'`,
    [schema],
  );
  return r.rows.map((x) => x.name);
}

function suite(label: string, connect: () => Promise<SqlClient>, server: boolean) {
  describe(`search-postgres reindex on ${label}`, () => {
    let sql: SqlClient;
    const schema = uniqueName('spr');
    beforeAll(async () => {
      sql = await connect();
    });
    afterAll(async () => {
      if (server) await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql?.close();
    });

    describeReindex(label, async () => createPostgresSearch({ sql, schema }), {
      listIndexes: () => listIndexes(sql, schema),
      dropIndexes: async (p, names) => {
        for (const name of names) await (p as PostgresSearchProvider).dropIndex(name);
      },
    });

    it('renames the table, its indexes and primary key to the live names; configureIndex still works', async () => {
      const p = await createPostgresSearch({ sql, schema });
      const index = uniqueName('rn');
      await p.configureIndex(index, { searchable: ['title'], sortable: ['n'] });
      const rows = async function* () {
        for (let i = 0; i < 10; i++) yield { id: `x${i}`, title: `thing ${i}`, n: i };
      };
      // Through the resilience wrapper (what createIntegrations hands out): aliases are found on `inner`.
      await reindex(withResilience('search', p), { index, source: rows });
      const names = await sql.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1',
        [schema, `search_${index}`],
      );
      expect(names.rows.map((r) => r.indexname).every((n) => !n.includes('__'))).toBe(true);
      expect(names.rows).toHaveLength(5);
      // Same settings again is a no-op; new settings alter the renamed table in place.
      await p.configureIndex(index, { searchable: ['title'], sortable: ['n'] });
      await p.configureIndex(index, { searchable: ['title'], sortable: [] });
      const after = await sql.query('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [
        schema,
        `search_${index}`,
      ]);
      expect(after.rows).toHaveLength(3);
      expect((await p.search({ index, query: 'thing' })).totalHits).toBe(10);
      await p.dropIndex(index);
    });

    it('reindexes from a SELECT (streamed by a cursor on a server), counted first, read-only', async () => {
      const p = await createPostgresSearch({ sql, schema });
      const index = uniqueName('fromsql');
      const select = `SELECT 'r' || g AS id, 'row ' || g AS title, g AS n FROM generate_series(1, 2500) AS g;`;
      expect(await countRows(sql, select)).toBe(2500);
      expect(await countRows(sql, 'SELECT 1 AS id -- trailing comment')).toBe(1);
      const r = await reindex(p, {
        index,
        source: () => sqlRows(sql, select, { fetchSize: 700 }),
        batchSize: 400,
      });
      expect(r.documents).toBe(2500);
      expect((await p.search({ index, query: 'row', sort: ['n:desc'], limit: 1 })).hits[0]?.id).toBe('r2500');
      // A source that stops early (maxFailed) closes the cursor and leaves nothing behind.
      const err = await reindex(p, {
        index,
        source: () =>
          sqlRows(
            sql,
            `SELECT CASE WHEN g = 1500 THEN NULL ELSE 'r' || g END AS id FROM generate_series(1, 3000) g`,
            { fetchSize: 500 },
          ),
      }).catch((e) => e);
      expect(err.code).toBe('IN105');
      expect((await p.search({ index, query: '' })).totalHits).toBe(2500);
      await p.dropIndex(index);
    });

    it('writes batches in source order while reading ahead: a later duplicate id wins', async () => {
      const p = await createPostgresSearch({ sql, schema });
      const index = uniqueName('dup');
      const rows = Array.from({ length: 9 }, (_, i) => ({ id: i % 3 === 2 ? 'same' : `u${i}`, v: i }));
      const r = await reindex(p, { index, source: rows, batchSize: 2 });
      expect(r.documents).toBe(9);
      const hit = (await p.search<{ v: number }>({ index, query: '', limit: 50 })).hits.find(
        (h) => h.id === 'same',
      );
      expect(hit?.document.v).toBe(8);
      await p.dropIndex(index);
    });

    it('runs the SELECT read-only: a data-modifying CTE fails', async () => {
      await sql.exec(`CREATE TABLE IF NOT EXISTS "${schema}".keep (id int)`);
      await sql.exec(`INSERT INTO "${schema}".keep VALUES (1)`);
      const rows = sqlRows(
        sql,
        `WITH d AS (DELETE FROM "${schema}".keep RETURNING id) SELECT id::text AS id FROM d`,
      );
      await expectIntegrationError(() => rows.next(), 'IN405');
      expect((await sql.query(`SELECT count(*)::int AS n FROM "${schema}".keep`)).rows[0]).toEqual({ n: 1 });
    });

    it('refuses an attached table, a provider without aliases, and bad options', async () => {
      const p = await createPostgresSearch({ sql, schema });
      const rows = [{ id: 'a' }];
      await expectIntegrationError(() => reindex(p, { index: 'bad name', source: rows }), 'IN106');
      await expectIntegrationError(() => reindex(p, { index: 'x'.repeat(50), source: rows }), 'IN106');
      await expectIntegrationError(() => reindex(p, { index: 'ok', source: rows, batchSize: 0 }), 'IN002');
      await expectIntegrationError(() => reindex(p, { index: 'ok', source: 42 as never }), 'IN002');
      const plain = { ...p, name: 'plain', aliases: undefined } as unknown as SearchProvider;
      await expectIntegrationError(() => reindex(plain, { index: 'ok', source: rows }), 'IN005');
    });
  });
}

describe('assertSingleSelect', () => {
  it('accepts one read query, strips its semicolon, refuses the rest', () => {
    expect(assertSingleSelect("  select ';' AS a, $x$;$x$ AS b -- c;\n ; -- end")).toBe(
      "select ';' AS a, $x$;$x$ AS b -- c;",
    );
    expect(assertSingleSelect('WITH x AS (SELECT 1) SELECT * FROM x')).toContain('WITH');
    expect(assertSingleSelect('/* hi */ TABLE t')).toContain('TABLE');
    for (const text of [
      'SELECT 1; DROP TABLE t',
      'DELETE FROM t',
      '',
      "SELECT 'open",
      'UPDATE t SET a = 1 -- SELECT',
    ]) {
      expect(() => assertSingleSelect(text)).toThrow(/\[reindex\]/);
    }
  });
});

suite('PGlite', () => createSqlClient(), false);
describe.skipIf(!pg.available)('server', () => {
  suite('a Postgres server', () => createSqlClient({ url: pg.url }), true);
});
