import type { SearchProvider } from '@fraiseql/core';
import {
  CATALOGUE_INDEX_CONFIG,
  describeSearchProvider,
  type FakeAlgolia,
  PRODUCT_CATALOGUE,
  startFakeAlgolia,
} from '@fraiseql/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AlgoliaSearchProvider, createAlgoliaSearch } from '../src/index.ts';
import { rejection } from './helpers.ts';

const dropIndexes = async (provider: SearchProvider, indexes: string[]) => {
  for (const index of indexes) await (provider as AlgoliaSearchProvider).dropIndex(index);
};

const RAW_FILTER = { filter: 'category:kitchen OR category:books', ids: ['p01', 'p02', 'p07', 'p08', 'p09'] };

// ---------------------------------------------------------------------------------------------
// The contract, against the protocol double.

let fake: FakeAlgolia;
beforeAll(async () => {
  fake = await startFakeAlgolia();
});
afterAll(async () => {
  await fake?.close();
});

const queriesOf = (index: string) =>
  fake
    .requests()
    .filter(
      (r) =>
        (r.method === 'POST' && r.path.startsWith(`/1/indexes/${index}`) && r.path.endsWith('/query')) ||
        r.path === '/1/indexes/*/queries',
    );

describeSearchProvider(
  'algolia (protocol double)',
  () => createAlgoliaSearch({ appId: fake.appId, apiKey: fake.apiKey, hosts: [fake.url] }),
  {
    rawFilter: RAW_FILTER,
    dropIndexes,
    indexPrefix: 'alg',
    additionalTests: ({ provider, newIndex, seedCatalogue }) => {
      it('searches with offset/length, <mark> tags and deterministic all-words matching', async () => {
        const index = await seedCatalogue();
        await provider().search({ index, query: 'coffee', limit: 3, offset: 1, highlight: ['name'] });
        const body = queriesOf(index).at(-1)!.body as Record<string, unknown>;
        expect(body).toMatchObject({
          query: 'coffee',
          offset: 1,
          length: 3,
          typoTolerance: false,
          queryType: 'prefixLast',
          removeWordsIfNoResults: 'none',
          highlightPreTag: '<mark>',
          highlightPostTag: '</mark>',
          attributesToHighlight: ['name'],
        });
      });

      it('sends portable filters in Algolia syntax: quoted strings, numeric comparisons, _fields for exists', async () => {
        const index = await seedCatalogue();
        await provider().search({
          index,
          query: '',
          filter: {
            and: [
              { field: 'brand', op: 'eq', value: 'O"R' },
              { field: 'price', op: 'gte', value: 10 },
              { field: 'category', op: 'exists' },
            ],
          },
        });
        expect((queriesOf(index).at(-1)!.body as { filters: string }).filters).toBe(
          'brand:"O\\"R" AND price >= 10 AND _fields:"category"',
        );
      });

      it('runs an OR group mixing numeric and string conditions as disjoint queries in one multi-query', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({
          index,
          query: '',
          filter: {
            or: [
              { field: 'category', op: 'eq', value: 'books' },
              { field: 'price', op: 'gt', value: 250 },
            ],
          },
          sort: ['price:desc'],
          facets: ['category'],
        });
        expect(r.hits.map((h) => h.id)).toEqual(['p06', 'p07', 'p08']);
        expect(r.totalHits).toBe(3);
        expect(r.facets?.category).toEqual([
          { value: 'books', count: 2 },
          { value: 'electronics', count: 1 },
        ]);
        const multi = fake
          .requests()
          .filter((q) => q.path === '/1/indexes/*/queries')
          .at(-1)!;
        const filters = (multi.body as { requests: { filters: string; indexName: string }[] }).requests.map(
          (q) => q.filters,
        );
        expect(filters).toEqual(['category:"books"', 'price > 250 AND NOT category:"books"']);
        // Algolia itself refuses such an OR in one filter, and so does the double.
        const err = await rejection(
          provider().search({ index, query: '', rawFilter: '(category:books OR price > 250)' }),
        );
        expect(err.code).toBe('IN101');
        expect(err.message).toMatch(/different types/);
      });

      it('pages a mixed OR filter across its queries without gaps or repeats', async () => {
        const index = await seedCatalogue();
        const filter = {
          or: [
            { field: 'tags', op: 'eq' as const, value: 'coffee' },
            { field: 'price', op: 'lt' as const, value: 30 },
          ],
        };
        const all = await provider().search({ index, query: '', filter, sort: ['price:asc'], limit: 100 });
        expect(all.hits.map((h) => h.id)).toEqual(['p08', 'p02', 'p04', 'p01']);
        const pages: string[] = [];
        for (let offset = 0; offset < 4; offset += 3) {
          const page = await provider().search({
            index,
            query: '',
            filter,
            sort: ['price:asc'],
            limit: 3,
            offset,
          });
          expect(page.totalHits).toBe(4);
          pages.push(...page.hits.map((h) => h.id));
        }
        expect(pages).toEqual(['p08', 'p02', 'p04', 'p01']);
      });

      it('sorts through standard replicas: one per sortable field and direction, multi-key ones on first use', async () => {
        const index = await seedCatalogue();
        for (const field of CATALOGUE_INDEX_CONFIG.sortable!) {
          expect(fake.indexNames()).toContain(`${index}_${field}_asc`);
          expect(fake.indexNames()).toContain(`${index}_${field}_desc`);
        }
        await provider().search({ index, query: '', sort: ['price:desc'] });
        expect(fake.requests().at(-1)!.path).toBe(`/1/indexes/${index}_price_desc/query`);
        expect(fake.indexNames()).not.toContain(`${index}_category_asc_price_desc`);
        await provider().search({ index, query: '', sort: ['category:asc', 'price:desc'] });
        expect(fake.indexNames()).toContain(`${index}_category_asc_price_desc`);
      });

      it('hides the provider attributes (_fields, _sort) from hits and refuses documents that carry them', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({ index, query: 'espresso' });
        expect(Object.keys(r.hits[0]!.document).sort()).toEqual(Object.keys(PRODUCT_CATALOGUE.p01!).sort());
        const err = await rejection(provider().indexDocument({ id: 'x', index, data: { _fields: ['a'] } }));
        expect(err.code).toBe('IN107');
      });

      it('keeps the index configuration in the index settings, so a new provider instance enforces it', async () => {
        const index = await seedCatalogue();
        const other = await createAlgoliaSearch({
          appId: fake.appId,
          apiKey: fake.apiKey,
          hosts: [fake.url],
        });
        try {
          const sorted = await other.search({ index, query: '', sort: ['price:asc'], limit: 2 });
          expect(sorted.hits.map((h) => h.id)).toEqual(['p08', 'p02']);
          const err = await rejection(
            other.search({ index, query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
          );
          expect(err.code).toBe('IN101');
          // A multi-key replica created by one instance is reused by the next (no settings change).
          await provider().search({ index, query: '', sort: ['category:desc', 'price:asc'] });
          const before = fake.requests().filter((r) => r.method === 'PUT').length;
          const r = await other.search({ index, query: '', sort: ['category:desc', 'price:asc'], limit: 1 });
          expect(r.hits.map((h) => h.id)).toEqual(['p04']);
          expect(fake.requests().filter((q) => q.method === 'PUT').length).toBe(before);
        } finally {
          await other.close();
        }
      });

      it('a syntax error in rawFilter is IN101 with the engine message', async () => {
        const index = await seedCatalogue();
        const err = await rejection(
          provider().search({ index, query: '', rawFilter: 'category:"unterminated' }),
        );
        expect(err.code).toBe('IN101');
        expect(err.message).toMatch(/incomplete string/);
      });

      it('dropIndex removes the index and its replicas; a missing index is fine', async () => {
        const index = newIndex();
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['rank'] });
        expect(fake.indexNames()).toEqual(
          expect.arrayContaining([index, `${index}_rank_asc`, `${index}_rank_desc`]),
        );
        await (provider() as AlgoliaSearchProvider).dropIndex(index);
        expect(fake.indexNames().filter((n) => n.startsWith(index))).toEqual([]);
        await expect((provider() as AlgoliaSearchProvider).dropIndex(index)).resolves.toBeUndefined();
      });

      it('reconfiguring drops the replicas of fields that are no longer sortable', async () => {
        const index = newIndex();
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['a', 'b'] });
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['b'] });
        const names = fake.indexNames().filter((n) => n.startsWith(`${index}_`));
        expect(names.sort()).toEqual([`${index}_b_asc`, `${index}_b_desc`]);
      });
    },
  },
);

// ---------------------------------------------------------------------------------------------
// The contract against a real Algolia application, when credentials are given.

const realAppId = process.env.ALGOLIA_APP_ID;
const realApiKey = process.env.ALGOLIA_API_KEY;
if (realAppId && realApiKey) {
  describeSearchProvider(
    'algolia (real application)',
    () =>
      createAlgoliaSearch({
        appId: realAppId,
        apiKey: realApiKey,
        timeoutMs: 15_000,
        taskTimeoutMs: 120_000,
      }),
    { rawFilter: RAW_FILTER, dropIndexes, indexPrefix: 'fraiseql_test' },
  );
} else {
  console.log(
    '[search-algolia] real Algolia suite not run: set ALGOLIA_APP_ID and ALGOLIA_API_KEY to run it against an application.',
  );
}
