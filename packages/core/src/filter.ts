import { ErrorCode, IntegrationError } from './errors';

/**
 * The portable search filter: the same meaning on every engine.
 * `Filter = Clause | { and: Clause[] }`, `Clause = Leaf | { or: Leaf[] }`.
 */
export type FilterScalar = string | number | boolean | Date;

export type Leaf =
  | { field: string; op: 'eq' | 'neq'; value: FilterScalar }
  | { field: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string | Date }
  | { field: string; op: 'between'; value: [number | string | Date, number | string | Date] }
  | { field: string; op: 'in' | 'nin'; value: FilterScalar[] }
  /** `value` false means "the field is missing or null". Default true. */
  | { field: string; op: 'exists'; value?: boolean };

export type FilterOp = Leaf['op'];
export type Clause = Leaf | { or: Leaf[] };
export type Filter = Clause | { and: Clause[] };

/** A validated filter as AND of ORs, with dates turned into epoch milliseconds. */
export type NormalizedLeaf =
  | { field: string; op: 'eq' | 'neq'; value: string | number | boolean }
  | { field: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: string | number }
  | { field: string; op: 'between'; value: [string | number, string | number] }
  | { field: string; op: 'in' | 'nin'; value: (string | number | boolean)[] }
  | { field: string; op: 'exists'; value: boolean };
export type NormalizedFilter = NormalizedLeaf[][];

export const FILTER_OPS: readonly FilterOp[] = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'between',
  'in',
  'nin',
  'exists',
];
/** Field names: letters, digits, `_`, and `.` for nested paths. */
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
export const MAX_IN_VALUES = 1000;

function bad(message: string, field?: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field ?? 'filter');
}

export function isValidFieldName(field: unknown): field is string {
  return typeof field === 'string' && field.length <= 255 && FIELD.test(field);
}

function scalar(v: unknown, field: string, allowBool = true): string | number | boolean {
  if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) throw bad(`Invalid date in filter on "${field}"`, field);
    return t;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(`Filter value on "${field}" must be a finite number`, field);
    return v;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' && allowBool) return v;
  throw bad(`Unsupported filter value on "${field}": ${v === null ? 'null' : typeof v}`, field);
}

