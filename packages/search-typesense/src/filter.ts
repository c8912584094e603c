import { createHash } from 'node:crypto';
import type { NormalizedFilter, NormalizedLeaf, SortSpec } from '@fraiseql/core';
import { badQuery, isPlainObject } from '@fraiseql/core';

/**
 * Translation of the portable filter into Typesense's `filter_by` syntax
 * (https://typesense.org/docs/latest/api/search.html#filter-parameters).
 *
 * Typesense's own string filters cannot carry the portable meaning, so equality and presence
 * are answered by two hidden fields that the Typesense provider writes on every document:
 *
 * - `_values` (`string[]`): one token per scalar value of the document — the sha256 (first 128
 *   bits, hex) of `path`, the value's type and the value — including every element of an array.
 *   `eq` is `_values:=<token>`, `in` is `_values:=[t1,t2]`. Why: Typesense compares strings
 *   token by token after dropping case, accents and punctuation (`O'Reilly` equals `oreilly`),
 *   and a backtick-quoted value cannot contain a backtick at all. A hex token has none of those
 *   problems, so a value may contain any character and equality is exact and type-strict (the
 *   string `"12.5"` is not the number 12.5), as in the in-memory evaluator.
 * - `_fields` (`string[]`): one token per field path that is present and not null (always `id`).
 *   `exists` is `_fields:=<token>` / `_fields:!=<token>`: Typesense has no exists operator.
 *
 * `neq`/`nin` are `(_values:!=t || _fields:!=<field token>)`. Typesense evaluates `:!=` as the
 * complement of `:=` over the whole collection (numeric and string alike), so documents missing
 * the field are already kept; the second alternative keeps them even on a server that would not.
 *
 * Ranges (`gt`/`gte`/`lt`/`lte`/`between`) use the native numeric field (`price:>10`,
 * `price:[10..20]`). Typesense has no range filter on strings, so a string bound is IN101. When
 * the caller says which fields the collection has typed (`fieldType`), a range on a field that
 * no document has given a numeric type matches nothing, and bounds on integer fields are rounded
 * to the equivalent integer bounds (Typesense refuses `12.5` for an int64 field).
 *
 * Typesense gives `&&` and `||` the same precedence (left-associative), so every group of more
 * than one condition is parenthesised.
 */

/** Hidden field listing a token for every present (non-null) field path of a document. */
export const TYPESENSE_FIELDS_FIELD = '_fields';
/** Hidden field listing a token for every scalar value (and array element) of a document. */
export const TYPESENSE_VALUES_FIELD = '_values';
/** The hidden fields a provider strips from documents it returns. */
export const TYPESENSE_HIDDEN_FIELDS: readonly string[] = [TYPESENSE_FIELDS_FIELD, TYPESENSE_VALUES_FIELD];
/** Typesense sorts by at most three fields. */
export const TYPESENSE_MAX_SORT_FIELDS = 3;

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_DEPTH = 8;
const MAX_PATH = 255;

function token(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/** The `_fields` token of a field path (`"price"`, `"dims.width"`). */
export function typesenseFieldToken(path: string): string {
  return token(`\u0001${path}`);
}

/** The `_values` token of one scalar value at a field path. */
export function typesenseValueToken(path: string, value: string | number | boolean): string {
  const tag = typeof value === 'string' ? 's' : typeof value === 'number' ? 'n' : 'b';
  // `String(-0)` is "0", matching the evaluator's `-0 === 0`.
  return token(`${path}\u0000${tag}${String(value)}`);
}

function scalarOf(v: unknown): string | number | boolean | undefined {
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isNaN(t) ? undefined : t;
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  // Non-finite numbers are stored as JSON null, i.e. absent.
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  return undefined;
}

/**
 * The hidden `_fields` / `_values` of a document as it will be stored (with its `id`). Paths
 * follow `getField`: keys that are valid field names, nested plain objects joined with `.`
 * (arrays of objects are not descended into, as the filter cannot address them).
 */
export function typesenseHiddenValues(doc: Record<string, unknown>): {
  _fields: string[];
  _values: string[];
} {
  const fields = new Set<string>();
  const values = new Set<string>();
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, raw] of Object.entries(obj)) {
      if (depth === 0 && TYPESENSE_HIDDEN_FIELDS.includes(key)) continue;
      if (!SEGMENT.test(key)) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      if (path.length > MAX_PATH) continue;
      if (raw === undefined || raw === null) continue;
      if (Array.isArray(raw)) {
        fields.add(typesenseFieldToken(path));
        for (const el of raw) {
          const s = scalarOf(el);
          if (s !== undefined) values.add(typesenseValueToken(path, s));
        }
      } else if (isPlainObject(raw)) {
        fields.add(typesenseFieldToken(path));
        if (depth + 1 < MAX_DEPTH) walk(raw, path, depth + 1);
      } else {
        const s = scalarOf(raw);
        if (s === undefined) continue;
        fields.add(typesenseFieldToken(path));
        values.add(typesenseValueToken(path, s));
      }
    }
  };
  walk(doc, '', 0);
  return { _fields: [...fields], _values: [...values] };
}

/** IN101 for a filter the engine cannot express (kit `badQuery`, naming `filter` by default). */
const bad = (message: string, field = 'filter') => badQuery(message, field);

/**
 * A string as a backtick-quoted Typesense filter literal, for callers composing a `rawFilter`.
 * Typesense has no way to put a backtick inside a backtick literal (its tokenizer toggles on every
 * backtick), so such a value is IN101, as is an empty value (Typesense refuses empty filter values).
 * A trailing backslash is followed by a space so the closing backtick is not read as escaped;
 * Typesense trims the space.
 */
