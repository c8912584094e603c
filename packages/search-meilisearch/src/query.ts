import {
  assertIndexName,
  badQuery,
  fieldList,
  type IntegrationError,
  type NormalizedFilter,
  normalizeFilter,
  parseSort,
  type SearchQuery,
  type SortSpec,
  searchPage,
} from '@fraiseql/core';
import type { Filter as EngineFilter, SearchParams } from 'meilisearch';
import { toMeilisearchFilter, toMeilisearchSort } from './filter';
import { covered, type KnownIndex } from './settings';

/** A search query once checked (IN101 otherwise), before it meets the index's settings. */
export interface CheckedQuery {
  index: string;
  query: string;
  limit: number;
  offset: number;
  facets: string[];
  highlight: string[];
  rawFilter?: string;
  filter: NormalizedFilter;
  sort: SortSpec[];
}

export function checkQuery(q: SearchQuery): CheckedQuery {
  if (!q || typeof q !== 'object') throw badQuery('A search query must be an object');
  assertIndexName(q.index);
  if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses)', 'query');
  const { limit, offset } = searchPage(q.limit, q.offset);
  const facets = fieldList(q.facets, 'facets');
  const highlight = fieldList(q.highlight, 'highlight');
  if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string') {
    throw badQuery('rawFilter must be a Meilisearch filter string', 'rawFilter');
  }
  const checked: CheckedQuery = {
    index: q.index,
    query: q.query,
    limit,
    offset,
    facets,
    highlight,
    filter: normalizeFilter(q.filter),
    sort: parseSort(q.sort),
  };
  if (q.rawFilter !== undefined) checked.rawFilter = q.rawFilter;
  return checked;
}

/** The first field the query filters, sorts or facets on that the index does not declare (IN101). */
export function undeclaredField(q: CheckedQuery, known: KnownIndex): IntegrationError | undefined {
  for (const leaf of q.filter.flat()) {
    if (!covered(leaf.field, known.filterable)) {
      return badQuery(
        `Field "${leaf.field}" is not filterable; declare it in the index's filterable fields`,
        leaf.field,
      );
    }
  }
  for (const s of q.sort) {
    if (!covered(s.field, known.sortable)) {
      return badQuery(
        `Field "${s.field}" is not sortable; declare it in the index's sortable fields`,
        'sort',
      );
    }
  }
  for (const f of q.facets) {
    if (!covered(f, known.filterable)) {
      return badQuery(
        `Facet "${f}" is not filterable; declare it in the index's filterable fields`,
        'facets',
      );
    }
  }
  return undefined;
}

/**
 * The page of Meilisearch's exhaustive `page`/`hitsPerPage` mode that contains `[offset, offset +
 * limit)`: the smallest `hitsPerPage ≥ limit` whose page boundaries do not split the window. That
 * mode counts `totalHits` exactly (offset/limit mode only estimates), for any offset.
 */
export function pageWindow(
  offset: number,
  limit: number,
): { hitsPerPage: number; page: number; skip: number } {
  if (limit === 0) return { hitsPerPage: 0, page: 1, skip: 0 };
  for (let h = limit, tries = 0; tries < 10_000; h++, tries++) {
    const first = Math.floor(offset / h);
    if (first === Math.floor((offset + limit - 1) / h))
      return { hitsPerPage: h, page: first + 1, skip: offset - first * h };
  }
  return { hitsPerPage: offset + limit, page: 1, skip: offset };
}

/** The engine's search parameters, and how many hits of the returned page to skip. */
export function searchParams(q: CheckedQuery): { params: SearchParams; skip: number } {
  const translated = toMeilisearchFilter(q.filter);
  const raw = q.rawFilter?.trim() ? q.rawFilter : undefined;
  const engineFilter: EngineFilter | undefined = raw && translated ? [raw, translated] : (raw ?? translated);
  const { hitsPerPage, page, skip } = pageWindow(q.offset, q.limit);
  const params: SearchParams = {
    hitsPerPage,
    page,
    matchingStrategy: 'all',
    showRankingScore: true,
  };
  if (engineFilter !== undefined) params.filter = engineFilter;
  if (q.sort.length > 0) params.sort = toMeilisearchSort(q.sort);
  if (q.facets.length > 0) params.facets = q.facets;
  if (q.highlight.length > 0) {
    params.attributesToHighlight = q.highlight;
    params.highlightPreTag = '<mark>';
    params.highlightPostTag = '</mark>';
  }
  return { params, skip };
}
