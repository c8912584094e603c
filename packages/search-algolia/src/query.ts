import {
  assertIndexName,
  badQuery,
  fieldList,
  IntegrationError,
  MAX_SEARCH_LIMIT,
  normalizeFilter,
  parseSort,
  type SearchQuery,
  type SearchResult,
  searchPage,
} from '@fraiseql/core';
import type { AlgoliaCalls } from './calls';
import type { CallContext } from './errors';
import { combineAlgoliaFilters, toAlgoliaFilterUnion } from './filter';
import type { AlgoliaIndexes } from './indexes';
import { type RawResult, toResult } from './response';

const HIGHLIGHT_PRE = '<mark>';
const HIGHLIGHT_POST = '</mark>';

/** The parameters every query of a search shares (words, highlights, facets). */
function commonParams(query: string, highlight: string[], facets: string[]): Record<string, unknown> {
  return {
    query,
    // Deterministic, "every word must match" semantics on every engine.
    typoTolerance: false,
    queryType: 'prefixLast',
    removeWordsIfNoResults: 'none',
    ignorePlurals: false,
    removeStopWords: false,
    advancedSyntax: false,
    attributesToHighlight: highlight,
    attributesToSnippet: [],
    highlightPreTag: HIGHLIGHT_PRE,
    highlightPostTag: HIGHLIGHT_POST,
    ...(facets.length > 0 ? { facets, maxValuesPerFacet: 1000 } : {}),
  };
}

/**
 * Runs a portable search: checks the query (IN101), picks the sort replica, and sends one query,
 * or one multi-query of disjoint queries when an OR group mixes numeric and other conditions.
 */
export async function runSearch<T>(
  calls: AlgoliaCalls,
  indexes: AlgoliaIndexes,
  q: SearchQuery,
): Promise<SearchResult<T>> {
  if (!q || typeof q !== 'object') throw badQuery('search takes a query object');
  assertIndexName(q.index);
  if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses)', 'query');
  if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string') {
    throw badQuery('rawFilter must be a string of Algolia filter syntax', 'rawFilter');
  }
  const { limit, offset } = searchPage(q.limit, q.offset);
  const facets = fieldList(q.facets, 'facets');
  const highlight = fieldList(q.highlight, 'highlight');

  const state = await indexes.state(q.index);
  if (!state) throw IntegrationError.indexNotFound(q.index);
  const { config } = state;
  const nf = normalizeFilter(q.filter, config.filterable);
  const sort = parseSort(q.sort, config.sortable);
  for (const f of facets) {
    if (!config.filterable.includes(f)) {
      throw badQuery(`Cannot facet on "${f}": declare it in the index's filterable fields`, 'facets');
    }
  }
  const filters = toAlgoliaFilterUnion(nf).map((f) => combineAlgoliaFilters(q.rawFilter, f));
  const target = sort.length > 0 ? await indexes.replicaFor(q.index, state, sort) : q.index;

  const common = commonParams(q.query, highlight, facets);
  const ctx: CallContext = { op: `search index "${q.index}"`, kind: 'search', index: q.index };
  const started = performance.now();
  let results: RawResult[];
  if (filters.length === 1) {
    const params = { ...common, offset, length: limit, ...(filters[0] ? { filters: filters[0] } : {}) };
    results = [
      (await calls.call(ctx, (c) =>
        c.searchSingleIndex({ indexName: target, searchParams: params as never }),
      )) as unknown as RawResult,
    ];
  } else {
    // Disjoint record sets (see toAlgoliaFilterUnion): fetch the first offset+limit of each and merge.
    const length = offset + limit;
    if (length > MAX_SEARCH_LIMIT) {
      throw badQuery(
        `offset + limit must be at most ${MAX_SEARCH_LIMIT} when an OR group mixes numeric and other conditions on Algolia`,
        'offset',
      );
    }
    const response = await calls.call(ctx, (c) =>
      c.search({
        requests: filters.map((f) => ({
          ...common,
          indexName: target,
          offset: 0,
          length,
          filters: f,
        })) as never,
      }),
    );
    results = (response as unknown as { results: RawResult[] }).results;
  }
  return toResult<T>(results, { sort, offset, limit, facets, highlight, started });
}