export function quoteTypesenseValue(value: string): string {
  if (value.includes('`')) {
    throw bad(
      `Typesense cannot quote a filter value containing a backtick (\`): ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`,
    );
  }
  if (value.trim() === '') throw bad('Typesense filter values cannot be empty or blank');
  return value.endsWith('\\') ? `\`${value} \`` : `\`${value}\``;
}

/** A number as Typesense parses it (no exponent notation). */
function numberLiteral(n: number): string {
  const text = String(n);
  if (!/e/i.test(text)) return text;
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

const NUMERIC_TYPES = new Set(['int32', 'int64', 'float', 'int32[]', 'int64[]', 'float[]']);
const INTEGER_TYPES = new Set(['int32', 'int64', 'int32[]', 'int64[]']);

export interface TypesenseFilterOptions {
  /**
   * The type a field has in the collection schema (`"int64"`, `"float"`, `"string"`, …), or
   * `undefined` when no document has given it a type yet. Default: not consulted — ranges are
   * emitted as given, which suits float fields.
   */
  fieldType?: (field: string) => string | undefined;
}

/** `true`/`false` when a condition is decided without asking Typesense. */
type Part = string | boolean;

function rangeLeaf(
  leaf: NormalizedLeaf & { op: 'gt' | 'gte' | 'lt' | 'lte' | 'between' },
  opts: TypesenseFilterOptions,
): Part {
  const bounds = leaf.op === 'between' ? leaf.value : [leaf.value];
  if (bounds.some((b) => typeof b !== 'number')) {
    throw bad(
      `Typesense cannot filter strings by range ("${leaf.op}" on "${leaf.field}"); use numbers or epoch-ms dates`,
      leaf.field,
    );
  }
  let integer = false;
  if (opts.fieldType) {
    const type = opts.fieldType(leaf.field);
    // No document holds a number in this field: no document can pass a numeric comparison.
    if (type === undefined || !NUMERIC_TYPES.has(type)) return false;
    integer = INTEGER_TYPES.has(type);
  }
  const f = leaf.field;
  if (leaf.op === 'between') {
    let [lo, hi] = leaf.value as [number, number];
    if (integer) {
      lo = Math.ceil(lo);
      hi = Math.floor(hi);
    }
    if (lo > hi) return false;
    return `${f}:[${numberLiteral(lo)}..${numberLiteral(hi)}]`;
  }
  let v = leaf.value as number;
  if (integer) v = leaf.op === 'gt' || leaf.op === 'lte' ? Math.floor(v) : Math.ceil(v);
  const cmp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[leaf.op];
  return `${f}:${cmp}${numberLiteral(v)}`;
}

function leafToTypesense(leaf: NormalizedLeaf, opts: TypesenseFilterOptions): Part {
  const present = typesenseFieldToken(leaf.field);
  switch (leaf.op) {
    case 'eq':
      return `${TYPESENSE_VALUES_FIELD}:=${typesenseValueToken(leaf.field, leaf.value)}`;
    case 'neq':
      return `(${TYPESENSE_VALUES_FIELD}:!=${typesenseValueToken(leaf.field, leaf.value)} || ${TYPESENSE_FIELDS_FIELD}:!=${present})`;
    case 'in':
    case 'nin': {
      const tokens = [...new Set(leaf.value.map((v) => typesenseValueToken(leaf.field, v)))].join(',');
      return leaf.op === 'in'
        ? `${TYPESENSE_VALUES_FIELD}:=[${tokens}]`
        : `(${TYPESENSE_VALUES_FIELD}:!=[${tokens}] || ${TYPESENSE_FIELDS_FIELD}:!=${present})`;
    }
    case 'exists':
      return `${TYPESENSE_FIELDS_FIELD}:${leaf.value ? '=' : '!='}${present}`;
    default:
      return rangeLeaf(leaf, opts);
  }
}

/**
 * A normalized portable filter (see `normalizeFilter`) as a Typesense `filter_by` string.
 * Returns `""` when nothing is filtered out, and `null` when no document can match (for example
 * a range on a field no document holds): the caller then answers with no hits instead of asking
 * Typesense a question it would reject.
 */
export function toTypesenseFilter(
  filter: NormalizedFilter,
  opts: TypesenseFilterOptions = {},
): string | null {
  const groups: string[] = [];
  for (const or of filter) {
    if (or.length === 0) continue;
    const parts: string[] = [];
    let always = false;
    for (const leaf of or) {
      const part = leafToTypesense(leaf, opts);
      if (part === true) always = true;
      else if (part !== false) parts.push(part);
    }
    if (always) continue;
    if (parts.length === 0) return null;
    groups.push(parts.length === 1 ? parts[0]! : `(${parts.join(' || ')})`);
  }
  return groups.join(' && ');
}

/**
 * A parsed sort (see `parseSort`) as Typesense's `sort_by`: `price(missing_values: last):asc`, so
 * documents without the field come last in both directions, as everywhere else. With `fieldType`,
 * a field no document has typed yet is left out (every document would tie on it). More than three
 * keys is IN101: Typesense sorts by at most three fields.
 */
export function toTypesenseSort(sort: readonly SortSpec[], opts: TypesenseFilterOptions = {}): string {
  const keys = sort.filter(({ field }) => !opts.fieldType || opts.fieldType(field) !== undefined);
  if (sort.length > TYPESENSE_MAX_SORT_FIELDS) {
    throw bad(`Typesense sorts by at most ${TYPESENSE_MAX_SORT_FIELDS} fields, got ${sort.length}`, 'sort');
  }
  return keys.map(({ field, direction }) => `${field}(missing_values: last):${direction}`).join(',');
}
