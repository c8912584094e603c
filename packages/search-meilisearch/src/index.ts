export { decodeDocumentId, encodeDocumentId } from './ids';
export { createMeilisearchSearch, MeilisearchSearch, type MeilisearchSearchOptions } from './provider';
