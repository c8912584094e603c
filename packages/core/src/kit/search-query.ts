import type { SearchQuery } from '../contracts/search';
import type { IntegrationError } from '../errors';
import { type NormalizedFilter, normalizeFilter, parseSort, type SortSpec } from '../filter';
import { assertIndexName } from '../validation';
import { badQuery, fieldList, isPlainObject, searchPage } from './fields';

/** A search query whose shape is checked (IN101, IN106), before it meets an index's settings. */
export interface CheckedSearchQuery {
  index: string;
  query: string;
  limit: number;
  offset: number;
  facets: string[];
  highlight: string[];
  filter: NormalizedFilter;
  sort: SortSpec[];
  rawFilter?: string;
}

/**
 * Checks everything of a query that does not depend on the index: index name, query string,
 * limit/offset, facet and highlight lists, the portable filter and the sort. `rawFilterWhat` says
 * what the engine's raw filter is, for the IN101 message (`"a Meilisearch filter string"`).
 */
export function checkSearchQuery(q: SearchQuery, rawFilterWhat = 'a string'): CheckedSearchQuery {
  if (!isPlainObject(q)) throw badQuery('A search query must be an object');
  assertIndexName(q.index);
  if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses)', 'query');
  const { limit, offset } = searchPage(q.limit, q.offset);
  if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string')
    throw badQuery(`rawFilter must be ${rawFilterWhat}`, 'rawFilter');
  const checked: CheckedSearchQuery = {
    index: q.index,
    query: q.query,
    limit,
    offset,
    facets: fieldList(q.facets, 'facets'),
    highlight: fieldList(q.highlight, 'highlight'),
    filter: normalizeFilter(q.filter),
    sort: parseSort(q.sort),
  };
  if (q.rawFilter !== undefined) checked.rawFilter = q.rawFilter;
  return checked;
}

/**
 * The IN101 error for the first field a query filters, sorts or facets on that the index does
 * not declare, or undefined. `covers` tells whether a field is declared (engines differ: patterns,
 * nested paths).
 */
export function undeclaredSearchField(
  q: Pick<CheckedSearchQuery, 'filter' | 'sort' | 'facets'>,
  covers: { filterable(field: string): boolean; sortable(field: string): boolean },
): IntegrationError | undefined {
  for (const leaf of q.filter.flat()) {
    if (!covers.filterable(leaf.field))
      return badQuery(
        `Field "${leaf.field}" is not filterable; declare it in the index's filterable fields`,
        leaf.field,
      );
  }
  for (const s of q.sort) {
    if (!covers.sortable(s.field))
      return badQuery(
        `Field "${s.field}" is not sortable; declare it in the index's sortable fields`,
        'sort',
      );
  }
  for (const f of q.facets) {
    if (!covers.filterable(f))
      return badQuery(
        `Facet "${f}" is not filterable; declare it in the index's filterable fields`,
        'facets',
      );
  }
  return undefined;
}

/** `Date`s anywhere in plain objects and arrays as epoch milliseconds: how engines store document dates. */
export function datesToMillis(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(datesToMillis);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, datesToMillis(v)]));
  }
  return value;
}
