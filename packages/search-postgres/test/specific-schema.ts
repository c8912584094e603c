import { CATALOGUE_INDEX_CONFIG, type SearchSuiteContext, uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider, tableNameFor } from '../src/index.ts';
import { codeOf, type Env, ids } from './specific-helpers.ts';

/** Index names, their tables and the schema. */
export function indexNameTests(ctx: SearchSuiteContext, env: () => Env): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: index names and tables', () => {
    it('names map to distinct tables of at most 63 bytes, recorded in the catalog', async () => {
      const long = `${uniqueName('Long')}-Name_`.padEnd(64, 'X');
      const dashed = ctx.newIndex('dash');
      const a = `${dashed}-x`;
      const b = `${dashed}_x`;
      for (const n of [long, a, b]) {
        expect(Buffer.byteLength(tableNameFor(n))).toBeLessThanOrEqual(63);
        await p().configureIndex(n, { searchable: ['name'] });
      }
      expect(tableNameFor(a)).not.toBe(tableNameFor(b));
      expect(tableNameFor('products')).toBe('search_products');
      expect(tableNameFor('indexes')).not.toBe('search_indexes');
      await p().indexDocument({ id: '1', index: a, data: { name: 'only in a' } });
      expect((await p().search({ index: b, query: '' })).totalHits).toBe(0);
      expect((await p().search({ index: a, query: '' })).totalHits).toBe(1);
      const rows = await env().sql.query<{ name: string; table_name: string }>(
        `SELECT name, table_name FROM "${env().schema}".search_indexes WHERE name = ANY(SELECT jsonb_array_elements_text($1::jsonb))`,
        [JSON.stringify([long, a, b])],
      );
      expect(Object.fromEntries(rows.rows.map((r) => [r.name, r.table_name]))).toEqual({
        [long]: tableNameFor(long),
        [a]: tableNameFor(a),
        [b]: tableNameFor(b),
      });
      for (const n of [long, a, b]) expect(await p().dropIndex(n)).toBe(true);
      expect(await p().dropIndex(a)).toBe(false);
      expect(await codeOf(() => p().search({ index: a, query: '' }))).toBe('IN100');
    });

    it('SQL in an index name is IN106 before any SQL runs', async () => {
      for (const bad of [`x"; DROP SCHEMA "${env().schema}" CASCADE; --`, "a'b", 'a.b', 'a b', 'ä']) {
        expect(await codeOf(() => p().configureIndex(bad, { searchable: ['a'] }))).toBe('IN106');
        expect(await codeOf(() => p().search({ index: bad, query: '' }))).toBe('IN106');
        expect(() => p().tableOf(bad)).toThrow(/Invalid index name/);
      }
      const still = await env().sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [env().schema]);
      expect(still.rowCount).toBe(1);
    });

    it('SQL in filter values is a literal value', async () => {
      const index = ctx.newIndex('inj');
      await p().configureIndex(index, { searchable: ['name'], filterable: ['v'], sortable: ['v'] });
      const values = [
        `' OR 1=1 --`,
        `"); DROP TABLE t; --`,
        '$1',
        '%',
        '_',
        '\\',
        "'' || ''",
        '{"v":1}',
        '[1]',
      ];
      await p().indexDocuments(values.map((v, i) => ({ id: `i${i}`, index, data: { name: 'x', v } })));
      for (const [i, v] of values.entries()) {
        const r = await p().search({ index, query: '', filter: { field: 'v', op: 'eq', value: v } });
        expect(ids(r), v).toEqual([`i${i}`]);
      }
      const r = await p().search({ index, query: '', filter: { field: 'v', op: 'in', value: ['%', '_'] } });
      expect(ids(r)).toEqual(['i3', 'i4']);
      const gt = await p().search({ index, query: '', filter: { field: 'v', op: 'gt', value: "' OR 1=1" } });
      expect(ids(gt).length).toBeGreaterThan(0);
      expect(ids(gt).length).toBeLessThan(values.length);
    });

    it('rawFilter is an SQL/JSON path predicate; a malformed one is IN101', async () => {
      const index = await ctx.seedCatalogue();
      const r = await p().search({ index, query: '', rawFilter: '$.price < 20 && $.tags[*] == "travel"' });
      expect(ids(r)).toEqual(['p08']);
      expect(await codeOf(() => p().search({ index, query: '', rawFilter: '$.price <' }))).toBe('IN101');
      // Valid syntax that fails when evaluated is the caller's rawFilter too, not a database error.
      expect(await codeOf(() => p().search({ index, query: '', rawFilter: '$1' }))).toBe('IN101');
      expect(await codeOf(() => p().search({ index, query: '', rawFilter: '$.name == "\\x00"' }))).toBe(
        'IN101',
      );
      expect(await codeOf(() => p().search({ index, query: '', rawFilter: 42 as never }))).toBe('IN101');
    });
  });
}

