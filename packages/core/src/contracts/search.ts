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
}

/** Options every search factory accepts. */
export interface SearchCommonOptions {
  /** Indexes configured at start (config `[search.indexes.<name>]`). */
  indexes?: Record<string, IndexConfig>;
}

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 1000;
