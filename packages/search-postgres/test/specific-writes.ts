import { type SearchSuiteContext, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider } from '../src/index.ts';
import { codeOf, type Env, ids } from './specific-helpers.ts';

/** Indexing through the provider: bulk results, duplicates, dates, batches. */
export function writeTests(ctx: SearchSuiteContext, env: () => Env): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

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
}

/** Tables the caller owns, attached and kept in sync by triggers. */
export function attachedTableTests(env: () => Env): void {
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
}
