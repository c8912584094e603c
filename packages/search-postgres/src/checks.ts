import {
  type Document,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  isValidFieldName,
} from '@fraiseql/core';
import { PROVIDER, type SqlExecutor, sqlState } from '@fraiseql/postgres';
import { MAX_ID_BYTES } from './constants.ts';
import { LANGUAGE_NAME } from './names.ts';
import type { ManagedIndexConfig } from './types.ts';

// SQLSTATEs that mean "this document cannot be stored" (bad unicode escape, tsvector too long, …).
export const DOCUMENT_STATES = /^(22|54)/;
export const UNDEFINED_TABLE = '42P01';
export const QUERY_CANCELED = '57014';

export function badQuery(message: string, field = 'query'): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
}

export function badDocument(message: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidDocument, message, 'document');
}

export function unsupported(message: string): IntegrationError {
  return new IntegrationError(ErrorCode.UnsupportedOperation, `[${PROVIDER}] ${message}`, {
    provider: PROVIDER,
  });
}

export function badConfig(message: string, field: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, message, { field });
}

export function pageInt(value: unknown, fallback: number, field: string, max?: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badQuery(`${field} must be a non-negative integer`, field);
  }
  if (max !== undefined && value > max) throw badQuery(`${field} must be at most ${max}`, field);
  return value;
}

export function fieldList(value: unknown, what: string, allowed: string[] | null): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isValidFieldName)) {
    throw badQuery(`${what} must be an array of field names`, what);
  }
  if (allowed) {
    const set = new Set(allowed);
    const bad = value.find((f) => !set.has(f));
    if (bad !== undefined) {
      throw badQuery(`Field "${bad}" is not filterable; declare it in the index's filterable fields`, what);
    }
  }
  return [...new Set(value as string[])];
}

/** IndexConfig → its stored form; IN002 for anything malformed (the mock's rules). */
export function checkIndexConfig(config: IndexConfig): ManagedIndexConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      'Index settings must be an object',
      'config',
    );
  }
  const list = (value: unknown, key: string, required: boolean): string[] | null => {
    if (value === undefined && !required) return null;
    if (!Array.isArray(value) || !value.every(isValidFieldName) || (required && value.length === 0)) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidConfiguration,
        `Index setting "${key}" must be ${required ? 'a non-empty' : 'an'} array of field names`,
        key,
      );
    }
    return [...new Set(value as string[])];
  };
  const out: ManagedIndexConfig = {
    kind: 'managed',
    searchable: list(config.searchable, 'searchable', true),
    filterable: list(config.filterable, 'filterable', false) ?? [],
    sortable: list(config.sortable, 'sortable', false) ?? [],
  };
  if (config.primaryKey !== undefined) {
    if (typeof config.primaryKey !== 'string' || config.primaryKey.length === 0) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidConfiguration,
        'Index setting "primaryKey" must be a non-empty string',
        'primaryKey',
      );
    }
    out.primaryKey = config.primaryKey;
  }
  return out;
}

/** JSON text of a document's data, with `Date`s as epoch milliseconds (how every engine filters dates). */
export function encodeData(data: Record<string, unknown>): string {
  return JSON.stringify(data, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() : value;
  });
}

export interface EncodedDoc {
  id: string;
  index: string;
  json: string;
}

/** Validates one document; the reason is returned (for BulkResult) rather than thrown. */
export function encodeDocument(doc: unknown): EncodedDoc | { id: string; reason: string } {
  if (!doc || typeof doc !== 'object') return { id: '', reason: 'A document must be an object' };
  const { id, index, data } = doc as Partial<Document>;
  const shownId = typeof id === 'string' ? id : id === undefined || id === null ? '' : String(id);
  if (typeof id !== 'string' || id.length === 0) {
    return { id: shownId, reason: 'Document id must be a non-empty string' };
  }
  if (id.includes('\u0000') || Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) {
    return { id, reason: `Document id must be at most ${MAX_ID_BYTES} UTF-8 bytes without NUL characters` };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { id, reason: 'Document data must be a plain object' };
  }
  let json: string;
  try {
    json = encodeData(data);
  } catch (err) {
    return { id, reason: `Document data cannot be serialised to JSON: ${(err as Error).message}` };
  }
  return { id, index: index as string, json };
}

/** Checks that a text search configuration exists; returns its canonical name (`English` → `english`). */
export async function resolveLanguage(sql: SqlExecutor, language: unknown, field: string): Promise<string> {
  if (typeof language !== 'string' || !LANGUAGE_NAME.test(language)) {
    throw badConfig(
      `${field} must be a text search configuration name like "english" (got ${JSON.stringify(language)})`,
      field,
    );
  }
  try {
    const r = await sql.query<{ name: string }>('SELECT $1::regconfig::text AS name', [language]);
    const name = r.rows[0]!.name;
    if (!LANGUAGE_NAME.test(name)) throw new Error(`unusual name ${name}`);
    return name;
  } catch (err) {
    // 42704: no such configuration; 3F000: a schema-qualified name whose schema does not exist.
    const state = sqlState(err);
    if (state !== '42704' && state !== '3F000' && !(err instanceof Error && /unusual name/.test(err.message)))
      throw err;
    throw badConfig(
      `${field}: text search configuration "${language}" does not exist in this database`,
      field,
    );
  }
}
