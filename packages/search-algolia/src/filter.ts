import type { NormalizedFilter, NormalizedLeaf } from '@fraiseql/core';
import { badQuery } from '@fraiseql/core';

/**
 * Translation of the portable filter into Algolia's `filters` syntax
 * (https://www.algolia.com/doc/api-reference/api-parameters/filters).
 *
 * How each portable operator keeps its meaning on Algolia:
 * - Strings are facet filters, `f:"v"` (always quoted, `\` and `"` escaped with a backslash, so a
 *   value can carry quotes, colons, parentheses, `AND`/`OR`, backslashes or unicode).
 *   On an array attribute Algolia matches when any element matches ("contains").
 * - Booleans are boolean filters, `f:true` / `f:false`.
 * - Numbers (and dates, already epoch milliseconds) are numeric filters: `f = n`, `f > n`, …,
 *   `between` → `f:lo TO hi` (inclusive). Algolia has no range filter on strings, so `gt`/`lt`/…
 *   with a string value is IN101.
 * - `neq` → `NOT <eq>` and `nin` → `NOT <eq> AND NOT <eq> …`: Algolia's `NOT` is the complement of
 *   the negated filter over every record, so records that lack the attribute are kept.
 * - `exists` cannot be expressed on an attribute itself (Algolia does not filter on missing or
 *   null attributes). The provider stores the paths of every non-null attribute of a record in a
 *   hidden facet ({@link ALGOLIA_FIELDS_ATTRIBUTE}, declared `filterOnly`), and `exists` becomes
 *   `_fields:"f"` / `NOT _fields:"f"`.
 *
 * Algolia only accepts a conjunction of OR groups in which every member has the same type
 * ("You can only combine filters of the same type with OR": `facet:value OR num > 3` is rejected).
 * An OR group that mixes facet/boolean/exists conditions with numeric ones is therefore rewritten
 * into a union of filters that Algolia accepts and that select disjoint sets of records:
 * `F OR N` = `F` ∪ `(N AND NOT F)`. {@link toAlgoliaFilterUnion} returns that list; the provider
 * runs one query per entry (one multi-query request) and merges the hits. {@link toAlgoliaFilters}
 * is the single-string form and rejects such groups with IN101.
 *
 * Known engine differences (documented, not hidden): facet values match case-insensitively on
 * Algolia, and numeric comparisons are precise to three decimals.
 */

/** The hidden facet holding the paths of a record's non-null attributes (for `exists`). */
export const ALGOLIA_FIELDS_ATTRIBUTE = '_fields';

/** Algolia's numeric filters accept values in ±4611686018427387. */
export const ALGOLIA_MAX_NUMERIC = 4_611_686_018_427_387;

/** Upper bound on the queries one portable filter may expand into (2 per mixed OR group). */
export const ALGOLIA_MAX_FILTER_QUERIES = 16;
/** Upper bound on the clauses distributing `nin` inside an OR group may produce. */
const MAX_CLAUSES = 256;

export interface AlgoliaFilterOptions {
  /** The attribute holding present field paths, for `exists`. Default {@link ALGOLIA_FIELDS_ATTRIBUTE}. */
  existsAttribute?: string;
}

/** A single Algolia filter, possibly negated. Facet literals and numeric literals cannot share an OR. */
type Literal =
  | { kind: 'facet'; attr: string; value: string | boolean; not: boolean }
  | { kind: 'numeric'; attr: string; op: '=' | '<' | '<=' | '>' | '>='; value: number; not: boolean }
  | { kind: 'range'; attr: string; lo: number; hi: number; not: boolean };
type Clause = Literal[];

/** IN101 for a filter the engine cannot express (kit `badQuery`, naming `filter` by default). */
const bad = (message: string, field = 'filter') => badQuery(message, field);

/** Quotes a string for an Algolia filter: `"…"` with `\` and `"` escaped by a backslash. */
export function quoteAlgoliaValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'TO']);

/** Attribute names are left bare (they are `[A-Za-z0-9_.]` after normalizeFilter) unless they are keywords. */
function attribute(name: string): string {
  return KEYWORDS.has(name) ? quoteAlgoliaValue(name) : name;
}

