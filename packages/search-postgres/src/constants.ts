/** Default schema of the index tables and the catalog. */
export const DEFAULT_SEARCH_SCHEMA = '_system';
/** Default text search configuration. */
export const DEFAULT_LANGUAGE = 'english';
/** Default documents per INSERT in `indexDocuments`. */
export const DEFAULT_BATCH_SIZE = 500;
/** Default most values per facet. */
export const DEFAULT_MAX_FACET_VALUES = 100;
/** Fields up to this many characters are highlighted whole; longer ones as fragments around the matches. */
export const HIGHLIGHT_WHOLE_FIELD_MAX_CHARS = 1000;
/** Longest document id, in UTF-8 bytes (a btree key must stay well under a page). */
export const MAX_ID_BYTES = 512;
