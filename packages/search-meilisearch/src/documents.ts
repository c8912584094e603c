import { badDocument, type Document } from '@fraiseql/core';
import { PROVIDER } from './errors';
import { encodeDocumentId, MAX_ENGINE_ID_BYTES } from './ids';

/** Dates in documents are stored as epoch milliseconds, the form portable filters compare. */
function datesToMillis(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(datesToMillis);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, datesToMillis(v)]));
  }
  return value;
}

/** The document as Meilisearch stores it: data plus the (encoded) id under the primary key; IN107 otherwise. */
export function engineDocument(doc: Document, primaryKey: string): Record<string, unknown> {
  if (typeof doc.id !== 'string' || doc.id.length === 0)
    throw badDocument(PROVIDER, 'Document id must be a non-empty string');
  const data: unknown = doc.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw badDocument(PROVIDER, `Document ${JSON.stringify(doc.id)}: data must be a plain object`);
  }
  const stored = encodeDocumentId(doc.id);
  if (Buffer.byteLength(stored) > MAX_ENGINE_ID_BYTES) {
    throw badDocument(
      PROVIDER,
      `Document id ${JSON.stringify(doc.id.slice(0, 40))}… is too long for Meilisearch (${MAX_ENGINE_ID_BYTES} bytes once encoded)`,
    );
  }
  const body = { ...(datesToMillis(data) as Record<string, unknown>), [primaryKey]: stored };
  try {
    JSON.stringify(body);
  } catch (err) {
    throw badDocument(
      PROVIDER,
      `Document ${JSON.stringify(doc.id)} cannot be serialised to JSON: ${(err as Error).message}`,
    );
  }
  return body;
}
