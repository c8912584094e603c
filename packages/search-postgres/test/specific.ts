import {
  type Filter,
  isIntegrationError,
  matchesFilter,
  normalizeFilter,
  type SearchProvider,
  type SearchResult,
} from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import { CATALOGUE_INDEX_CONFIG, type SearchSuiteContext, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider, tableNameFor } from '../src/index.ts';
import { randomDocuments, randomFilters } from './random.ts';

export interface Env {
  sql: SqlClient;
  schema: string;
}

const ids = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id).sort();

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (!isIntegrationError(err)) throw err;
    return err.code;
  }
  throw new Error('expected a rejection');
}

/** Backend-specific tests, registered inside the conformance suite (same provider, same schema). */
/**
 * `server` is known when the tests are registered (before `env()` can be called), so the
 * server-only scale test is registered only there rather than skipped on PGlite.
 */
export function postgresSearchTests(
  ctx: SearchSuiteContext,
  env: () => Env,
  opts: { server: boolean },
): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: words, stemming and prefixes', () => {
    let english = '';
    let simple: PostgresSearchProvider;
    let simpleIndex = '';
    const docs = [
      { id: 'a', data: { title: 'Running shoes for the trail' } },
      { id: 'b', data: { title: 'A blue widget' } },
      { id: 'c', data: { title: 'Coffee and tea' } },
      { id: 'd', data: { title: 'Tea for two' } },
    ];

    beforeAll(async () => {
      english = ctx.newIndex('en');
      await p().configureIndex(english, { searchable: ['title'] });
      await p().indexDocuments(docs.map((d) => ({ ...d, index: english })));
      simple = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        defaultLanguage: 'simple',
      });
      simpleIndex = ctx.newIndex('si');
      await simple.configureIndex(simpleIndex, { searchable: ['title'] });
      await simple.indexDocuments(docs.map((d) => ({ ...d, index: simpleIndex })));
    });
    afterAll(async () => {
      await simple?.close();
    });
    const en = async (query: string) => ids(await p().search({ index: english, query }));
    const si = async (query: string) => ids(await simple.search({ index: simpleIndex, query }));

    it('the default language is english: words are stemmed', async () => {
      expect(p().language).toBe('english');
      expect(await en('run')).toEqual(['a']);
      expect(await en('runs ')).toEqual(['a']);
      expect(await en('shoe trails ')).toEqual(['a']);
    });

    it('english drops stop words: a query of stop words only matches nothing, elsewhere they are ignored', async () => {
      expect(await en('the')).toEqual([]);
      expect(await en('the trail')).toEqual(['a']);
    });

    it('"simple" matches words exactly (no stemming, no stop words)', async () => {
      expect(simple.language).toBe('simple');
      expect(await si('runs ')).toEqual([]);
      expect(await si('run ')).toEqual([]);
      expect(await si('running ')).toEqual(['a']);
      expect(await si('the ')).toEqual(['a']);
    });

    it('the last word is a prefix unless the query ends with a space', async () => {
      expect(await en('wid')).toEqual(['b']);
      expect(await si('wid')).toEqual(['b']);
      expect(await en('wid ')).toEqual([]);
      expect(await en('blue wid')).toEqual(['b']);
      // Only the last word: "wid" before another word must be a whole word.
      expect(await en('wid blue')).toEqual([]);
    });

    it('websearch syntax: -word excludes, "phrases" keep word order, or is an alternative', async () => {
      expect(await en('tea -coffee')).toEqual(['d']);
      expect(await en('"tea for two"')).toEqual(['d']);
      expect(await en('"two for tea"')).toEqual([]);
      expect(await en('widget or coffee')).toEqual(['b', 'c']);
      // The prefix keeps its place in the parse: "coffee or wid" is an OR, not an AND.
      expect(await en('coffee or wid')).toEqual(['b', 'c']);
    });

    it('scores are higher for matches in an earlier searchable field (weights A, B, …)', async () => {
      const index = ctx.newIndex('w');
      await p().configureIndex(index, { searchable: ['title', 'body'] });
      await p().indexDocuments([
        { id: 'in-body', index, data: { title: 'Other', body: 'lantern' } },
        { id: 'in-title', index, data: { title: 'Lantern', body: 'other' } },
      ]);
      const r = await p().search({ index, query: 'lantern' });
      expect(r.hits.map((h) => h.id)).toEqual(['in-title', 'in-body']);
      expect(r.hits[0]!.score!).toBeGreaterThan(r.hits[1]!.score!);
    });

    const hostile = [
      `'); drop table x; --`,
      'a & | ! :* (',
      'foo:* & !bar',
      ')))((( <-> <2> :*A',
      `\\'\\\\ '' "`,
      '"',
      '-',
      'or',
      '!',
      ':*',
      `'`,
      '\u0000',
      'tea\u0000',
      'x'.repeat(5000),
      '😀 emoji ☕',
    ];

    it('tsquery syntax typed by a user is just text: results or no results, never an error or a side effect', async () => {
      await env().sql.exec(`CREATE TABLE IF NOT EXISTS "${env().schema}".x (id int)`);
      for (const query of hostile) {
        const r = await p().search({ index: english, query });
        expect(Array.isArray(r.hits), query).toBe(true);
        expect(r.totalHits).toBe(r.hits.length);
      }
      // Words inside the noise still count, and every word is required.
      expect(await en(`tea'); --`)).toEqual(['c', 'd']);
      expect(await en(`tea'); drop table x; --`)).toEqual([]);
      expect(await en('tea & | ! :* (')).toEqual(['c', 'd']);
      expect(await en('tea:*')).toEqual(['c', 'd']);
      const still = await env().sql.query(`SELECT to_regclass('"${env().schema}".x')::text AS t`);
      expect(still.rows[0]!.t).not.toBeNull();
      expect((await p().search({ index: english, query: '' })).totalHits).toBe(docs.length);
    });

    it('highlights mark stemmed and prefix matches in the original text', async () => {
      const r = await p().search({ index: english, query: 'run', highlight: ['title'] });
      expect(r.hits[0]!.highlights!.title).toBe('<mark>Running</mark> shoes for the trail');
      const w = await p().search({ index: english, query: 'wid', highlight: ['title'] });
      expect(w.hits[0]!.highlights!.title).toBe('A blue <mark>widget</mark>');
    });

    it('long fields are highlighted as fragments around the matches', async () => {
      const index = ctx.newIndex('long');
      await p().configureIndex(index, { searchable: ['body'] });
      const body = `${'filler '.repeat(300)}needle ${'padding '.repeat(300)}`;
      await p().indexDocument({ id: 'l', index, data: { body } });
      const r = await p().search({ index, query: 'needle', highlight: ['body'] });
      const h = r.hits[0]!.highlights!.body!;
      expect(h).toContain('<mark>needle</mark>');
      expect(h.length).toBeLessThan(body.length / 4);
    });
  });

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

  describe('postgresql: writes', () => {
    it('a document the database refuses is reported in BulkResult; the rest of its batch is indexed', async () => {
      const index = ctx.newIndex('bulk');
      await p().configureIndex(index, { searchable: ['name'] });
      const result = await p().indexDocuments([
        { id: 'ok1', index, data: { name: 'first' } },
        { id: 'nul', index, data: { name: 'has \u0000 a NUL' } },
        { id: 'big', index, data: { n: 10n } as never },
        { id: 'ok2', index, data: { name: 'second' } },
      ]);
      expect(result.succeeded).toBe(2);
      expect(result.failed.map((f) => f.id).sort()).toEqual(['big', 'nul']);
      expect(ids(await p().search({ index, query: '' }))).toEqual(['ok1', 'ok2']);
      expect(await codeOf(() => p().indexDocument({ id: 'nul', index, data: { name: '\u0000' } }))).toBe(
        'IN107',
      );
    });

    it('the same id twice in one call: the later document wins', async () => {
      const index = ctx.newIndex('dup');
      await p().configureIndex(index, { searchable: ['name'] });
      const result = await p().indexDocuments([
        { id: 'x', index, data: { name: 'old' } },
        { id: 'x', index, data: { name: 'new' } },
      ]);
      expect(result).toEqual({ succeeded: 2, failed: [] });
      const r = await p().search({ index, query: '' });
      expect(r.hits.map((h) => h.document)).toEqual([{ name: 'new' }]);
    });

    it('Date values are stored as epoch milliseconds', async () => {
      const index = ctx.newIndex('date');
      await p().configureIndex(index, { searchable: ['name'], filterable: ['at'], sortable: ['at'] });
      const at = new Date('2024-05-06T07:08:09.010Z');
      await p().indexDocument({ id: 'd', index, data: { name: 'dated', at } });
      const r = await p().search({ index, query: '', filter: { field: 'at', op: 'eq', value: at } });
      expect(r.hits[0]!.document).toEqual({ name: 'dated', at: at.getTime() });
    });

    it('batches: more documents than batchSize are all indexed', async () => {
      const small = await createPostgresSearch({ sql: env().sql, schema: env().schema, batchSize: 7 });
      try {
        const index = ctx.newIndex('batch');
        await small.configureIndex(index, { searchable: ['name'], filterable: ['n'] });
        const docs = Array.from({ length: 50 }, (_, i) => ({
          id: `b${i}`,
          index,
          data: { name: `n${i}`, n: i },
        }));
        docs[23]!.data.name = 'bad \u0000';
        const result = await small.indexDocuments(docs);
        expect(result.succeeded).toBe(49);
        expect(result.failed.map((f) => f.id)).toEqual(['b23']);
        expect((await small.search({ index, query: '' })).totalHits).toBe(49);
      } finally {
        await small.close();
      }
    });
  });

  describe('postgresql: the filter translator agrees with the in-memory evaluator', () => {
    it('random documents × random filters select the same ids as matchesFilter', async () => {
      const index = ctx.newIndex('rnd');
      const docs = randomDocuments(80, 7);
      await p().configureIndex(index, { searchable: ['s'], filterable: ['n', 's', 'b', 'o.x', 'm'] });
      expect(await p().indexDocuments(docs.map((d) => ({ id: d.id, index, data: d.data })))).toEqual({
        succeeded: docs.length,
        failed: [],
      });
      let selective = 0;
      for (const filter of randomFilters(150, 11)) {
        const nf = normalizeFilter(filter);
        const expected = docs
          .filter((d) => matchesFilter(nf, d.data))
          .map((d) => d.id)
          .sort();
        const r = await p().search({ index, query: '', filter: filter as Filter, limit: 1000 });
        expect(ids(r), JSON.stringify(filter)).toEqual(expected);
        expect(r.totalHits).toBe(expected.length);
        if (expected.length > 0 && expected.length < docs.length) selective++;
      }
      // The data is varied enough that most filters select some documents but not all.
      expect(selective).toBeGreaterThan(100);
    });

    it('totalHits is the same on every page, past the last match, and with limit 0 (words + filter + sort)', async () => {
      const index = ctx.newIndex('tot');
      await p().configureIndex(index, { searchable: ['t'], filterable: ['n'], sortable: ['n'] });
      const docs = Array.from({ length: 60 }, (_, i) => ({
        id: `d${i}`,
        index,
        data: { t: i % 3 === 0 ? 'red apple' : 'green pear', n: i },
      }));
      await p().indexDocuments(docs);
      const expected = docs.filter((d) => d.data.t === 'red apple' && d.data.n >= 10).map((d) => d.id);
      // With facets the page's own scan counts the matches; without, a count runs beside it.
      for (const facets of [undefined, ['n']]) {
        const q = {
          index,
          query: 'appl',
          filter: { field: 'n', op: 'gte', value: 10 } as Filter,
          sort: ['n:desc'],
          ...(facets ? { facets } : {}),
        };
        const seen: string[] = [];
        for (const offset of [0, 7, 14]) {
          const r = await p().search({ ...q, limit: 7, offset, highlight: ['t'] });
          expect(r.totalHits).toBe(expected.length);
          for (const h of r.hits) expect(h.highlights?.t).toBe('red <mark>apple</mark>');
          seen.push(...r.hits.map((h) => h.id));
        }
        expect(seen).toEqual([...expected].reverse());
        for (const page of [
          { limit: 5, offset: expected.length },
          { limit: 5, offset: 500 },
          { limit: 0, offset: 0 },
        ]) {
          const r = await p().search({ ...q, ...page });
          expect(r.hits).toEqual([]);
          expect(r.totalHits, JSON.stringify(page)).toBe(expected.length);
          if (facets) expect(r.facets?.n).toHaveLength(expected.length);
        }
        const none = await p().search({ ...q, query: 'banana' });
        expect(none).toMatchObject({ hits: [], totalHits: 0 });
      }
    });
  });

  describe('postgresql: attached tables', () => {
    const table = uniqueName('articles');
    let attached: PostgresSearchProvider;
    let index = '';
    const q = (sql: string, params: unknown[] = []) => env().sql.query(sql, params);
    const t = () => `"${env().schema}"."${table}"`;

    beforeAll(async () => {
      await q(`CREATE TABLE ${t()} (
        id serial PRIMARY KEY,
        title text NOT NULL,
        body text,
        category text,
        views int NOT NULL DEFAULT 0,
        published_at timestamptz
      )`);
      // A row that exists before the table is attached.
      await q(`INSERT INTO ${t()} (title, body, category, views, published_at) VALUES ($1, $2, $3, $4, $5)`, [
        'Postgres tuning',
        'Vacuum and indexes',
        'db',
        10,
        '2024-01-02T00:00:00Z',
      ]);
      // Not ctx.newIndex: the suite's cleanup drops managed indexes, and this one is attached.
      index = uniqueName('att');
      attached = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        tables: {
          [`${env().schema}.${table}`]: {
            index,
            columns: ['title', 'body'],
            weights: { title: 'A', body: 'C' },
            language: 'english',
            sortable: ['views', 'published_at'],
          },
        },
      });
    });
    afterAll(async () => {
      await attached?.close();
    });
    const search = (query: string, extra: Record<string, unknown> = {}) =>
      attached.search({ index, query, ...extra });

    it('rows already in the table are searchable once attached', async () => {
      const r = await search('vacuum');
      expect(r.hits.map((h) => h.id)).toEqual(['1']);
      expect(r.hits[0]!.document).toMatchObject({
        id: 1,
        title: 'Postgres tuning',
        category: 'db',
        views: 10,
      });
      expect(r.hits[0]!.document).not.toHaveProperty(`${table}_search`);
    });

    it('rows inserted, updated and deleted with plain SQL are found through the trigger', async () => {
      await q(
        `INSERT INTO ${t()} (title, body, category, views) VALUES ('Redis streams', 'Consumer groups', 'cache', 3)`,
      );
      expect((await search('consumer')).hits.map((h) => h.id)).toEqual(['2']);
      await q(`UPDATE ${t()} SET title = 'Redis pipelines' WHERE id = 2`);
      expect((await search('streams')).hits).toEqual([]);
      expect((await search('pipelin')).hits.map((h) => h.id)).toEqual(['2']);
      // An update of another column keeps the row searchable.
      await q(`UPDATE ${t()} SET views = 99 WHERE id = 2`);
      expect((await search('pipelines')).hits.map((h) => h.id)).toEqual(['2']);
      await q(`DELETE FROM ${t()} WHERE id = 2`);
      expect((await search('pipelines')).hits).toEqual([]);
    });

    it('filters, sort, facets and highlights work over the row; dates are epoch ms', async () => {
      await q(`INSERT INTO ${t()} (title, body, category, views, published_at) VALUES
        ('Postgres replication', 'Streaming', 'db', 50, '2024-03-01T00:00:00Z'),
        ('Kafka basics', 'Topics', 'queue', 5, NULL)`);
      const r = await search('postgres', {
        filter: { field: 'published_at', op: 'gte', value: new Date('2024-02-01T00:00:00Z') },
        highlight: ['title'],
      });
      expect(r.hits.map((h) => h.document.title)).toEqual(['Postgres replication']);
      expect(r.hits[0]!.document.published_at).toBe(Date.parse('2024-03-01T00:00:00Z'));
      expect(r.hits[0]!.highlights!.title).toBe('<mark>Postgres</mark> replication');
      const sorted = await search('', { sort: ['views:desc'], facets: ['category'] });
      expect(sorted.hits.map((h) => h.document.views)).toEqual([50, 10, 5]);
      expect(sorted.totalHits).toBe(3);
      expect(sorted.facets!.category).toEqual([
        { value: 'db', count: 2 },
        { value: 'queue', count: 1 },
      ]);
      expect(await codeOf(() => search('', { sort: ['title:asc'] }))).toBe('IN101');
    });

    it('writes through the provider are IN005; a second attach is idempotent', async () => {
      expect(await codeOf(() => attached.indexDocument({ id: '9', index, data: { title: 'x' } }))).toBe(
        'IN005',
      );
      expect(await codeOf(() => attached.indexDocuments([{ id: '9', index, data: { title: 'x' } }]))).toBe(
        'IN005',
      );
      expect(await codeOf(() => attached.deleteDocument(index, '1'))).toBe('IN005');
      expect(await codeOf(() => attached.clearIndex(index))).toBe('IN005');
      expect(await codeOf(() => attached.configureIndex(index, { searchable: ['title'] }))).toBe('IN005');
      expect(await codeOf(() => attached.dropIndex(index))).toBe('IN005');
      const again = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        tables: {
          [`${env().schema}.${table}`]: {
            index,
            columns: ['title', 'body'],
            weights: { title: 'A', body: 'C' },
          },
        },
      });
      try {
        expect((await again.search({ index, query: 'vacuum' })).hits.map((h) => h.id)).toEqual(['1']);
      } finally {
        await again.close();
      }
    });

    it('changing the searched columns refills the tsvector of existing rows', async () => {
      const again = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        tables: { [`${env().schema}.${table}`]: { index, columns: ['title', 'category'] } },
      });
      try {
        expect((await again.search({ index, query: 'queue' })).hits.map((h) => h.document.title)).toEqual([
          'Kafka basics',
        ]);
        expect((await again.search({ index, query: 'vacuum' })).hits).toEqual([]);
      } finally {
        await again.close();
      }
    });

    it('attach options are validated (IN002)', async () => {
      const { sql, schema } = env();
      const attach = (tables: Record<string, unknown>) =>
        createPostgresSearch({ sql, schema, tables: tables as never });
      expect(await codeOf(() => attach({ [`${schema}.no_such_table`]: { columns: ['a'] } }))).toBe('IN002');
      expect(
        await codeOf(() => attach({ [`${schema}.${table}`]: { index: 'other', columns: ['nope'] } })),
      ).toBe('IN002');
      expect(await codeOf(() => attach({ [`${schema}.${table}`]: { columns: [] } }))).toBe('IN002');
      expect(await codeOf(() => attach({ 'bad name': { columns: ['a'] } }))).toBe('IN002');
      expect(
        await codeOf(() =>
          attach({ [`${schema}.${table}`]: { index: 'w', columns: ['title'], weights: { title: 'E' } } }),
        ),
      ).toBe('IN002');
    });
  });

  if (opts.server) {
    describe('postgresql: scale', () => {
      // The test's timeout is the requirement: indexing and querying 100k documents within a minute.
      it('100,000 documents index and query correctly within a minute', async () => {
        await scaleTest(p(), ctx.newIndex('big'));
      }, 60_000);
    });
  }
}

