import { getField, type SortSpec } from '@fraiseql/core';
import { ALGOLIA_FIELDS_ATTRIBUTE } from './filter';

/**
 * How documents are stored in Algolia records, and how sorting maps onto replicas.
 *
 * A record is the document's data plus `objectID` (the document id) and two hidden attributes the
 * provider maintains and strips from every hit:
 * - `_fields`: the dotted paths of every non-null attribute, declared `filterOnly` for faceting,
 *   so the portable `exists` filter works (Algolia cannot filter on missing attributes);
 * - `_sort`: one number per sortable field, the attribute the sort replicas rank on. Numbers and
 *   dates (epoch ms) are stored as is, booleans as 0/1, and strings as an order-preserving number
 *   built from their first {@link STRING_SORT_CHARS} characters — Algolia only sorts by numeric or
 *   boolean attributes, so this is what lets `sort: ["category:asc"]` work at all.
 */

export const SORT_ATTRIBUTE = '_sort';
export const RESERVED_ATTRIBUTES = [ALGOLIA_FIELDS_ATTRIBUTE, SORT_ATTRIBUTE] as const;

/** Characters of a string that take part in its sort key (97^7 stays exact in a double). */
export const STRING_SORT_CHARS = 7;
const BASE = 97;

/**
 * An order-preserving number for a string: its first {@link STRING_SORT_CHARS} UTF-16 code units
 * in base 97, where 0 is "end of string", 1-95 are printable ASCII in code order and 96 is every
 * other character. Strings that agree on those characters tie (the next sort key decides).
 */
export function stringSortKey(value: string): number {
  let key = 0;
  for (let i = 0; i < STRING_SORT_CHARS; i++) {
    const code = value.charCodeAt(i);
    let digit: number;
    if (Number.isNaN(code)) digit = 0;
    else if (code < 0x20) digit = 1;
    else if (code <= 0x7e) digit = code - 0x20 + 1;
    else digit = 96;
    key = key * BASE + digit;
  }
  return key;
}

/** The `_sort` number of one value, or undefined when it cannot be sorted (missing, object, array). */
export function sortKey(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'string') return stringSortKey(value);
  return undefined;
}

/** Dotted paths of every non-null attribute (objects descended, arrays not), bounded in size. */
export function presentFields(data: Record<string, unknown>, maxDepth = 5, maxFields = 500): string[] {
  const out: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || v === undefined || out.length >= maxFields) continue;
      const path = prefix ? `${prefix}.${k}` : k;
      out.push(path);
      if (depth < maxDepth && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
        walk(v as Record<string, unknown>, path, depth + 1);
      }
    }
  };
  walk(data, '', 1);
  return out;
}

/** The Algolia record of a document (JSON-ready: Dates become epoch ms). */
export function toRecord(
  id: string,
  data: Record<string, unknown>,
  sortable: readonly string[],
): Record<string, unknown> {
  const record = JSON.parse(
    JSON.stringify(data, function replacer(this: unknown, key: string, value: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      return raw instanceof Date ? raw.getTime() : value;
    }),
  ) as Record<string, unknown>;
  // Nested like the field itself, so a ranking on `_sort.a.b` finds the key of field `a.b`.
  const sort: Record<string, unknown> = {};
  for (const field of sortable) {
    const key = sortKey(getField(data, field));
    if (key === undefined) continue;
    const parts = field.split('.');
    let node = sort;
    for (const part of parts.slice(0, -1)) {
      if (!node[part] || typeof node[part] !== 'object') node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = key;
  }
  record[ALGOLIA_FIELDS_ATTRIBUTE] = presentFields(data);
  record[SORT_ATTRIBUTE] = sort;
  record.objectID = id;
  return record;
}

/** A hit's document: the record without `objectID`, the hidden attributes and Algolia's `_…Result`s. */
export function fromHit(hit: Record<string, unknown>): Record<string, unknown> {
  const {
    objectID: _objectID,
    _highlightResult: _h,
    _snippetResult: _s,
    _rankingInfo: _r,
    _distinctSeqID: _d,
    [ALGOLIA_FIELDS_ATTRIBUTE]: _f,
    [SORT_ATTRIBUTE]: _sort,
    ...doc
  } = hit;
  return doc;
}

/** The standard replica that serves a sort: `<index>_<field>_<dir>` per key, joined by `_`. */
export function replicaName(index: string, sort: readonly SortSpec[]): string {
  return `${index}_${sort.map((s) => `${s.field}_${s.direction}`).join('_')}`;
}

/** A replica's ranking: its sort keys first (exhaustive sort), then Algolia's default criteria. */
export function replicaRanking(sort: readonly SortSpec[]): string[] {
  return [
    ...sort.map((s) => `${s.direction}(${SORT_ATTRIBUTE}.${s.field})`),
    'typo',
    'geo',
    'words',
    'filters',
    'proximity',
    'attribute',
    'exact',
    'custom',
  ];
}

/** Compares two documents the way a sort replica orders them (missing values last). */
export function compareForSort(
  sort: readonly SortSpec[],
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): number {
  for (const s of sort) {
    const av = sortKey(getField(a, s.field));
    const bv = sortKey(getField(b, s.field));
    if (av === undefined || bv === undefined) {
      if (av === bv) continue;
      return av === undefined ? 1 : -1;
    }
    if (av !== bv) return s.direction === 'asc' ? av - bv : bv - av;
  }
  return 0;
}