/** Renders a number the way Algolia's lexer reads it: plain decimal notation, no exponent. */
export function formatAlgoliaNumber(value: number, field = 'filter'): string {
  if (!Number.isFinite(value)) throw bad(`Filter value on "${field}" must be a finite number`, field);
  if (Math.abs(value) > ALGOLIA_MAX_NUMERIC) {
    throw bad(
      `Filter value ${value} on "${field}" is outside Algolia's numeric range (±${ALGOLIA_MAX_NUMERIC})`,
      field,
    );
  }
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Tiny magnitudes print as 1e-7; Algolia compares to three decimals, so 20 digits is plenty.
  return value.toFixed(20).replace(/\.?0+$/, '');
}

function eqLiteral(field: string, value: string | number | boolean, not: boolean): Literal {
  if (typeof value === 'number') return { kind: 'numeric', attr: field, op: '=', value, not };
  return { kind: 'facet', attr: field, value, not };
}

function numeric(leaf: NormalizedLeaf & { value: string | number }, op: '<' | '<=' | '>' | '>='): Literal {
  if (typeof leaf.value !== 'number') {
    throw bad(
      `Algolia cannot compare strings with "${leaf.op}" on "${leaf.field}"; store and filter the value as a number`,
      leaf.field,
    );
  }
  return { kind: 'numeric', attr: leaf.field, op, value: leaf.value, not: false };
}

/** One portable condition as a conjunction of Algolia OR clauses. */
function leafToClauses(leaf: NormalizedLeaf, existsAttr: string): Clause[] {
  switch (leaf.op) {
    case 'eq':
      return [[eqLiteral(leaf.field, leaf.value, false)]];
    case 'neq':
      return [[eqLiteral(leaf.field, leaf.value, true)]];
    case 'in':
      return [leaf.value.map((v) => eqLiteral(leaf.field, v, false))];
    case 'nin':
      return leaf.value.map((v) => [eqLiteral(leaf.field, v, true)]);
    case 'gt':
      return [[numeric(leaf, '>')]];
    case 'gte':
      return [[numeric(leaf, '>=')]];
    case 'lt':
      return [[numeric(leaf, '<')]];
    case 'lte':
      return [[numeric(leaf, '<=')]];
    case 'between': {
      const [lo, hi] = leaf.value;
      if (typeof lo !== 'number' || typeof hi !== 'number') {
        throw bad(
          `Algolia cannot filter a range of strings on "${leaf.field}"; store and filter the value as a number`,
          leaf.field,
        );
      }
      return [[{ kind: 'range', attr: leaf.field, lo, hi, not: false }]];
    }
    case 'exists':
      return [[{ kind: 'facet', attr: existsAttr, value: leaf.field, not: !leaf.value }]];
  }
}

/** CNF of `A OR B` from the CNFs of A and B: every clause of A joined with every clause of B. */
function orOfCnf(a: Clause[], b: Clause[], field: string): Clause[] {
  if (a.length * b.length > MAX_CLAUSES) {
    throw bad(`The OR group on "${field}" expands into too many Algolia conditions; simplify it`, field);
  }
  const out: Clause[] = [];
  for (const x of a) for (const y of b) out.push([...x, ...y]);
  return out;
}

function negate(lit: Literal): Literal {
  return { ...lit, not: !lit.not };
}

