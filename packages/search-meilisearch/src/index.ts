export { createMeilisearchSearch } from './create';
export { decodeDocumentId, encodeDocumentId } from './ids';
export type { MeilisearchSearchOptions } from './options';
export type { MeilisearchSearch, MeilisearchSearch as MeilisearchSearchProvider } from './provider';
