import type { Filter, IndexConfig, SearchProvider, SearchQuery, SearchResult } from '@fraiseql/core';
import { CATALOGUE_IDS, type CatalogueProduct, PRODUCT_CATALOGUE } from '../search-fixtures';

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

/** What the topic functions that create their own indexes receive. */
export interface SearchTopicContext {
  /** The factory the suite was given (for tests that need a provider of their own). */
  readonly factory: () => Promise<SearchProvider>;
  /** The suite's provider (valid inside tests and hooks). */
  readonly p: () => SearchProvider;
  /** A fresh, unused index name, recorded for `dropIndexes`. */
  readonly newIndex: (tag?: string) => string;
  /** Configures `index` (with `CATALOGUE_INDEX_CONFIG` unless given). */
  readonly configure: (index: string, config?: IndexConfig) => Promise<void>;
  /** A new index configured with `CATALOGUE_INDEX_CONFIG` and holding the product catalogue. */
  readonly seedCatalogue: () => Promise<string>;
  /** Index names handed to `dropIndexes` at the end; push any name created without `newIndex`. */
  readonly created: string[];
  /** `SearchSuiteOptions.indexPrefix` (default `"s"`). */
  readonly prefix: string;
  /** `SearchSuiteOptions.unknownIndexThrows` (default `true`). */
  readonly unknownIndexThrows: boolean;
}

export type Query = Omit<SearchQuery, 'index'>;

/** What the topic functions querying the shared, read-only catalogue index receive. */
export interface CatalogueContext {
  /** Searches the catalogue index. */
  readonly search: <T = CatalogueProduct>(q: Query) => Promise<SearchResult<T>>;
  /** The ids `q` matches, sorted. */
  readonly idsOf: (q: Query) => Promise<string[]>;
  /** The ids a browse (query "") with `filter` matches, sorted. */
  readonly filtered: (filter: Filter) => Promise<string[]>;
  /** `SearchSuiteOptions.rawFilter`. */
  readonly rawFilter: SearchSuiteOptions['rawFilter'];
}

export const sortedIds = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id).sort();
export const orderedIds = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id);
export const without = (...ids: string[]): string[] => CATALOGUE_IDS.filter((id) => !ids.includes(id));
export const day = (iso: string): Date => new Date(`${iso}T00:00:00.000Z`);
export const byPrice = (ids: readonly string[], dir: 1 | -1 = 1): string[] =>
  [...ids].sort((a, b) => dir * (PRODUCT_CATALOGUE[a]!.price - PRODUCT_CATALOGUE[b]!.price));
export const facetSet = (r: SearchResult<unknown>, field: string) =>
  [...(r.facets?.[field] ?? [])].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
export const stripMarks = (s: string): string => s.replace(/<\/?mark>/g, '');

/** Index names every engine must refuse with IN106 before talking to the backend. */
export const INVALID_INDEX_NAMES: readonly string[] = [
  '',
  'a'.repeat(65),
  'a b',
  'x;drop table',
  '"; DROP TABLE users; --',
  '../etc',
];
