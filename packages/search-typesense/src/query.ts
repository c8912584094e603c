import {
  assertIndexName,
  badQuery,
  fieldList,
  type IndexConfig,
  isPlainObject,
  type NormalizedFilter,
  normalizeFilter,
  parseSort,
  type SearchQuery,
  type SortSpec,
  searchPage,
} from '@fraiseql/core';
import { TYPESENSE_HIDDEN_FIELDS, toTypesenseFilter, toTypesenseSort } from './filter';
import { type CollectionInfo, STRING_TYPES } from './schema';

/** Typesense caps `per_page` at 250; larger limits are fetched page by page. */
export const TYPESENSE_MAX_PER_PAGE = 250;

export type Params = Record<string, string | number | boolean>;

/** The shape of a query, checked before the index's settings are read. */
export interface QueryPage {
  index: string;
  query: string;
  limit: number;
  offset: number;
}

/** A query checked against the index's settings (IN101 otherwise). */
export interface CheckedQuery extends QueryPage {
  filter: NormalizedFilter;
  sort: SortSpec[];
  facets: string[];
  highlight: string[];
  rawFilter?: string;
}

export function checkQueryPage(q: SearchQuery): QueryPage {
  if (!isPlainObject(q)) throw badQuery('search takes a query object', 'query');
  assertIndexName(q.index);
  if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses)', 'query');
  const { limit, offset } = searchPage(q.limit, q.offset);
  return { index: q.index, query: q.query, limit, offset };
}

export function checkQuery(q: SearchQuery, page: QueryPage, config: IndexConfig): CheckedQuery {
  const filterable = config.filterable ?? [];
  const checked: CheckedQuery = {
    ...page,
    filter: normalizeFilter(q.filter, filterable),
    sort: parseSort(q.sort, config.sortable ?? []),
    facets: fieldList(q.facets, 'facets', { allowed: filterable, allowedWhat: 'filterable' }),
    highlight: fieldList(q.highlight, 'highlight'),
  };
  if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string')
    throw badQuery('rawFilter must be a string', 'rawFilter');
  if (q.rawFilter !== undefined) checked.rawFilter = q.rawFilter;
  return checked;
}

/**
 * The search parameters of a checked query, or `undefined` when the answer is known to be empty
 * without asking Typesense: a condition no document can meet, or words with no text field yet.
 */
export function searchParams(
  q: CheckedQuery,
  config: IndexConfig,
  info: CollectionInfo,
  maxFacetValues: number,
): Params | undefined {
  const fieldType = (field: string) => info.types.get(field);
  let filterBy = toTypesenseFilter(q.filter, { fieldType });
  const words = q.query.trim();
  const queryBy = config.searchable.filter((f) => STRING_TYPES.has(fieldType(f) ?? ''));
  if (filterBy === null || (words !== '' && queryBy.length === 0)) return undefined;
  const raw = q.rawFilter?.trim();
  if (raw) filterBy = filterBy ? `(${raw}) && (${filterBy})` : raw;

  const params: Params = {
    q: words === '' ? '*' : words,
    prefix: true,
    num_typos: 0,
    typo_tokens_threshold: 0,
    drop_tokens_threshold: 0,
    split_join_tokens: 'off',
    exclude_fields: TYPESENSE_HIDDEN_FIELDS.join(','),
    highlight_start_tag: '<mark>',
    highlight_end_tag: '</mark>',
  };
  if (queryBy.length > 0) params.query_by = queryBy.join(',');
  if (filterBy) params.filter_by = filterBy;
  const sortBy = toTypesenseSort(q.sort, { fieldType });
  if (sortBy) params.sort_by = sortBy;
  const facetBy = q.facets.filter((f) => info.facets.has(f));
  if (facetBy.length > 0) {
    params.facet_by = facetBy.join(',');
    params.max_facet_values = maxFacetValues;
  }
  const marked = q.highlight.filter((f) => queryBy.includes(f));
  if (marked.length > 0) {
    params.highlight_fields = marked.join(',');
    params.highlight_full_fields = marked.join(',');
  }
  return params;
}

/**
 * The page size and pages that cover `[offset, offset + limit)`: one page whenever a size up to 250
 * puts the whole range on one page, otherwise consecutive pages of 250.
 */
export function planPages(
  offset: number,
  limit: number,
): { perPage: number; first: number; count: number; skip: number } {
  if (limit === 0) return { perPage: 0, first: 1, count: 1, skip: 0 };
  for (let size = limit; size <= TYPESENSE_MAX_PER_PAGE; size++) {
    const page = Math.floor(offset / size);
    if (page === Math.floor((offset + limit - 1) / size)) {
      return { perPage: size, first: page + 1, count: 1, skip: offset - page * size };
    }
  }
  const size = TYPESENSE_MAX_PER_PAGE;
  const first = Math.floor(offset / size);
  const last = Math.floor((offset + limit - 1) / size);
  return { perPage: size, first: first + 1, count: last - first + 1, skip: offset - first * size };
}
