import type { NormalizedFilter, NormalizedLeaf, SortSpec } from '@fraiseql/core';

/**
 * Translation of the portable filter into Meilisearch's filter expression syntax
 * (https://www.meilisearch.com/docs/learn/filtering_and_sorting/filter_expression_reference).
 *
 * How each portable operator keeps its meaning on Meilisearch:
 * - `eq` → `f = v`: on an array field Meilisearch matches when any element equals `v` ("contains").
 * - `neq` → `f != v` and `nin` → `f NOT IN [...]`: Meilisearch defines both as the complement of
 *   `=` / `IN` over every document, so documents that lack the field are kept, as the contract asks.
 * - `gt`/`gte`/`lt`/`lte` → `>`/`>=`/`<`/`<=`, `between` → `f lo TO hi` (inclusive).
 * - `exists: true` → `(f EXISTS AND f IS NOT NULL)`, `exists: false` → `(f NOT EXISTS OR f IS NULL)`:
 *   Meilisearch counts a `null` value as existing, the portable filter does not.
 *
 * Every field and every string value is double-quoted. Inside quotes Meilisearch (≥ 1.4) first
 * turns `\"` into `"` and then unescapes `\\` into `\`, so escaping `\` as `\\` and `"` as `\"`
 * lets a value carry any character (quotes, brackets, `AND`, backslashes, unicode) — nothing has to
 * be refused. Quoting field names as well keeps names such as `NOT` or `TO` from being read as
 * keywords.
 *
 * Known engine differences the syntax cannot express (documented, not hidden):
 * - Meilisearch compares strings case-insensitively (`=`, `IN`, and the lexicographic
 *   `<`/`>`/`TO` of Meilisearch ≥ 1.15), while the in-memory evaluator is case-sensitive.
 * - A value is matched both as a string and, when it parses as a number, as a number, so
 *   `eq "12.5"` also matches the number 12.5 and `eq true` also matches the string `"true"`.
 */

/** Quotes a string for a Meilisearch filter: `"…"` with `\` and `"` escaped. */
export function quoteMeilisearchValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function literal(value: string | number | boolean): string {
  if (typeof value === 'string') return quoteMeilisearchValue(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = String(value);
  // `1e+21` is a number to Meilisearch but `+` is not a word character of its syntax: quote it.
  return /^-?[0-9.]+$/.test(text) ? text : quoteMeilisearchValue(text);
}

function leafToMeilisearch(leaf: NormalizedLeaf): string {
  const f = quoteMeilisearchValue(leaf.field);
  switch (leaf.op) {
    case 'eq':
      return `${f} = ${literal(leaf.value)}`;
    case 'neq':
      return `${f} != ${literal(leaf.value)}`;
    case 'gt':
      return `${f} > ${literal(leaf.value)}`;
    case 'gte':
      return `${f} >= ${literal(leaf.value)}`;
    case 'lt':
      return `${f} < ${literal(leaf.value)}`;
    case 'lte':
      return `${f} <= ${literal(leaf.value)}`;
    case 'between':
      return `${f} ${literal(leaf.value[0])} TO ${literal(leaf.value[1])}`;
    case 'in':
      return `${f} IN [${leaf.value.map(literal).join(', ')}]`;
    case 'nin':
      return `${f} NOT IN [${leaf.value.map(literal).join(', ')}]`;
    case 'exists':
      return leaf.value ? `(${f} EXISTS AND ${f} IS NOT NULL)` : `(${f} NOT EXISTS OR ${f} IS NULL)`;
  }
}

/**
 * A normalized portable filter (see `normalizeFilter`) as a Meilisearch filter string, or
 * `undefined` for an empty filter. AND binds tighter than OR in Meilisearch, so every OR group of
 * more than one condition is parenthesised.
 */
export function toMeilisearchFilter(filter: NormalizedFilter): string | undefined {
  const groups = filter
    .filter((or) => or.length > 0)
    .map((or) => {
      const parts = or.map(leafToMeilisearch);
      return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
    });
  return groups.length === 0 ? undefined : groups.join(' AND ');
}

/** A parsed sort (see `parseSort`) as Meilisearch's `sort` parameter: `["price:asc", "name:desc"]`. */
export function toMeilisearchSort(sort: readonly SortSpec[]): string[] {
  return sort.map(({ field, direction }) => `${field}:${direction}`);
}
