import {
  type ErrorCode,
  type Filter,
  type IndexConfig,
  isIntegrationError,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CATALOGUE_IDS,
  CATALOGUE_INDEX_CONFIG,
  type CatalogueProduct,
  catalogueDocuments,
  numberedDocuments,
  OPERATOR_BRAND,
  PLAIN_BRAND,
  PRODUCT_CATALOGUE,
  TRICKY_BRAND,
  UNICODE_BRAND,
} from './search-fixtures';
import { uniqueName } from './services';

/** What `additionalTests` receives, so backend-specific tests can reuse the suite's setup. */
export interface SearchSuiteContext {
  /** The provider the suite created (valid inside tests and hooks). */
  provider(): SearchProvider;
  /** A fresh, unused index name; the suite hands it to `dropIndexes` at the end. */
  newIndex(prefix?: string): string;
  /** A new index configured with `CATALOGUE_INDEX_CONFIG` and holding the product catalogue. */
  seedCatalogue(): Promise<string>;
}

export interface SearchSuiteOptions {
  /**
   * Whether `search` on an index that was never created rejects with IN100 (IndexNotFound).
   * Default `true`. Providers that create indexes on first write and treat unknown indexes as
   * empty (the mock) pass `false`; the suite then checks that such a search resolves empty.
   */
  unknownIndexThrows?: boolean;
  /**
   * An engine-syntax `rawFilter` over the catalogue and the ids it selects, e.g. for Meilisearch
   * `{ filter: 'category = kitchen', ids: ['p01', 'p02', 'p09'] }`. When given, the suite checks
   * that it passes through and combines with the portable `filter` by AND. Default: not tested
   * (there is no engine-neutral raw syntax).
   */
  rawFilter?: { filter: string; ids: string[] };
  /**
   * Removes the indexes the suite created, after its last test (the contract has no drop-index
   * operation). Default: none — indexes are left behind, each under a unique name.
   */
  dropIndexes?: (provider: SearchProvider, indexes: string[]) => Promise<void>;
  /** Prefix of every index name the suite creates. Default `"s"`. */
  indexPrefix?: string;
  /** Registers backend-specific tests inside the suite's `describe` block. */
  additionalTests?: (ctx: SearchSuiteContext) => void;
}

type Query = Omit<SearchQuery, 'index'>;

/** Awaits `run()` and checks that it rejected (not threw synchronously) with an IntegrationError of `code`. */
async function expectCode(run: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  let promise: Promise<unknown>;
  try {
    promise = run();
  } catch (err) {
    throw new Error(
      `expected a rejected promise with ${code}, but the call threw synchronously: ${String(err)}`,
    );
  }
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a rejection with ${code}, but the call resolved`).toBeDefined();
  expect(isIntegrationError(error), `expected an IntegrationError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code, String((error as Error).message)).toBe(code);
}

const sortedIds = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id).sort();
const orderedIds = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id);
const without = (...ids: string[]): string[] => CATALOGUE_IDS.filter((id) => !ids.includes(id));
const day = (iso: string): Date => new Date(`${iso}T00:00:00.000Z`);
const byPrice = (ids: readonly string[], dir: 1 | -1 = 1): string[] =>
  [...ids].sort((a, b) => dir * (PRODUCT_CATALOGUE[a]!.price - PRODUCT_CATALOGUE[b]!.price));
const facetSet = (r: SearchResult<unknown>, field: string) =>
  [...(r.facets?.[field] ?? [])].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
const stripMarks = (s: string): string => s.replace(/<\/?mark>/g, '');

/** Index names every engine must refuse with IN106 before talking to the backend. */
export const INVALID_INDEX_NAMES: readonly string[] = [
  '',
  'a'.repeat(65),
  'a b',
  'x;drop table',
  '"; DROP TABLE users; --',
  '../etc',
];

/**
 * The SearchProvider contract (DESIGN §3.3) as a vitest suite. A provider's test file calls it in
 * one line; every test uses indexes of its own, so suites can run in parallel against one server.
 *
 * Assertions are limited to what every engine (Postgres FTS, Meilisearch, Typesense, Algolia,
 * the mock) guarantees: matched ids are compared as sets, relevance order among ties is never
 * assumed, and multi-word queries require every word (providers run engines in
 * "all words" mode: Meilisearch `matchingStrategy: "all"`, Typesense `drop_tokens_threshold: 0`).
 * `limit` above 1000 is rejected with IN101 rather than clamped, so a caller never silently
 * gets fewer hits than asked for.
 */
