import type { Filter, IndexConfig, SearchProvider } from '@fraiseql/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { CATALOGUE_IDS, CATALOGUE_INDEX_CONFIG, catalogueDocuments } from './search-fixtures';
import type {
  CatalogueContext,
  Query,
  SearchSuiteContext,
  SearchSuiteOptions,
  SearchTopicContext,
} from './search-suite/context';
import { sortedIds } from './search-suite/context';
import { searchFacetTests } from './search-suite/facets';
import { searchFilterTests } from './search-suite/filters';
import { searchHighlightTests } from './search-suite/highlights';
import { searchIndexTests } from './search-suite/indexes';
import { searchLimitTests } from './search-suite/limits';
import { searchPaginationTests } from './search-suite/pagination';
import { searchProviderTests } from './search-suite/provider';
import { searchSortTests } from './search-suite/sort';
import { searchWordTests } from './search-suite/words';
import { searchWriteTests } from './search-suite/writes';
import { uniqueName } from './services';

export type { SearchSuiteContext, SearchSuiteOptions } from './search-suite/context';
export { INVALID_INDEX_NAMES } from './search-suite/context';

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
 *
 * Each topic lives in `search-suite/<topic>.ts` and registers its tests inside a `describe` named
 * after it, so a failing test's name says which part of the contract broke.
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

    const topic: SearchTopicContext = {
      factory,
      p,
      newIndex,
      configure,
      seedCatalogue,
      created,
      prefix,
      unknownIndexThrows,
    };

    describe('provider', () => searchProviderTests(topic));

    describe('queries over the product catalogue', () => {
      let index = '';
      const search: CatalogueContext['search'] = (q: Query) => p().search({ index, ...q });
      const idsOf = async (q: Query): Promise<string[]> => sortedIds(await search(q));
      const filtered = (filter: Filter) => idsOf({ query: '', filter, limit: 100 });
      const catalogue: CatalogueContext = { search, idsOf, filtered, rawFilter: opts.rawFilter };

      beforeAll(async () => {
        index = await seedCatalogue();
      });

      describe('words', () => searchWordTests(catalogue));
      describe('filters', () => searchFilterTests(catalogue));
      describe('sort', () => searchSortTests(catalogue));
      describe('pagination', () => searchPaginationTests(catalogue));
      describe('facets', () => searchFacetTests(catalogue));
      describe('highlights', () => searchHighlightTests(catalogue));
    });

    describe('limits', () => searchLimitTests(topic));
    describe('writes', () => searchWriteTests(topic));
    describe('indexes', () => searchIndexTests(topic));

    const suiteContext: SearchSuiteContext = { provider: p, newIndex, seedCatalogue };
    opts.additionalTests?.(suiteContext);
  });
}
