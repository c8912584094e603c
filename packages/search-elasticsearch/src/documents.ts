import { badDocument, type Document, datesToMillis } from '@fraiseql/core';
import { PROVIDER } from './errors';

/** Elasticsearch's limit on `_id`. */
export const MAX_ID_BYTES = 512;

/**
 * The `_source` of a document: its data (dates as epoch ms) with the id under the primary key, so
 * a hit's document carries its id as on the other engines; IN107 for a document that cannot be one.
 */
export function engineDocument(doc: Document, primaryKey: string): Record<string, unknown> {
  if (typeof doc.id !== 'string' || doc.id.length === 0)
    throw badDocument(PROVIDER, 'Document id must be a non-empty string');
  if (Buffer.byteLength(doc.id) > MAX_ID_BYTES)
    throw badDocument(
      PROVIDER,
      `Document id ${JSON.stringify(doc.id.slice(0, 40))}… is longer than ${MAX_ID_BYTES} bytes`,
    );
  const data: unknown = doc.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw badDocument(PROVIDER, `Document ${JSON.stringify(doc.id)}: data must be a plain object`);
  const body = { ...(datesToMillis(data) as Record<string, unknown>), [primaryKey]: doc.id };
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