/** The portable filter as a conjunction of Algolia OR clauses (types may still be mixed within one). */
function toCnf(nf: NormalizedFilter, opts: AlgoliaFilterOptions): Clause[] {
  const existsAttr = opts.existsAttribute ?? ALGOLIA_FIELDS_ATTRIBUTE;
  const clauses: Clause[] = [];
  for (const group of nf) {
    if (group.length === 0) continue;
    let cnf = leafToClauses(group[0]!, existsAttr);
    for (const leaf of group.slice(1)) cnf = orOfCnf(cnf, leafToClauses(leaf, existsAttr), leaf.field);
    clauses.push(...cnf);
  }
  // Identical literals inside a clause (e.g. `in` with a repeated value) are harmless but noisy.
  return clauses.map((c) => {
    const seen = new Set<string>();
    return c.filter((l) => {
      const key = JSON.stringify(l);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
}

const isFacet = (l: Literal) => l.kind === 'facet';

/**
 * Splits a clause that mixes facet and numeric literals into alternatives, each a list of
 * single-type clauses, selecting disjoint record sets whose union is the clause:
 * `F OR N` → `[F]` and `[N, NOT f1, NOT f2, …]`.
 */
function splitMixed(clause: Clause): Clause[][] {
  const facets = clause.filter(isFacet);
  const numerics = clause.filter((l) => !isFacet(l));
  if (facets.length === 0 || numerics.length === 0) return [[clause]];
  return [[facets], [numerics, ...facets.map((f) => [negate(f)])]];
}

function renderLiteral(l: Literal): string {
  const not = l.not ? 'NOT ' : '';
  const attr = attribute(l.attr);
  switch (l.kind) {
    case 'facet':
      return `${not}${attr}:${typeof l.value === 'boolean' ? String(l.value) : quoteAlgoliaValue(l.value)}`;
    case 'numeric':
      return `${not}${attr} ${l.op} ${formatAlgoliaNumber(l.value, l.attr)}`;
    case 'range':
      return `${not}${attr}:${formatAlgoliaNumber(l.lo, l.attr)} TO ${formatAlgoliaNumber(l.hi, l.attr)}`;
  }
}

function renderClauses(clauses: Clause[]): string {
  return clauses
    .map((c) => (c.length === 1 ? renderLiteral(c[0]!) : `(${c.map(renderLiteral).join(' OR ')})`))
    .join(' AND ');
}

/**
 * The portable filter as one Algolia `filters` string (`""` for no filter). IN101 when an OR group
 * mixes facet and numeric conditions, which one Algolia filter cannot express — use
 * {@link toAlgoliaFilterUnion} for those.
 */
export function toAlgoliaFilters(nf: NormalizedFilter, opts: AlgoliaFilterOptions = {}): string {
  const clauses = toCnf(nf, opts);
  for (const c of clauses) {
    if (c.some(isFacet) && c.some((l) => !isFacet(l))) {
      throw bad(
        `Algolia cannot OR a numeric condition with a string, boolean or exists condition (${renderLiteral(c[0]!)} …)`,
        c[0]!.attr,
      );
    }
  }
  return renderClauses(clauses);
}

/**
 * The portable filter as a list of Algolia `filters` strings that select disjoint record sets and
 * whose union is exactly the filter. One entry (possibly `""`) unless an OR group mixes facet and
 * numeric conditions; each such group doubles the list, up to {@link ALGOLIA_MAX_FILTER_QUERIES}
 * (beyond that IN101).
 */
export function toAlgoliaFilterUnion(nf: NormalizedFilter, opts: AlgoliaFilterOptions = {}): string[] {
  let alternatives: Clause[][] = [[]];
  for (const clause of toCnf(nf, opts)) {
    const split = splitMixed(clause);
    if (alternatives.length * split.length > ALGOLIA_MAX_FILTER_QUERIES) {
      throw bad(
        `The filter needs more than ${ALGOLIA_MAX_FILTER_QUERIES} Algolia queries: too many OR groups mix numeric with string/boolean/exists conditions`,
      );
    }
    const next: Clause[][] = [];
    for (const alt of alternatives) for (const part of split) next.push([...alt, ...part]);
    alternatives = next;
  }
  return alternatives.map(renderClauses);
}

/** Which boolean keywords appear at the top level (outside quotes and parentheses) of a filter. */
function topLevelKeywords(filter: string): Set<string> {
  const found = new Set<string>();
  let depth = 0;
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i]!;
    if (ch === '"' || ch === "'") {
      i++;
      while (i < filter.length && filter[i] !== ch) i += filter[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /[A-Z]/.test(ch) && (i === 0 || /[\s()]/.test(filter[i - 1]!))) {
      const word = /^[A-Z]+/.exec(filter.slice(i))![0];
      const after = filter[i + word.length];
      if ((word === 'AND' || word === 'OR') && (after === undefined || /[\s()]/.test(after))) found.add(word);
      i += word.length;
      continue;
    }
    i++;
  }
  return found;
}

/**
 * Joins an engine-syntax filter (`rawFilter`) and a translated one with AND, keeping the result
 * valid Algolia syntax: a raw filter that is a bare `a OR b` is wrapped in parentheses (Algolia
 * forbids parentheses around a conjunction, so a raw `a AND b` is joined as is).
 */
export function combineAlgoliaFilters(raw: string | undefined, translated: string): string {
  const r = raw?.trim() ?? '';
  if (!r) return translated;
  const kw = topLevelKeywords(r);
  const rawPart = kw.has('OR') && !kw.has('AND') ? `(${r})` : r;
  return translated ? `${rawPart} AND ${translated}` : rawPart;
}
