import { badDocument, type Document, isPlainObject } from '@fraiseql/core';
import { PROVIDER } from './errors';
import { TYPESENSE_HIDDEN_FIELDS, typesenseHiddenValues } from './filter';

/** A document ready to import: its id, index and the body Typesense stores. */
export interface PreparedDocument {
  id: string;
  index: string;
  body: Record<string, unknown>;
}

/** Copies document data into what Typesense stores: dates as epoch ms, no undefined, no BigInt. */
function storable(value: unknown, path: string, seen: Set<object>): unknown {
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isNaN(t)) throw badDocument(PROVIDER, `invalid date at "${path}"`);
    return t;
  }
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw badDocument(PROVIDER, `value at "${path}" is a ${typeof value}, which JSON cannot store`);
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) throw badDocument(PROVIDER, `circular reference at "${path}"`);
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => storable(v, `${path}[${i}]`, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k] = storable(v, path ? `${path}.${k}` : k, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The document Typesense stores: the data, `id`, and the hidden filter fields. */
function toStored(id: string, data: Record<string, unknown>): Record<string, unknown> {
  for (const hidden of TYPESENSE_HIDDEN_FIELDS) {
    if (hidden in data)
      throw badDocument(PROVIDER, `document "${id}" uses the reserved field name "${hidden}"`);
  }
  const doc = storable(data, '', new Set()) as Record<string, unknown>;
  doc.id = id;
  return { ...doc, ...typesenseHiddenValues(doc) };
}

/** Checks a document (IN107) and builds what is imported. */
export function prepareDocument(doc: unknown): PreparedDocument {
  const d = doc as Partial<Document>;
  if (typeof d.id !== 'string' || d.id === '')
    throw badDocument(PROVIDER, 'a document needs a non-empty string id');
  if (!isPlainObject(d.data)) throw badDocument(PROVIDER, `document "${d.id}" must have an object as data`);
  return { id: d.id, index: d.index as string, body: toStored(d.id, d.data) };
}