export function describeSearchProvider(
  name: string,
  factory: () => Promise<SearchProvider>,
  opts: SearchSuiteOptions = {},
): void {
  const unknownIndexThrows = opts.unknownIndexThrows ?? true;
  const prefix = opts.indexPrefix ?? 's';

  describe(`SearchProvider conformance: ${name}`, () => {
    let provider: SearchProvider | undefined;
    const created: string[] = [];

    const p = (): SearchProvider => {
      if (!provider) throw new Error('the search provider factory has not run (or failed)');
      return provider;
    };
    const newIndex = (tag = ''): string => {
      const index = uniqueName(`${prefix}${tag}`);
      created.push(index);
      return index;
    };
    const configure = (index: string, config: IndexConfig = CATALOGUE_INDEX_CONFIG) =>
      p().configureIndex(index, structuredClone(config) as IndexConfig);
    const seedCatalogue = async (): Promise<string> => {
      const index = newIndex();
      await configure(index);
      const bulk = await p().indexDocuments(catalogueDocuments(index));
      expect(bulk).toEqual({ succeeded: CATALOGUE_IDS.length, failed: [] });
      return index;
    };

    beforeAll(async () => {
      provider = await factory();
    });

    afterAll(async () => {
      if (!provider) return;
      try {
        if (opts.dropIndexes && created.length > 0) await opts.dropIndexes(provider, created);
      } finally {
        await provider.close();
      }
    });

    it('has a name and reports healthy', async () => {
      expect(typeof p().name).toBe('string');
      expect(p().name.length).toBeGreaterThan(0);
      expect(await p().healthCheck()).toBe(true);
    });

    it('close() is idempotent', async () => {
      const own = await factory();
      await own.close();
      await expect(own.close()).resolves.toBeUndefined();
    });

    describe('queries over the product catalogue', () => {
      let index = '';
      const search = <T = CatalogueProduct>(q: Query) => p().search<T>({ index, ...q });
      const idsOf = async (q: Query): Promise<string[]> => sortedIds(await search(q));
      const filtered = (filter: Filter) => idsOf({ query: '', filter, limit: 100 });

      beforeAll(async () => {
        index = await seedCatalogue();
      });

      describe('words', () => {
        it('a word query returns exactly the documents containing the word, in any searchable field', async () => {
          expect(await idsOf({ query: 'espresso' })).toEqual(['p01']);
          expect(await idsOf({ query: 'keyboard' })).toEqual(['p05']);
          // One match in a name, one in a description.
          expect(await idsOf({ query: 'guide' })).toEqual(['p07', 'p08']);
          expect(await idsOf({ query: 'coffee' })).toEqual(['p01', 'p02']);
        });

        it('matching is case-insensitive', async () => {
          expect(await idsOf({ query: 'ESPRESSO' })).toEqual(['p01']);
          expect(await idsOf({ query: 'Keyboard' })).toEqual(['p05']);
        });

        it('every word of a multi-word query must match', async () => {
          expect(await idsOf({ query: 'coffee mug' })).toEqual(['p02']);
          expect(await idsOf({ query: 'espresso keyboard' })).toEqual([]);
        });

        it('the last word matches as a prefix (search as you type)', async () => {
          expect(await idsOf({ query: 'headph' })).toEqual(['p06']);
          expect(await idsOf({ query: 'ceramic mu' })).toEqual(['p02']);
        });

        it('non-ASCII words match', async () => {
          expect(await idsOf({ query: 'brûlée' })).toEqual(['p09']);
        });

        it('fields that are not searchable are not matched', async () => {
          // "Clack" is only the brand of p05/p06, and brand is filterable but not searchable.
          expect(await idsOf({ query: 'clack' })).toEqual([]);
        });

        it('a word no document contains gives no hits and totalHits 0', async () => {
          const r = await search({ query: 'zeppelin' });
          expect(r.hits).toEqual([]);
          expect(r.totalHits).toBe(0);
        });

        it('query "" browses every document', async () => {
          const r = await search({ query: '' });
          expect(sortedIds(r)).toEqual([...CATALOGUE_IDS]);
          expect(r.totalHits).toBe(CATALOGUE_IDS.length);
        });

        it('hits carry the id and the document as indexed (quotes, colons, backticks, unicode intact)', async () => {
          const r = await search({ query: '' });
          expect(r.hits).toHaveLength(CATALOGUE_IDS.length);
          for (const hit of r.hits) {
            expect(typeof hit.id).toBe('string');
            expect(hit.document).toMatchObject(PRODUCT_CATALOGUE[hit.id]!);
          }
          const p07 = r.hits.find((h) => h.id === 'p07')!;
          expect(p07.document.brand).toBe(TRICKY_BRAND);
          expect(r.hits.find((h) => h.id === 'p09')!.document.brand).toBe(UNICODE_BRAND);
        });

        it('result metadata: totalHitsExact is a boolean, processingTimeMs a number ≥ 0', async () => {
          for (const q of ['coffee', '']) {
            const r = await search({ query: q });
            expect(typeof r.totalHitsExact).toBe('boolean');
            expect(typeof r.processingTimeMs).toBe('number');
            expect(Number.isFinite(r.processingTimeMs)).toBe(true);
            expect(r.processingTimeMs).toBeGreaterThanOrEqual(0);
          }
        });

        it('when hits carry scores, they are finite and in relevance order for a word query without sort', async () => {
          for (const q of ['coffee', 'guide']) {
            const r = await search({ query: q });
            expect(r.hits.length).toBe(2);
            const scores = r.hits.map((h) => h.score).filter((s): s is number => s !== undefined);
            for (const s of scores) expect(Number.isFinite(s)).toBe(true);
            if (scores.length === r.hits.length) {
              for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
            }
          }
        });
      });

      describe('filters', () => {
        it('eq on a string, a number and a boolean', async () => {
          expect(await filtered({ field: 'category', op: 'eq', value: 'kitchen' })).toEqual([
            'p01',
            'p02',
            'p09',
          ]);
          expect(await filtered({ field: 'price', op: 'eq', value: 12.5 })).toEqual(['p02']);
          expect(await filtered({ field: 'in_stock', op: 'eq', value: false })).toEqual([
            'p03',
            'p06',
            'p09',
          ]);
        });

        it('eq on an array field means "contains"', async () => {
          expect(await filtered({ field: 'tags', op: 'eq', value: 'travel' })).toEqual(['p06', 'p08']);
          expect(await filtered({ field: 'tags', op: 'eq', value: 'coffee' })).toEqual(['p01', 'p02']);
        });

        it('neq keeps documents that lack the field', async () => {
          expect(await filtered({ field: 'category', op: 'neq', value: 'kitchen' })).toEqual(
            without('p01', 'p02', 'p09'),
          );
          // p10 has no category and must be in the result.
          expect(await filtered({ field: 'category', op: 'neq', value: 'kitchen' })).toContain('p10');
        });

        it('neq on an array field excludes documents containing the value', async () => {
          expect(await filtered({ field: 'tags', op: 'neq', value: 'coffee' })).toEqual(
            without('p01', 'p02'),
          );
        });

        it('gt, gte, lt, lte on numbers (bounds equal to a value)', async () => {
          expect(await filtered({ field: 'price', op: 'gt', value: 89.75 })).toEqual(['p01', 'p05', 'p06']);
          expect(await filtered({ field: 'price', op: 'gte', value: 89.75 })).toEqual([
            'p01',
            'p03',
            'p05',
            'p06',
          ]);
          expect(await filtered({ field: 'price', op: 'lt', value: 25.5 })).toEqual(['p02', 'p08']);
          expect(await filtered({ field: 'price', op: 'lte', value: 25.5 })).toEqual(['p02', 'p04', 'p08']);
        });

        it('between is inclusive at both ends', async () => {
          expect(await filtered({ field: 'price', op: 'between', value: [25.5, 89.75] })).toEqual([
            'p03',
            'p04',
            'p07',
            'p09',
            'p10',
          ]);
        });

        it('in matches any of the values, on scalars and on arrays', async () => {
          expect(await filtered({ field: 'category', op: 'in', value: ['books', 'sports'] })).toEqual([
            'p03',
            'p04',
            'p07',
            'p08',
          ]);
          expect(await filtered({ field: 'price', op: 'in', value: [9.25, 299.75] })).toEqual(['p06', 'p08']);
          expect(await filtered({ field: 'tags', op: 'in', value: ['dessert', 'gift'] })).toEqual([
            'p09',
            'p10',
          ]);
        });

        it('nin excludes every value and keeps documents that lack the field', async () => {
          expect(await filtered({ field: 'category', op: 'nin', value: ['books', 'sports'] })).toEqual([
            'p01',
            'p02',
            'p05',
            'p06',
            'p09',
            'p10',
          ]);
          expect(await filtered({ field: 'tags', op: 'nin', value: ['coffee', 'reference'] })).toEqual(
            without('p01', 'p02', 'p07', 'p08'),
          );
        });

        it('exists true / false', async () => {
          expect(await filtered({ field: 'category', op: 'exists', value: true })).toEqual(without('p10'));
          expect(await filtered({ field: 'category', op: 'exists' })).toEqual(without('p10'));
          expect(await filtered({ field: 'category', op: 'exists', value: false })).toEqual(['p10']);
        });

        it('an OR group matches documents passing any of its conditions', async () => {
          const filter: Filter = {
            or: [
              { field: 'category', op: 'eq', value: 'books' },
              { field: 'price', op: 'gt', value: 250 },
            ],
          };
          expect(await filtered(filter)).toEqual(['p06', 'p07', 'p08']);
        });

        it('an AND of clauses (including an OR group) matches documents passing all of them', async () => {
          expect(
            await filtered({
              and: [
                { field: 'category', op: 'eq', value: 'kitchen' },
                { field: 'in_stock', op: 'eq', value: true },
              ],
            }),
          ).toEqual(['p01', 'p02']);
          expect(
            await filtered({
              and: [
                {
                  or: [
                    { field: 'category', op: 'eq', value: 'kitchen' },
                    { field: 'category', op: 'eq', value: 'electronics' },
                  ],
                },
                { field: 'price', op: 'lt', value: 150 },
              ],
            }),
          ).toEqual(['p02', 'p05', 'p09']);
        });

        it('dates are filtered as epoch milliseconds (Date values accepted)', async () => {
          expect(await filtered({ field: 'released_at', op: 'gte', value: day('2023-03-10') })).toEqual([
            'p03',
            'p05',
            'p06',
            'p10',
          ]);
          expect(await filtered({ field: 'released_at', op: 'lt', value: day('2020-01-01') })).toEqual([
            'p08',
          ]);
          expect(
            await filtered({
              field: 'released_at',
              op: 'between',
              value: [day('2022-01-01'), day('2022-12-31')],
            }),
          ).toEqual(['p02', 'p09']);
          // The same instant as a number selects the same documents.
          expect(
            await filtered({ field: 'released_at', op: 'gte', value: day('2023-03-10').getTime() }),
          ).toEqual(['p03', 'p05', 'p06', 'p10']);
        });

        it('values with quotes, colons, backticks, operators, backslashes and unicode match exactly', async () => {
          expect(await filtered({ field: 'brand', op: 'eq', value: TRICKY_BRAND })).toEqual(['p07']);
          expect(await filtered({ field: 'brand', op: 'eq', value: PLAIN_BRAND })).toEqual(['p08']);
          expect(await filtered({ field: 'brand', op: 'eq', value: OPERATOR_BRAND })).toEqual(['p10']);
          expect(await filtered({ field: 'brand', op: 'eq', value: UNICODE_BRAND })).toEqual(['p09']);
          expect(await filtered({ field: 'brand', op: 'in', value: [TRICKY_BRAND, OPERATOR_BRAND] })).toEqual(
            ['p07', 'p10'],
          );
          expect(await filtered({ field: 'brand', op: 'neq', value: TRICKY_BRAND })).toEqual(without('p07'));
          // An injection attempt is just a value that matches nothing.
          expect(await filtered({ field: 'brand', op: 'eq', value: `x" OR brand = "Brava` })).toEqual([]);
          expect(await filtered({ field: 'brand', op: 'eq', value: "x' OR '1'='1" })).toEqual([]);
        });

        it('a filter combines with a word query', async () => {
          expect(await idsOf({ query: 'guide', filter: { field: 'price', op: 'lt', value: 20 } })).toEqual([
            'p08',
          ]);
          const r = await search({ query: 'coffee', filter: { field: 'tags', op: 'eq', value: 'ceramic' } });
          expect(sortedIds(r)).toEqual(['p02']);
          expect(r.totalHits).toBe(1);
        });

        it('totalHits counts the filtered set', async () => {
          const r = await search({
            query: '',
            filter: { field: 'category', op: 'eq', value: 'kitchen' },
            limit: 1,
          });
          expect(r.hits).toHaveLength(1);
          expect(r.totalHits).toBe(3);
        });

        it('filtering on a field not declared filterable is IN101', async () => {
          await expectCode(
            () => search({ query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
            'IN101',
          );
          await expectCode(
            () =>
              search({
                query: '',
                filter: {
                  and: [
                    { field: 'category', op: 'eq', value: 'kitchen' },
                    { field: 'name', op: 'exists' },
                  ],
                },
              }),
            'IN101',
          );
        });

        it('a malformed filter is IN101', async () => {
          await expectCode(
            () =>
              search({ query: '', filter: { field: 'price', op: 'like', value: 1 } as unknown as Filter }),
            'IN101',
          );
          await expectCode(
            () =>
              search({
                query: '',
                filter: { field: 'price', op: 'between', value: [1] } as unknown as Filter,
              }),
            'IN101',
          );
          await expectCode(
            () => search({ query: '', filter: { field: 'tags', op: 'in', value: [] } }),
            'IN101',
          );
        });

        if (opts.rawFilter) {
          const raw = opts.rawFilter;
          it('rawFilter passes engine syntax through and combines with filter by AND', async () => {
            expect(sortedIds(await search({ query: '', rawFilter: raw.filter, limit: 100 }))).toEqual(
              [...raw.ids].sort(),
            );
            const inStock = CATALOGUE_IDS.filter((id) => PRODUCT_CATALOGUE[id]!.in_stock);
            const r = await search({
              query: '',
              rawFilter: raw.filter,
              filter: { field: 'in_stock', op: 'eq', value: true },
              limit: 100,
            });
            expect(sortedIds(r)).toEqual(raw.ids.filter((id) => inStock.includes(id)).sort());
          });
        }
      });

      describe('sort', () => {
        it('sorts ascending and descending by a number', async () => {
          const asc = await search({ query: '', sort: ['price:asc'] });
          expect(orderedIds(asc)).toEqual(byPrice(CATALOGUE_IDS));
          const desc = await search({ query: '', sort: ['price:desc'] });
          expect(orderedIds(desc)).toEqual(byPrice(CATALOGUE_IDS, -1));
        });

        it('sorts by a date stored as epoch ms', async () => {
          const r = await search({ query: '', sort: ['released_at:desc'] });
          expect(orderedIds(r)).toEqual([
            'p10',
            'p05',
            'p06',
            'p03',
            'p01',
            'p09',
            'p02',
            'p04',
            'p07',
            'p08',
          ]);
        });

        it('sorts by two keys', async () => {
          const r = await search({
            query: '',
            filter: { field: 'category', op: 'exists' },
            sort: ['category:asc', 'price:desc'],
          });
          expect(orderedIds(r)).toEqual(['p07', 'p08', 'p06', 'p05', 'p01', 'p09', 'p02', 'p03', 'p04']);
        });

        it('sort applies to the hits of a word query', async () => {
          expect(orderedIds(await search({ query: 'guide', sort: ['price:asc'] }))).toEqual(['p08', 'p07']);
          expect(orderedIds(await search({ query: 'guide', sort: ['price:desc'] }))).toEqual(['p07', 'p08']);
        });

        it('sorting on a field not declared sortable, or with a bad direction, is IN101', async () => {
          await expectCode(() => search({ query: '', sort: ['description:asc'] }), 'IN101');
          await expectCode(() => search({ query: '', sort: ['price:sideways'] }), 'IN101');
        });
      });

      describe('pagination', () => {
        it('limit/offset pages are disjoint, cover every hit, and keep totalHits stable', async () => {
          const seen: string[] = [];
          for (let offset = 0; offset < CATALOGUE_IDS.length; offset += 3) {
            const r = await search({ query: '', sort: ['price:asc'], limit: 3, offset });
            expect(r.totalHits).toBe(CATALOGUE_IDS.length);
            expect(r.hits.length).toBe(Math.min(3, CATALOGUE_IDS.length - offset));
            seen.push(...orderedIds(r));
          }
          expect(seen).toEqual(byPrice(CATALOGUE_IDS));
        });

        it('pages of an unsorted browse are disjoint and cover every document', async () => {
          const seen: string[] = [];
          for (let offset = 0; offset < CATALOGUE_IDS.length; offset += 4) {
            const r = await search({ query: '', limit: 4, offset });
            expect(r.totalHits).toBe(CATALOGUE_IDS.length);
            seen.push(...orderedIds(r));
          }
          expect(seen).toHaveLength(CATALOGUE_IDS.length);
          expect([...seen].sort()).toEqual([...CATALOGUE_IDS]);
        });

        it('an offset past the end gives no hits but the full totalHits', async () => {
          const r = await search({ query: '', offset: 50 });
          expect(r.hits).toEqual([]);
          expect(r.totalHits).toBe(CATALOGUE_IDS.length);
        });

        it('limit 1000 is accepted; above 1000 is IN101 (rejected, not clamped)', async () => {
          expect((await search({ query: '', limit: 1000 })).hits).toHaveLength(CATALOGUE_IDS.length);
          await expectCode(() => search({ query: '', limit: 1001 }), 'IN101');
        });

        it('a negative or fractional limit or offset is IN101', async () => {
          await expectCode(() => search({ query: '', limit: -1 }), 'IN101');
          await expectCode(() => search({ query: '', limit: 2.5 }), 'IN101');
          await expectCode(() => search({ query: '', offset: -1 }), 'IN101');
          await expectCode(() => search({ query: '', offset: 1.5 }), 'IN101');
        });
      });

      describe('facets', () => {
        it('counts each value over the filtered set (array fields count every element)', async () => {
          const r = await search({
            query: '',
            filter: { field: 'in_stock', op: 'eq', value: true },
            facets: ['category', 'tags'],
          });
          expect(r.totalHits).toBe(7);
          expect(facetSet(r, 'category')).toEqual([
            { value: 'books', count: 2 },
            { value: 'electronics', count: 1 },
            { value: 'kitchen', count: 2 },
            { value: 'sports', count: 1 },
          ]);
          expect(facetSet(r, 'tags')).toEqual([
            { value: 'appliance', count: 1 },
            { value: 'ceramic', count: 1 },
            { value: 'coffee', count: 2 },
            { value: 'computer', count: 1 },
            { value: 'fitness', count: 1 },
            { value: 'gift', count: 1 },
            { value: 'reference', count: 2 },
            { value: 'travel', count: 1 },
            { value: 'typing', count: 1 },
          ]);
        });

        it('counts only the documents matching the word query', async () => {
          const r = await search({ query: 'coffee', facets: ['category'] });
          expect(facetSet(r, 'category')).toEqual([{ value: 'kitchen', count: 2 }]);
        });

        it('counts the whole result, not just the returned page', async () => {
          const r = await search({ query: '', facets: ['category'], limit: 1 });
          expect(r.hits).toHaveLength(1);
          expect(facetSet(r, 'category')).toEqual([
            { value: 'books', count: 2 },
            { value: 'electronics', count: 2 },
            { value: 'kitchen', count: 3 },
            { value: 'sports', count: 2 },
          ]);
        });

        it('a facet on a field not declared filterable is IN101', async () => {
          await expectCode(() => search({ query: '', facets: ['description'] }), 'IN101');
        });
      });

      describe('highlights', () => {
        it('wrap the matched words of the requested fields in <mark>…</mark>', async () => {
          const r = await search({ query: 'espresso', highlight: ['name', 'description'] });
          expect(orderedIds(r)).toEqual(['p01']);
          const h = r.hits[0]!.highlights;
          expect(h).toBeDefined();
          expect(h!.name).toMatch(/<mark>espresso<\/mark>/i);
          expect(stripMarks(h!.name!)).toBe('Espresso Machine');
          expect(h!.name!.match(/<mark>/g)).toHaveLength(1);
          expect(h!.description).toMatch(/<mark>espresso<\/mark>/i);
          expect(h!.description).not.toMatch(/<mark>[^<]*coffee/i);
        });

        it('highlight the words of a multi-word query wherever they occur', async () => {
          const r = await search({ query: 'coffee mug', highlight: ['name', 'description'] });
          expect(orderedIds(r)).toEqual(['p02']);
          const h = r.hits[0]!.highlights!;
          expect(h.name).toMatch(/<mark>mug<\/mark>/i);
          expect(h.description).toMatch(/<mark>coffee<\/mark>/i);
        });

        it('mark a non-ASCII word as one word', async () => {
          const r = await search({ query: 'brûlée', highlight: ['name'] });
          expect(orderedIds(r)).toEqual(['p09']);
          const name = r.hits[0]!.highlights!.name!;
          expect(name).toMatch(/<mark>brûlée<\/mark>/i);
          expect(stripMarks(name)).toBe('Crème Brûlée Torch');
        });
      });
    });

    describe('limits', () => {
      it('limit defaults to 20 (25 documents indexed)', async () => {
        const index = newIndex();
        await configure(index, { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] });
        expect(await p().indexDocuments(numberedDocuments(index, 25))).toEqual({ succeeded: 25, failed: [] });
        const r = await p().search({ index, query: '' });
        expect(r.hits).toHaveLength(20);
        expect(r.totalHits).toBe(25);
        const sorted = await p().search({ index, query: 'item', sort: ['rank:asc'], offset: 20 });
        expect(orderedIds(sorted)).toEqual(['d021', 'd022', 'd023', 'd024', 'd025']);
        expect(sorted.totalHits).toBe(25);
      });
    });

    describe('writes', () => {
      it('indexDocument is visible to the very next search', async () => {
        const index = newIndex();
        await configure(index);
        await p().indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } });
        const r = await p().search({ index, query: 'espresso' });
        expect(orderedIds(r)).toEqual(['p01']);
        expect(r.hits[0]!.document).toMatchObject(PRODUCT_CATALOGUE.p01!);
      });

      it('indexDocuments is visible to the very next search', async () => {
        const index = await seedCatalogue();
        const r = await p().search({
          index,
          query: '',
          filter: { field: 'category', op: 'eq', value: 'books' },
        });
        expect(sortedIds(r)).toEqual(['p07', 'p08']);
      });

      it('indexDocument with an existing id replaces the document (not merges)', async () => {
        const index = await seedCatalogue();
        await p().indexDocument({
          id: 'p05',
          index,
          data: {
            name: 'Ergonomic Trackball',
            description: 'Smooth pointer control',
            price: 60.5,
            in_stock: true,
          },
        });
        expect(sortedIds(await p().search({ index, query: 'keyboard' }))).toEqual([]);
        const r = await p().search({ index, query: 'trackball' });
        expect(orderedIds(r)).toEqual(['p05']);
        expect(r.hits[0]!.document).toMatchObject({ name: 'Ergonomic Trackball', price: 60.5 });
        // Fields of the old version are gone.
        expect(r.hits[0]!.document.tags).toBeUndefined();
        expect(r.hits[0]!.document.category).toBeUndefined();
        expect((await p().search({ index, query: '' })).totalHits).toBe(CATALOGUE_IDS.length);
        const electronics = await p().search({
          index,
          query: '',
          filter: { field: 'category', op: 'eq', value: 'electronics' },
        });
        expect(sortedIds(electronics)).toEqual(['p06']);
      });

      it('deleteDocument removes the document at once; deleting a missing id resolves', async () => {
        const index = await seedCatalogue();
        await p().deleteDocument(index, 'p01');
        expect(sortedIds(await p().search({ index, query: 'espresso' }))).toEqual([]);
        expect(sortedIds(await p().search({ index, query: 'coffee' }))).toEqual(['p02']);
        const browse = await p().search({ index, query: '', limit: 100 });
        expect(browse.totalHits).toBe(CATALOGUE_IDS.length - 1);
        expect(sortedIds(browse)).toEqual(without('p01'));
        await expect(p().deleteDocument(index, 'p01')).resolves.toBeUndefined();
        await expect(p().deleteDocument(index, 'never-indexed')).resolves.toBeUndefined();
      });

      it('clearIndex empties the index but keeps its configuration', async () => {
        const index = await seedCatalogue();
        await p().clearIndex(index);
        const empty = await p().search({ index, query: '' });
        expect(empty.hits).toEqual([]);
        expect(empty.totalHits).toBe(0);
        // Still configured: filterable fields filter, non-filterable ones are still refused.
        await p().indexDocuments(catalogueDocuments(index).filter((d) => ['p04', 'p08'].includes(d.id)));
        const r = await p().search({
          index,
          query: '',
          filter: { field: 'category', op: 'eq', value: 'books' },
        });
        expect(sortedIds(r)).toEqual(['p08']);
        expect(orderedIds(await p().search({ index, query: '', sort: ['price:desc'] }))).toEqual([
          'p04',
          'p08',
        ]);
        await expectCode(
          () => p().search({ index, query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
          'IN101',
        );
      });

      it('indexDocuments reports per-document failures and indexes the rest', async () => {
        const index = newIndex();
        await configure(index);
        const docs = catalogueDocuments(index).slice(0, 3);
        const bad = [
          { id: '', index, data: { name: 'Empty id' } },
          { index, data: { name: 'Missing id' } } as unknown as (typeof docs)[number],
          { id: 'p99', index, data: null } as unknown as (typeof docs)[number],
        ];
        const result = await p().indexDocuments([docs[0]!, bad[0]!, docs[1]!, bad[1]!, bad[2]!, docs[2]!]);
        expect(result.succeeded).toBe(3);
        expect(result.failed).toHaveLength(3);
        for (const f of result.failed) {
          expect(typeof f.id).toBe('string');
          expect(typeof f.reason).toBe('string');
          expect(f.reason.length).toBeGreaterThan(0);
        }
        expect(result.failed.map((f) => f.id)).toContain('');
        expect(result.failed.map((f) => f.id)).toContain('p99');
        const r = await p().search({ index, query: '' });
        expect(sortedIds(r)).toEqual(['p01', 'p02', 'p03']);
      });

      it('indexDocuments of an empty array succeeds with nothing to do', async () => {
        const index = newIndex();
        await configure(index);
        expect(await p().indexDocuments([])).toEqual({ succeeded: 0, failed: [] });
      });

      it('indexDocument without an id, or with a non-object body, is IN107', async () => {
        const index = newIndex();
        await configure(index);
        await expectCode(() => p().indexDocument({ id: '', index, data: { name: 'x' } }), 'IN107');
        await expectCode(
          () => p().indexDocument({ id: 'x', index, data: 'text' as unknown as Record<string, unknown> }),
          'IN107',
        );
      });

      it('indexes are isolated from each other', async () => {
        const a = await seedCatalogue();
        const b = newIndex();
        await configure(b);
        await p().indexDocument({
          id: 'p01',
          index: b,
          data: { ...PRODUCT_CATALOGUE.p01!, name: 'Other Espresso' },
        });
        expect((await p().search({ index: b, query: '' })).totalHits).toBe(1);
        expect((await p().search({ index: a, query: '' })).totalHits).toBe(CATALOGUE_IDS.length);
        await p().clearIndex(b);
        expect((await p().search({ index: a, query: 'espresso' })).hits[0]!.document).toMatchObject({
          name: 'Espresso Machine',
        });
      });
    });

    describe('indexes', () => {
      it('a configured index with no documents searches empty', async () => {
        const index = newIndex();
        await configure(index);
        const r = await p().search({ index, query: 'anything' });
        expect(r.hits).toEqual([]);
        expect(r.totalHits).toBe(0);
      });

      if (unknownIndexThrows) {
        it('search on an index that does not exist is IN100', async () => {
          await expectCode(() => p().search({ index: uniqueName(`${prefix}missing`), query: 'x' }), 'IN100');
        });
      } else {
        it('search on an unknown index resolves with no hits (this provider creates indexes on first write, no IN100)', async () => {
          const r = await p().search({ index: uniqueName(`${prefix}missing`), query: 'x' });
          expect(r.hits).toEqual([]);
          expect(r.totalHits).toBe(0);
        });
      }

      it('a 64-character name with upper case, "-" and "_" is valid', async () => {
        const index = `${uniqueName(prefix)}-Mixed_Case`.padEnd(64, 'Z');
        created.push(index);
        expect(index).toHaveLength(64);
        await configure(index);
        await p().indexDocument({ id: 'p02', index, data: { ...PRODUCT_CATALOGUE.p02! } });
        expect(orderedIds(await p().search({ index, query: 'mug' }))).toEqual(['p02']);
        await p().deleteDocument(index, 'p02');
        await p().clearIndex(index);
      });

      for (const bad of INVALID_INDEX_NAMES) {
        it(`invalid index name ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…(${bad.length})` : bad)} is IN106 on every method`, async () => {
          const doc = { id: 'p01', index: bad, data: { name: 'x' } };
          await expectCode(() => p().search({ index: bad, query: 'x' }), 'IN106');
          await expectCode(() => p().indexDocument(doc), 'IN106');
          await expectCode(() => p().indexDocuments([doc]), 'IN106');
          await expectCode(() => p().deleteDocument(bad, 'p01'), 'IN106');
          await expectCode(() => p().clearIndex(bad), 'IN106');
          await expectCode(() => p().configureIndex(bad, { searchable: ['name'] }), 'IN106');
        });
      }
    });

    opts.additionalTests?.({ provider: p, newIndex, seedCatalogue });
  });
}
