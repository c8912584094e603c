import type { Filter } from '../filter';
import type { Provider } from './provider';

export interface SearchQuery {
  index: string;
  /** Words to match; `""` matches every document (browse). */
  query: string;
  /** Portable filter, same meaning on every engine. */
  filter?: Filter;
  /** Engine syntax passed through untouched (combined with `filter` by AND). */
  rawFilter?: string;
  /** `["price:asc", "name:desc"]` */
  sort?: string[];
  /** Default 20, max 1000. */
  limit?: number;
  /** Default 0. */
  offset?: number;
  facets?: string[];
  /** Fields to return highlighted, matches wrapped in `<mark>…</mark>`. */
  highlight?: string[];
}

export interface SearchHit<T> {
  id: string;
  score?: number;
  document: T;
  highlights?: Record<string, string>;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchResult<T> {
  hits: SearchHit<T>[];
  totalHits: number;
  /** False when the engine estimated `totalHits`. */
  totalHitsExact: boolean;
  processingTimeMs: number;
  facets?: Record<string, FacetCount[]>;
}

export interface Document {
  id: string;
  index: string;
  data: Record<string, unknown>;
}

export interface BulkResult {
  succeeded: number;
  failed: { id: string; reason: string }[];
}

export interface IndexConfig {
  searchable: string[];
  filterable?: string[];
  sortable?: string[];
  /** Default `"id"`. */
  primaryKey?: string;
}

export interface SearchProvider extends Provider {
  search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>>;
  /** Resolves once the document is visible to the next search. */
  indexDocument(doc: Document): Promise<void>;
  /** Per-document failures are reported, never swallowed. */
  indexDocuments(docs: Document[]): Promise<BulkResult>;
  deleteDocument(index: string, id: string): Promise<void>;
  clearIndex(index: string): Promise<void>;
  configureIndex(index: string, config: IndexConfig): Promise<void>;
  /**
   * Optional capability: the engine can point an index name at another index atomically, which
   * is what `reindex()` (DESIGN §14.3) builds on. Absent = no zero-downtime reindex (IN005).
   */
  readonly aliases?: SearchAliases;
}

/**
 * Atomic name switching (`provider.aliases`): PostgreSQL renames in one transaction, Meilisearch
 * swaps indexes, Typesense moves a collection alias, Algolia moves an index, Elasticsearch
 * swaps an alias. Index names are the public ones (`products`, `products__1733300000000`).
 */
export interface SearchAliases {
  /**
   * Creates the empty index `next` to be filled and later swapped in for `live`: with `config`
   * when given, else with the settings `live` has now (a fresh default index when `live` does
   * not exist). IN103 when `next` exists already.
   */
  prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void>;
  /**
   * Makes `live` answer from the documents and settings of `next` in one atomic step — a search
   * running meanwhile sees the old documents or the new ones, never an error or an empty page —
   * then drops the documents `live` served before. `next` no longer exists as its own name
   * afterwards. Works when `live` did not exist yet.
   */
  swapIndex(live: string, next: string): Promise<void>;
  /** Removes an index built by `prepareIndex` (a reindex that failed). Resolves when it is absent. */
  dropIndex(name: string): Promise<void>;
}

/** Options every search factory accepts. */
export interface SearchCommonOptions {
  /** Indexes configured at start (config `[search.indexes.<name>]`). */
  indexes?: Record<string, IndexConfig>;
}

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 1000;