function normalizeLeaf(leaf: unknown, filterable?: ReadonlySet<string>): NormalizedLeaf {
  if (!leaf || typeof leaf !== 'object' || Array.isArray(leaf))
    throw bad('A filter condition must be an object');
  const { field, op, value } = leaf as Record<string, unknown>;
  if (!isValidFieldName(field)) throw bad(`Invalid filter field ${JSON.stringify(field)}`);
  if (typeof op !== 'string' || !FILTER_OPS.includes(op as FilterOp)) {
    throw bad(
      `Unknown filter operator ${JSON.stringify(op)} on "${field}" (one of ${FILTER_OPS.join(', ')})`,
      field,
    );
  }
  if (filterable && !filterable.has(field)) {
    throw bad(`Field "${field}" is not filterable; declare it in the index's filterable fields`, field);
  }
  switch (op) {
    case 'eq':
    case 'neq':
      return { field, op, value: scalar(value, field) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { field, op, value: scalar(value, field, false) as string | number };
    case 'between': {
      if (!Array.isArray(value) || value.length !== 2)
        throw bad(`"between" on "${field}" takes [low, high]`, field);
      const lo = scalar(value[0], field, false) as string | number;
      const hi = scalar(value[1], field, false) as string | number;
      if (typeof lo !== typeof hi) throw bad(`"between" bounds on "${field}" must have the same type`, field);
      return { field, op, value: [lo, hi] };
    }
    case 'in':
    case 'nin': {
      if (!Array.isArray(value) || value.length === 0)
        throw bad(`"${op}" on "${field}" takes a non-empty array`, field);
      if (value.length > MAX_IN_VALUES)
        throw bad(`"${op}" on "${field}" takes at most ${MAX_IN_VALUES} values`, field);
      return { field, op, value: value.map((v) => scalar(v, field)) };
    }
    case 'exists':
      if (value !== undefined && typeof value !== 'boolean')
        throw bad(`"exists" on "${field}" takes true or false`, field);
      return { field, op, value: value ?? true };
    default:
      throw bad(`Unknown filter operator on "${field}"`, field);
  }
}

function normalizeClause(clause: unknown, filterable?: ReadonlySet<string>): NormalizedLeaf[] {
  if (clause && typeof clause === 'object' && 'or' in clause) {
    const or = (clause as { or: unknown }).or;
    if (!Array.isArray(or) || or.length === 0) throw bad('"or" takes a non-empty array of conditions');
    return or.map((l) => normalizeLeaf(l, filterable));
  }
  return [normalizeLeaf(clause, filterable)];
}

/**
 * Validates a filter and returns it as AND-of-ORs. Every problem is IN101; with `filterable`,
 * a field not declared filterable is IN101 too.
 */
export function normalizeFilter(filter: unknown, filterable?: Iterable<string>): NormalizedFilter {
  if (filter === undefined || filter === null) return [];
  const allowed = filterable ? new Set(filterable) : undefined;
  if (typeof filter === 'object' && !Array.isArray(filter) && 'and' in filter) {
    const and = (filter as { and: unknown }).and;
    if (!Array.isArray(and)) throw bad('"and" takes an array of conditions');
    return and.map((c) => normalizeClause(c, allowed));
  }
  return [normalizeClause(filter, allowed)];
}

/** Every field a filter mentions. */
export function filterFields(filter: NormalizedFilter): string[] {
  return [...new Set(filter.flat().map((l) => l.field))];
}

/** Reads `a.b.c` from a document. */
export function getField(doc: Record<string, unknown>, path: string): unknown {
  if (!path.includes('.')) return doc[path];
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function docScalar(v: unknown): unknown {
  return v instanceof Date ? v.getTime() : v;
}

function values(v: unknown): unknown[] {
  return Array.isArray(v) ? v.map(docScalar) : [docScalar(v)];
}

function compare(a: unknown, b: string | number): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function leafMatches(leaf: NormalizedLeaf, doc: Record<string, unknown>): boolean {
  const raw = getField(doc, leaf.field);
  const present = raw !== undefined && raw !== null;
  switch (leaf.op) {
    case 'exists':
      return present === leaf.value;
    case 'eq':
      return present && values(raw).some((v) => v === leaf.value);
    case 'neq':
      return !present || !values(raw).some((v) => v === leaf.value);
    case 'in':
      return present && values(raw).some((v) => leaf.value.includes(v as never));
    case 'nin':
      return !present || !values(raw).some((v) => leaf.value.includes(v as never));
    case 'between':
      return (
        present &&
        values(raw).some((v) => {
          const lo = compare(v, leaf.value[0]);
          const hi = compare(v, leaf.value[1]);
          return lo !== undefined && hi !== undefined && lo >= 0 && hi <= 0;
        })
      );
    default: {
      if (!present) return false;
      return values(raw).some((v) => {
        const c = compare(v, leaf.value);
        if (c === undefined) return false;
        return leaf.op === 'gt' ? c > 0 : leaf.op === 'gte' ? c >= 0 : leaf.op === 'lt' ? c < 0 : c <= 0;
      });
    }
  }
}

/** The in-memory evaluator (mocks, protocol doubles): true when the document passes the filter. */
export function matchesFilter(filter: NormalizedFilter, doc: Record<string, unknown>): boolean {
  return filter.every((or) => or.some((leaf) => leafMatches(leaf, doc)));
}

export interface SortSpec {
  field: string;
  direction: 'asc' | 'desc';
}

/** Parses `["price:asc", "name:desc"]` (direction defaults to asc); IN101 for bad or non-sortable fields. */
export function parseSort(sort: unknown, sortable?: Iterable<string>): SortSpec[] {
  if (sort === undefined || sort === null) return [];
  if (!Array.isArray(sort)) throw bad('sort must be an array like ["price:asc"]', 'sort');
  const allowed = sortable ? new Set(sortable) : undefined;
  return sort.map((s) => {
    if (typeof s !== 'string') throw bad('sort entries must be strings like "price:asc"', 'sort');
    const idx = s.lastIndexOf(':');
    const field = idx === -1 ? s : s.slice(0, idx);
    const dir = idx === -1 ? 'asc' : s.slice(idx + 1).toLowerCase();
    if (!isValidFieldName(field)) throw bad(`Invalid sort field ${JSON.stringify(field)}`, 'sort');
    if (dir !== 'asc' && dir !== 'desc')
      throw bad(`Sort direction of "${field}" must be asc or desc`, 'sort');
    if (allowed && !allowed.has(field))
      throw bad(`Field "${field}" is not sortable; declare it in the index's sortable fields`, 'sort');
    return { field, direction: dir };
  });
}

/** Compares two documents by a sort spec (missing values last), for in-memory engines. */
export function compareBySort(
  sort: SortSpec[],
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): number {
  for (const { field, direction } of sort) {
    const av = docScalar(getField(a, field));
    const bv = docScalar(getField(b, field));
    const aMissing = av === undefined || av === null;
    const bMissing = bv === undefined || bv === null;
    if (aMissing || bMissing) {
      if (aMissing && bMissing) continue;
      return aMissing ? 1 : -1;
    }
    let c = 0;
    if (typeof av === 'number' && typeof bv === 'number') c = av - bv;
    else c = String(av) < String(bv) ? -1 : String(av) > String(bv) ? 1 : 0;
    if (c !== 0) return direction === 'asc' ? c : -c;
  }
  return 0;
}