/** Index configuration stored in the catalog. */
export function catalogTests(ctx: SearchSuiteContext, env: () => Env): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: configuration lives in the catalog', () => {
    it("a fresh provider on the same schema knows each index's filterable and sortable fields", async () => {
      const index = await ctx.seedCatalogue();
      const other = await createPostgresSearch({ sql: env().sql, schema: env().schema });
      try {
        const r = await other.search({
          index,
          query: '',
          filter: { field: 'category', op: 'eq', value: 'books' },
          sort: ['price:asc'],
        });
        expect(r.hits.map((h) => h.id)).toEqual(['p08', 'p07']);
        expect(
          await codeOf(() => other.search({ index, query: '', filter: { field: 'name', op: 'exists' } })),
        ).toBe('IN101');
      } finally {
        await other.close();
      }
    });

    it('configureIndex is idempotent and changing searchable fields regenerates the tsvector', async () => {
      const index = await ctx.seedCatalogue();
      await p().configureIndex(index, structuredClone(CATALOGUE_INDEX_CONFIG) as never);
      expect(ids(await p().search({ index, query: 'espresso' }))).toEqual(['p01']);
      expect(ids(await p().search({ index, query: 'brava' }))).toEqual([]);
      await p().configureIndex(index, {
        ...structuredClone(CATALOGUE_INDEX_CONFIG),
        searchable: ['brand'],
      } as never);
      expect(ids(await p().search({ index, query: 'brava' }))).toEqual(['p01', 'p02']);
      expect(ids(await p().search({ index, query: 'espresso' }))).toEqual([]);
      // Sortable fields changed too: the new one sorts, the dropped one is IN101.
      await p().configureIndex(index, { searchable: ['name'], filterable: [], sortable: ['released_at'] });
      expect(await codeOf(() => p().search({ index, query: '', sort: ['price:asc'] }))).toBe('IN101');
      const r = await p().search({ index, query: '', sort: ['released_at:asc'], limit: 1 });
      expect(r.hits[0]!.id).toBe('p08');
    });

    it('a sortable field gets an index per direction, and loses both when it stops being sortable', async () => {
      const index = ctx.newIndex('sortidx');
      const table = tableNameFor(index);
      const indexesOf = async () =>
        (
          await env().sql.query<{ def: string }>(
            'SELECT indexdef AS def FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
            [env().schema, table],
          )
        ).rows
          .map((r) => r.def)
          .filter((d) => d.includes("'n'"));
      await p().configureIndex(index, { searchable: ['t'], sortable: ['n'] });
      const defs = await indexesOf();
      expect(defs).toHaveLength(2);
      expect(defs.filter((d) => d.includes('DESC NULLS LAST'))).toHaveLength(1);

      // A descending page over many documents reads the descending index instead of sorting.
      const docs = Array.from({ length: 3000 }, (_, i) => ({ id: `d${i}`, index, data: { t: 'x', n: i } }));
      await p().indexDocuments(docs);
      await env().sql.exec(`ANALYZE "${env().schema}"."${table}"`);
      const r = await p().search({ index, query: '', sort: ['n:desc'], limit: 3 });
      expect(r.hits.map((h) => h.id)).toEqual(['d2999', 'd2998', 'd2997']);
      const keys = "(CASE WHEN jsonb_typeof(doc -> 'n') = 'number' THEN (doc -> 'n')::numeric END)";
      const text = `(CASE WHEN jsonb_typeof(doc -> 'n') IN ('string', 'boolean') THEN (doc -> 'n') #>> '{}' END COLLATE "C")`;
      const plan = await env().sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${env().schema}"."${table}" ORDER BY ${keys} DESC NULLS LAST, ${text} DESC NULLS LAST, id LIMIT 3`,
      );
      expect(plan.rows.map((x) => x['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan using \S*_sortd_/);

      await p().configureIndex(index, { searchable: ['t'], sortable: [] });
      expect(await indexesOf()).toEqual([]);
    });

    it('configureIndex validates its settings (IN002)', async () => {
      const index = ctx.newIndex('cfg');
      expect(await codeOf(() => p().configureIndex(index, { searchable: [] }))).toBe('IN002');
      expect(await codeOf(() => p().configureIndex(index, { searchable: ['a;b'] }))).toBe('IN002');
      expect(await codeOf(() => p().configureIndex(index, null as never))).toBe('IN002');
      expect(await codeOf(() => p().search({ index, query: '' }))).toBe('IN100');
    });

    it('an index written before it is configured searches every string and filters on every field', async () => {
      const index = ctx.newIndex('auto');
      await p().indexDocument({ id: '1', index, data: { name: 'Lamp', nested: { note: 'brass' }, n: 3 } });
      await p().indexDocument({ id: '2', index, data: { name: 'Chair', n: 5 } });
      expect(ids(await p().search({ index, query: 'brass' }))).toEqual(['1']);
      expect(ids(await p().search({ index, query: '', filter: { field: 'n', op: 'gt', value: 4 } }))).toEqual(
        ['2'],
      );
      const sorted = await p().search({ index, query: '', sort: ['n:desc'] });
      expect(sorted.hits.map((h) => h.id)).toEqual(['2', '1']);
    });

    it('with autoCreateIndexes: false, a write to an unknown index is IN100', async () => {
      const strict = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        autoCreateIndexes: false,
      });
      try {
        const index = ctx.newIndex('strict');
        expect(await codeOf(() => strict.indexDocument({ id: '1', index, data: { a: 'b' } }))).toBe('IN100');
        expect(await codeOf(() => strict.indexDocuments([{ id: '1', index, data: { a: 'b' } }]))).toBe(
          'IN100',
        );
      } finally {
        await strict.close();
      }
    });

    it('factory options are validated (IN002)', async () => {
      const { sql, schema } = env();
      expect(await codeOf(() => createPostgresSearch({ sql, schema: 'bad-schema' }))).toBe('IN002');
      expect(await codeOf(() => createPostgresSearch({ sql, schema, defaultLanguage: 'klingon' }))).toBe(
        'IN002',
      );
      expect(await codeOf(() => createPostgresSearch({ sql, schema, defaultLanguage: "english'" }))).toBe(
        'IN002',
      );
      // Schema-qualified, in a schema that does not exist: still a configuration error, not IN405.
      expect(
        await codeOf(() => createPostgresSearch({ sql, schema, defaultLanguage: 'no_such_schema.english' })),
      ).toBe('IN002');
      expect(await codeOf(() => createPostgresSearch({ sql, schema, batchSize: 0 }))).toBe('IN002');
      expect(await codeOf(() => createPostgresSearch({ sql: undefined as never }))).toBe('IN002');
    });

    it('a closed provider refuses work and reports unhealthy', async () => {
      const own = await createPostgresSearch({ sql: env().sql, schema: env().schema });
      await own.close();
      expect(await own.healthCheck()).toBe(false);
      expect(await codeOf(() => own.search({ index: 'x', query: '' }))).toBe('IN502');
    });
  });
}
