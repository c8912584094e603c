/**
 * Document ids. Meilisearch only accepts ids made of `[A-Za-z0-9_-]` (at most 511 bytes), while a
 * portable `Document.id` may be any non-empty string. Ids that already fit are stored unchanged, so
 * documents indexed by other tools keep their ids. Any other id — and, to keep the mapping
 * one-to-one, any id that happens to start with the marker — is stored as
 * `_b64_<base64url of its UTF-8 bytes>`, which only uses the allowed characters. Hits are decoded
 * back, so callers only ever see their own ids.
 */

const ENCODED_PREFIX = '_b64_';
const PLAIN_ID = /^[A-Za-z0-9_-]+$/;
/** Meilisearch's limit on a document id. */
export const MAX_ENGINE_ID_BYTES = 511;

/** The id Meilisearch stores for a portable document id. */
export function encodeDocumentId(id: string): string {
  if (PLAIN_ID.test(id) && !id.startsWith(ENCODED_PREFIX)) return id;
  return ENCODED_PREFIX + Buffer.from(id, 'utf8').toString('base64url');
}

/** The portable id of a stored Meilisearch id (the inverse of {@link encodeDocumentId}). */
export function decodeDocumentId(stored: string): string {
  if (!stored.startsWith(ENCODED_PREFIX)) return stored;
  return Buffer.from(stored.slice(ENCODED_PREFIX.length), 'base64url').toString('utf8');
}
