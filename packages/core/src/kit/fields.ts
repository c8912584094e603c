import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT } from '../contracts/search';
import { ErrorCode, IntegrationError } from '../errors';
import { isValidFieldName } from '../filter';

/** A plain object: not null, not an array, not a Date. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** IN101 for a bad query parameter. */
export function badQuery(message: string, field = 'query'): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
}

/** IN107 for a document an engine cannot store; `provider` tags the message. */
export function badDocument(provider: string, message: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidDocument, `[${provider}] ${message}`, 'document');
}

export interface FieldListRules {
  /** Must be present and non-empty. Default false (undefined → `[]`). */
  required?: boolean;
  /** Only these fields are accepted (IN101 naming the first other one). Default: any field name. */
  allowed?: readonly string[];
  /** What the allowed list is, for the message (`'filterable'`). Default `'allowed'`. */
  allowedWhat?: string;
}

/**
 * A query's list of field names (`facets`, `highlight`): an array of valid field paths, duplicates
 * dropped, order kept. IN101 naming `name` otherwise.
 */
export function fieldList(value: unknown, name: string, rules: FieldListRules = {}): string[] {
  if (value === undefined && !rules.required) return [];
  if (!Array.isArray(value) || (rules.required && value.length === 0)) {
    throw badQuery(`${name} must be ${rules.required ? 'a non-empty' : 'an'} array of field names`, name);
  }
  for (const f of value) {
    if (!isValidFieldName(f)) throw badQuery(`${name} has an invalid field name ${JSON.stringify(f)}`, name);
    if (rules.allowed && !rules.allowed.includes(f)) {
      throw badQuery(`${name}: field "${f}" is not ${rules.allowedWhat ?? 'allowed'}`, name);
    }
  }
  return [...new Set(value as string[])];
}

/**
 * `limit` and `offset` of a search: integers, `limit` 0…1000 (default 20), `offset` ≥ 0 (default 0).
 * IN101 naming the bad one.
 */
export function searchPage(limit: unknown, offset: unknown): { limit: number; offset: number } {
  return {
    limit: pageCount(limit, 'limit', DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT),
    offset: pageCount(offset, 'offset', 0, Number.MAX_SAFE_INTEGER),
  };
}

/** One non-negative integer page parameter, at most `max`. */
export function pageCount(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badQuery(`${name} must be a non-negative integer, got ${String(value)}`, name);
  }
  if (value > max) throw badQuery(`${name} must be at most ${max}, got ${value}`, name);
  return value;
}
