import {
  ErrorCode,
  IntegrationError,
  isValidFieldName,
  type NormalizedFilter,
  type NormalizedLeaf,
  type SortSpec,
} from '@fraiseql/core';

/**
 * Translation of the portable filter into a PostgreSQL condition over a `jsonb` document
 * (the `doc` column of a `@fraiseql/search-postgres` index, or a row turned into jsonb).
 *
 * Values never enter the SQL text: every value is a bound parameter (`$n`), so a value can carry
 * any character. Field names do enter it, as `doc -> 'a' -> 'b'`: they are re-checked here against
 * the portable field-name rule (letters, digits, `_`, dots between parts), which admits no quote,
 * backslash or space, so the literal cannot be broken out of. Paths as literals (rather than
 * parameters) keep the expressions identical to those of expression indexes, which the planner
 * can then use.
 *
 * How each portable operator keeps its meaning (the in-memory `matchesFilter` is the reference):
 * - `eq` → `doc @> {"f": v} OR doc @> {"f": [v]}`: JSON containment compares with the value's JSON
 *   type (the number 1 never equals the string "1"), and the second form makes `eq` on an array
 *   field mean "contains". Both forms are served by a GIN `jsonb_path_ops` index on `doc`.
 * - `neq` / `nin` are the negation of `eq` / `in`, so documents that lack the field (or hold
 *   `null`) are kept, as the contract asks.
 * - `in` → the value, or any element of an array value, is one of the values (JSON equality).
 * - `gt`/`gte`/`lt`/`lte`/`between` compare numbers as `numeric` and strings in code-point order
 *   (`COLLATE "C"`); a value of another JSON type never matches (no implicit casts, no errors on
 *   mixed data). On an array field, some element must satisfy the whole condition.
 * - `exists: true` → present and not JSON `null`; `exists: false` → missing or `null`.
 * - Dates arrive as epoch milliseconds (normalizeFilter) and are compared as numbers: documents
 *   must store dates as epoch ms too (`@fraiseql/search-postgres` converts `Date` values when
 *   indexing).
 *
 * Each CASE guards its cast: Postgres may evaluate the arms of an AND in any order, so a
 * `jsonb_typeof(...) = 'number' AND (...)::numeric > $1` could still try to cast a string.
 */

export interface PostgresFilterOptions {
  /**
   * SQL expression of the jsonb document, e.g. `d.doc`. Written by the caller's code, never taken
   * from user input: it is pasted into the SQL as is.
   */
  doc: string;
  /** Number of parameters already used by the surrounding statement; the first one here is `$offset+1`. Default 0. */
  paramOffset?: number;
}

/** A piece of SQL and the values of its `$n` parameters, numbered from `paramOffset + 1`. */
export interface PostgresSqlFragment {
  sql: string;
  params: unknown[];
}

function badField(field: unknown): IntegrationError {
  return IntegrationError.invalidInput(
    ErrorCode.InvalidSearchQuery,
    `Invalid field name ${JSON.stringify(field)} for a PostgreSQL filter`,
    'filter',
  );
}

/**
 * `doc -> 'a' -> 'b'` for the field `a.b`: the jsonb value at that path, SQL NULL when missing.
 * Throws IN101 for a name outside the portable rule (which is what makes the literal safe).
 */
export function postgresJsonPath(doc: string, field: string): string {
  if (!isValidFieldName(field)) throw badField(field);
  return `${doc}${field
    .split('.')
    .map((part) => ` -> '${part}'`)
    .join('')}`;
}

/** `doc ->> 'a'` / `doc -> 'a' ->> 'b'`: the field as text (the string itself for a JSON string). */
export function postgresTextPath(doc: string, field: string): string {
  if (!isValidFieldName(field)) throw badField(field);
  const parts = field.split('.');
  const last = parts.pop()!;
  return `${doc}${parts.map((p) => ` -> '${p}'`).join('')} ->> '${last}'`;
}

/**
 * The two ORDER BY keys of a field, also used verbatim by the sort indexes: the value as `numeric`
 * when it is a JSON number, and as text in code-point order when it is a string or a boolean.
 * Anything else (missing, null, arrays, objects) is NULL in both, and sorts last.
 */
export function postgresSortKeys(doc: string, field: string): [numeric: string, text: string] {
  const v = postgresJsonPath(doc, field);
  return [
    `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric END)`,
    `(CASE WHEN jsonb_typeof(${v}) IN ('string', 'boolean') THEN (${v}) #>> '{}' END COLLATE "C")`,
  ];
}

/**
 * ORDER BY items (comma-separated, without the keywords) for a parsed sort: per field its numeric
 * then its text key, in the requested direction, missing values last either way — the order of
 * the in-memory `compareBySort`. Empty string for no sort. Callers append their own tie-breaker
 * (the id) so that pages are stable.
 */