const WORDS = [
  'amber',
  'basil',
  'cedar',
  'delta',
  'ember',
  'fjord',
  'grove',
  'harbor',
  'indigo',
  'juniper',
  'kelp',
  'lumen',
  'marble',
  'nectar',
  'onyx',
  'pepper',
  'quartz',
  'raven',
  'saffron',
  'thistle',
];
const CATEGORIES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

async function scaleTest(provider: SearchProvider, index: string): Promise<void> {
  const n = 100_000;
  await provider.configureIndex(index, {
    searchable: ['title'],
    filterable: ['category', 'price', 'tags'],
    sortable: ['price'],
  });
  // Deterministic data, so expected counts are computed here and compared exactly.
  const docs = Array.from({ length: n }, (_, i) => {
    const w1 = WORDS[i % WORDS.length]!;
    const w2 = WORDS[(i * 7 + 3) % WORDS.length]!;
    return {
      id: `doc${i}`,
      index,
      data: {
        title: `${w1} ${w2} item ${i}`,
        category: CATEGORIES[i % CATEGORIES.length]!,
        price: i % 1000,
        tags: [`t${i % 3}`, `u${i % 4}`],
      },
    };
  });
  for (let i = 0; i < n; i += 20_000) {
    const r = await provider.indexDocuments(docs.slice(i, i + 20_000));
    expect(r.failed).toEqual([]);
    expect(r.succeeded).toBe(Math.min(20_000, n - i));
  }
  const hasWord = (d: (typeof docs)[number], w: string) => d.data.title.split(' ').includes(w);

  const browse = await provider.search({ index, query: '', limit: 5 });
  expect(browse.totalHits).toBe(n);
  expect(browse.totalHitsExact).toBe(true);

  const amber = docs.filter((d) => hasWord(d, 'amber'));
  const r1 = await provider.search({ index, query: 'amber', limit: 10 });
  expect(r1.totalHits).toBe(amber.length);
  expect(r1.hits).toHaveLength(10);

  // Words + filter + sort + facets, every number checked.
  const match = docs.filter(
    (d) =>
      hasWord(d, 'cedar') && d.data.category === 'gamma' && d.data.price < 500 && d.data.tags.includes('t1'),
  );
  const r2 = await provider.search({
    index,
    query: 'cedar',
    filter: {
      and: [
        { field: 'category', op: 'eq', value: 'gamma' },
        { field: 'price', op: 'lt', value: 500 },
        { field: 'tags', op: 'eq', value: 't1' },
      ],
    },
    sort: ['price:desc'],
    limit: 20,
    facets: ['tags'],
  });
  expect(r2.totalHits).toBe(match.length);
  expect(match.length).toBeGreaterThan(20);
  const prices = r2.hits.map((h) => (h.document as { price: number }).price);
  expect(prices).toEqual([...prices].sort((a, b) => b - a));
  expect(prices[0]).toBe(Math.max(...match.map((d) => d.data.price)));
  const tagCounts = new Map<string, number>();
  for (const d of match) for (const t of d.data.tags) tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
  expect(new Map(r2.facets!.tags!.map((f) => [f.value, f.count]))).toEqual(tagCounts);

  // Browse sorted + deep page, stable order.
  const r3 = await provider.search({ index, query: '', sort: ['price:asc'], offset: 99_990, limit: 10 });
  expect(r3.totalHits).toBe(n);
  expect(r3.hits.map((h) => (h.document as { price: number }).price)).toEqual(Array(10).fill(999));

  // Facets over everything.
  const r4 = await provider.search({ index, query: '', facets: ['category'], limit: 0 });
  expect(r4.facets!.category).toEqual(
    CATEGORIES.map((c) => ({ value: c, count: n / CATEGORIES.length })).sort((a, b) =>
      a.value < b.value ? -1 : 1,
    ),
  );
  // Prefix of the last word over the whole index.
  const r5 = await provider.search({ index, query: 'saff' });
  expect(r5.totalHits).toBe(docs.filter((d) => hasWord(d, 'saffron')).length);
}
