import {
  badQuery,
  type CheckedSearchQuery,
  checkSearchQuery,
  type IntegrationError,
  type SearchQuery,
  undeclaredSearchField,
} from '@fraiseql/core';
import { type EsQuery, toElasticsearchFilter } from './filter';
import { covered, exactPath, type KnownIndex, textPath } from './mapping';

export type CheckedQuery = CheckedSearchQuery;

export const checkQuery = (q: SearchQuery): CheckedQuery =>
  checkSearchQuery(q, 'a string: Lucene query syntax, or a JSON query DSL object');

/** The first field the query filters, sorts or facets on that the index does not declare (IN101). */
export const undeclaredField = (q: CheckedQuery, known: KnownIndex): IntegrationError | undefined =>
  undeclaredSearchField(q, {
    filterable: (f) => covered(f, known.filterable),
    sortable: (f) => covered(f, known.sortable),
  });

/**
 * `rawFilter` passes engine syntax through: a JSON object is a query DSL clause, anything else
 * Lucene syntax for a `query_string` query (`category:kitchen AND in_stock:true`).
 */
function rawClause(raw: string): EsQuery {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as EsQuery;
    } catch (err) {
      throw badQuery(`rawFilter is not valid JSON: ${(err as Error).message}`, 'rawFilter');
    }
    throw badQuery('rawFilter JSON must be a query DSL object', 'rawFilter');
  }
  return { query_string: { query: text } };
}

const WORDY = /[\p{L}\p{N}]/u;

/**
 * Words: every word must be found in some searchable field (one `multi_match` per word, all
 * required — a single multi_match with `operator: and` would want every word in the same field),
 * the last one as a prefix (search as you type) unless the query ends with a space.
 */
function wordClauses(query: string, fields: string[]): EsQuery[] {
  const words = query.split(/\s+/).filter((w) => WORDY.test(w));
  const prefixLast = !/\s$/.test(query);
  return words.map((word, i) => ({
    multi_match: {
      query: word,
      fields,
      type: prefixLast && i === words.length - 1 ? 'bool_prefix' : 'best_fields',
      operator: 'and',
      // A searchable field that holds numbers must not turn a word into a query error.
      lenient: true,
    },
  }));
}

/** The `_search` request body for a checked query. */
export function searchBody(
  q: CheckedQuery,
  known: KnownIndex,
  maxFacetValues: number,
): Record<string, unknown> {
  const exact = (field: string) => exactPath(known, field);
  const fields = known.searchable.map((f) => textPath(known, f));
  const must = q.query.trim() === '' ? [] : wordClauses(q.query, fields);
  const filter = toElasticsearchFilter(q.filter, exact);
  if (q.rawFilter?.trim()) filter.push(rawClause(q.rawFilter));
  const body: Record<string, unknown> = {
    from: q.offset,
    size: q.limit,
    track_total_hits: true,
    query:
      must.length === 0 && filter.length === 0
        ? { match_all: {} }
        : { bool: { ...(must.length > 0 ? { must } : {}), ...(filter.length > 0 ? { filter } : {}) } },
  };
  if (q.sort.length > 0) {
    body.sort = q.sort.map((s) => ({ [exact(s.field)]: { order: s.direction, unmapped_type: 'keyword' } }));
  }
  if (q.facets.length > 0) {
    body.aggs = Object.fromEntries(
      q.facets.map((f, i) => [`facet_${i}`, { terms: { field: exact(f), size: maxFacetValues } }]),
    );
  }
  if (q.highlight.length > 0) {
    body.highlight = {
      pre_tags: ['<mark>'],
      post_tags: ['</mark>'],
      fields: Object.fromEntries(q.highlight.map((f) => [textPath(known, f), { number_of_fragments: 0 }])),
    };
  }
  return body;
}
