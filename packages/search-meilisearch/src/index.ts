export { decodeDocumentId, encodeDocumentId } from './ids';
export type { MeilisearchSearch, MeilisearchSearch as MeilisearchSearchProvider } from './provider';
export { createMeilisearchSearch, type MeilisearchSearchOptions } from './provider';