export function toPostgresSort(sort: readonly SortSpec[], opts: { doc: string }): string {
  return sort
    .flatMap(({ field, direction }) => {
      const dir = direction === 'desc' ? 'DESC' : 'ASC';
      return postgresSortKeys(opts.doc, field).map((key) => `${key} ${dir} NULLS LAST`);
    })
    .join(', ');
}

/** `{"a": {"b": value}}` for the path `a.b`. */
function nest(field: string, value: unknown): Record<string, unknown> {
  const parts = field.split('.');
  let out: unknown = value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]!]: out };
  return out as Record<string, unknown>;
}

type Op = '>' | '>=' | '<' | '<=';
const OPS: Record<'gt' | 'gte' | 'lt' | 'lte', Op> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

function hasNul(value: unknown): boolean {
  return typeof value === 'string' ? value.includes('\u0000') : Array.isArray(value) && value.some(hasNul);
}

class Params {
  readonly values: unknown[] = [];
  constructor(private readonly offset: number) {}
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}::${cast}`;
  }
}

/** A condition on one scalar jsonb value `x` of the type of `sample`, guarded so no cast can fail. */
function scalarTest(x: string, sample: string | number, test: (typed: string) => string): string {
  return typeof sample === 'number'
    ? `CASE WHEN jsonb_typeof(${x}) = 'number' THEN ${test(`(${x})::numeric`)} ELSE false END`
    : `CASE WHEN jsonb_typeof(${x}) = 'string' THEN ${test(`((${x}) #>> '{}') COLLATE "C"`)} ELSE false END`;
}

/** The test on the value, or on some element when the value is an array. */
function someValue(v: string, test: (x: string) => string): string {
  return (
    `COALESCE(CASE WHEN jsonb_typeof(${v}) = 'array' ` +
    `THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${v}) AS _e(x) WHERE ${test('_e.x')}) ` +
    `ELSE ${test(v)} END, false)`
  );
}

function leafSql(leaf: NormalizedLeaf, doc: string, p: Params): string {
  const v = postgresJsonPath(doc, leaf.field);
  // Postgres text and jsonb cannot hold U+0000: such a value could not even be sent.
  if (hasNul(leaf.value)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidSearchQuery,
      `Filter values on "${leaf.field}" cannot contain the NUL character (U+0000) on PostgreSQL`,
      leaf.field,
    );
  }
  switch (leaf.op) {
    case 'eq':
    case 'neq': {
      const scalar = p.add(JSON.stringify(nest(leaf.field, leaf.value)), 'jsonb');
      const inArray = p.add(JSON.stringify(nest(leaf.field, [leaf.value])), 'jsonb');
      const eq = `(${doc} @> ${scalar} OR ${doc} @> ${inArray})`;
      return leaf.op === 'eq' ? eq : `NOT ${eq}`;
    }
    case 'in':
    case 'nin': {
      // A top-level scalar is "contained" in an array holding it: `"a" <@ ["a","b"]`.
      const list = p.add(JSON.stringify(leaf.value), 'jsonb');
      const any = someValue(v, (x) => `(jsonb_typeof(${x}) NOT IN ('array', 'object') AND ${x} <@ ${list})`);
      return leaf.op === 'in' ? any : `NOT ${any}`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = p.add(leaf.value, typeof leaf.value === 'number' ? 'numeric' : 'text');
      const op = OPS[leaf.op];
      return someValue(v, (x) => scalarTest(x, leaf.value, (t) => `${t} ${op} ${bound}`));
    }
    case 'between': {
      const [lo, hi] = leaf.value;
      const cast = typeof lo === 'number' ? 'numeric' : 'text';
      const low = p.add(lo, cast);
      const high = p.add(hi, cast);
      return someValue(v, (x) => scalarTest(x, lo, (t) => `(${t} >= ${low} AND ${t} <= ${high})`));
    }
    case 'exists': {
      const present = `COALESCE(jsonb_typeof(${v}) <> 'null', false)`;
      return leaf.value ? present : `NOT ${present}`;
    }
    default:
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidSearchQuery,
        `Unknown filter operator ${JSON.stringify((leaf as { op: unknown }).op)}`,
        'filter',
      );
  }
}

/**
 * The normalized filter (AND of ORs, from `normalizeFilter`) as a SQL condition over
 * `opts.doc`, with bound parameters numbered from `paramOffset + 1`. An empty filter is `TRUE`.
 */
export function toPostgresFilter(nf: NormalizedFilter, opts: PostgresFilterOptions): PostgresSqlFragment {
  const p = new Params(opts.paramOffset ?? 0);
  const clauses = nf.map((or) => {
    const leaves = or.map((leaf) => leafSql(leaf, opts.doc, p));
    return leaves.length === 1 ? `(${leaves[0]})` : `(${leaves.map((l) => `(${l})`).join(' OR ')})`;
  });
  return { sql: clauses.length === 0 ? 'TRUE' : clauses.join(' AND '), params: p.values };
}
