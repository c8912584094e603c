import type { NormalizedFilter, NormalizedLeaf } from '@fraiseql/core';

/**
 * Translation of the portable filter into a `bool` query's clauses. Values are sent as JSON
 * values, never spliced into a query string, so any character is safe.
 *
 * - `eq` → `term`: on an array field Elasticsearch matches when any value equals ("contains").
 * - `neq` → `must_not: term`, `nin` → `must_not: terms`: a document without the field has no
 *   value to exclude it, so it is kept, as the contract asks.
 * - `gt`/`gte`/`lt`/`lte`/`between` → `range` (inclusive for `between`); dates arrive as epoch ms,
 *   which both `double` fields and `date` fields (format `epoch_millis`) compare.
 * - `in` → `terms`; `exists` → `exists` (null values do not count, as on every engine) or
 *   `must_not: exists`.
 * Strings are compared exactly (keyword fields are case-sensitive, like the in-memory evaluator).
 */
export type EsQuery = Record<string, unknown>;

function leafQuery(leaf: NormalizedLeaf, path: (field: string) => string): EsQuery {
  const f = path(leaf.field);
  const not = (q: EsQuery): EsQuery => ({ bool: { must_not: [q] } });
  switch (leaf.op) {
    case 'eq':
      return { term: { [f]: leaf.value } };
    case 'neq':
      return not({ term: { [f]: leaf.value } });
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { range: { [f]: { [leaf.op]: leaf.value } } };
    case 'between':
      return { range: { [f]: { gte: leaf.value[0], lte: leaf.value[1] } } };
    case 'in':
      return { terms: { [f]: leaf.value } };
    case 'nin':
      return not({ terms: { [f]: leaf.value } });
    case 'exists':
      return leaf.value ? { exists: { field: f } } : not({ exists: { field: f } });
  }
}

/** The `filter` clauses of a bool query for a normalized portable filter (AND of OR groups). */
export function toElasticsearchFilter(filter: NormalizedFilter, path: (field: string) => string): EsQuery[] {
  return filter
    .filter((or) => or.length > 0)
    .map((or) => {
      const parts = or.map((leaf) => leafQuery(leaf, path));
      return parts.length === 1 ? parts[0]! : { bool: { should: parts, minimum_should_match: 1 } };
    });
}
