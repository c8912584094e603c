import type { SearchCommonOptions } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';

/** tsvector weights, `A` highest. */
export type Weight = 'A' | 'B' | 'C' | 'D';

/**
 * Full-text search over a table that already holds the rows (the original design's "attach"
 * mode): a tsvector column on that table, kept up to date by a `BEFORE INSERT OR UPDATE` trigger,
 * with a GIN index. The table is searched as the index {@link index}; rows are written with
 * plain SQL, never through the provider (its write methods reject such an index with IN005).
 */
export interface AttachedTableOptions {
  /** Columns whose text feeds the tsvector (any type; cast to text). At least one. */
  columns: string[];
  /** Weight per column. Default: every column `D` (as in the original design). */
  weights?: Record<string, Weight>;
  /** Text search configuration. Default: the provider's `defaultLanguage`. */
  language?: string;
  /** Name the table is searched under. Default: the table name without its schema. */
  index?: string;
  /** Column whose value (as text) is a hit's id. Default: the table's single-column primary key, else `id`. */
  idColumn?: string;
  /** The tsvector column added to the table. Default: `<table>_search` (the original design's name). */
  searchColumn?: string;
  /** Columns a filter or facet may use. Default: every column. */
  filterable?: string[];
  /** Columns `sort` may use. Default: every column. */
  sortable?: string[];
}

export interface PostgresSearchOptions extends SearchCommonOptions {
  /** The shared client (`createSqlClient` of `@fraiseql/postgres`): a server or PGlite. Not closed by `close()`. */
  sql: SqlClient;
  /** Schema of the index tables and of the catalog `search_indexes`; created when missing. Default `"_system"`. */
  schema?: string;
  /**
   * Text search configuration of managed indexes (and default of attached tables): `english`
   * stems (`running` finds `run`, `runs`) and drops stop words (`the`, `a`); `simple` only
   * lower-cases, so words match exactly — closest to Meilisearch/Typesense/Algolia. Any
   * configuration of the database works (`french`, `german`, `pg_catalog.simple`, …).
   * Default `"english"` (as in the original design).
   */
  defaultLanguage?: string;
  /** Existing tables to search in place, keyed by `"table"` or `"schema.table"` (schema default `public`). */
  tables?: Record<string, AttachedTableOptions>;
  /** Documents per INSERT statement in `indexDocuments`. Default 500. */
  batchSize?: number;
  /**
   * Whether writing to an index that was never configured creates it (every string and number of
   * the document searchable, every field filterable and sortable — as Meilisearch does on a first
   * write). `false` makes such writes IN100. Default `true`.
   */
  autoCreateIndexes?: boolean;
  /** Most values returned per facet (highest counts first). Default 100. */
  maxFacetValues?: number;
}

/** How the catalog describes a managed index (`config` column of `search_indexes`). */
export interface ManagedIndexConfig {
  kind: 'managed';
  /** `null`: never configured — every string and number of the document is searchable. */
  searchable: string[] | null;
  /** `null`: every field may be filtered/faceted. */
  filterable: string[] | null;
  /** `null`: every field may be sorted on. */
  sortable: string[] | null;
  primaryKey?: string;
}

/** How the catalog describes an attached table. */
export interface AttachedIndexConfig {
  kind: 'attached';
  schema: string;
  table: string;
  idColumn: string;
  searchColumn: string;
  columns: string[];
  weights: Record<string, Weight>;
  filterable: string[] | null;
  sortable: string[] | null;
  /** `date`/`timestamp`/`timestamptz` columns, returned and filtered as epoch milliseconds. */
  dateColumns: string[];
}

export type StoredIndexConfig = ManagedIndexConfig | AttachedIndexConfig;

export interface CatalogRow {
  name: string;
  table_name: string;
  kind: 'managed' | 'attached';
  language: string;
  config: StoredIndexConfig;
}
