export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_LANGUAGE,
  DEFAULT_MAX_FACET_VALUES,
  DEFAULT_SEARCH_SCHEMA,
  HIGHLIGHT_WHOLE_FIELD_MAX_CHARS,
  MAX_ID_BYTES,
} from './constants.ts';
export { createPostgresSearch } from './create.ts';
export { CATALOG_TABLE, tableNameFor } from './names.ts';
export type { PostgresSearchProvider } from './provider.ts';
export { LAST_WORD_PLACEHOLDER, type SplitQuery, splitQuery } from './query-text.ts';
export { assertSingleSelect, countRows, type SqlRowsOptions, sqlRows } from './sql-source.ts';
export type {
  AttachedIndexConfig,
  AttachedTableOptions,
  ManagedIndexConfig,
  PostgresSearchOptions,
  StoredIndexConfig,
  Weight,
} from './types.ts';
