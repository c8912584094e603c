import type { FacetCount, SearchHit, SearchResult, SortSpec } from '@fraiseql/core';
import { compareForSort, fromHit } from './records';

/** One Algolia search response, as far as the provider reads it. */
export interface RawResult {
  hits: Record<string, unknown>[];
  nbHits?: number;
  exhaustiveNbHits?: boolean;
  exhaustive?: { nbHits?: boolean };
  processingTimeMS?: number;
  facets?: Record<string, Record<string, number>>;
}

/** What the response mapping needs to know of the query. */
export interface ResultShape {
  sort: SortSpec[];
  offset: number;
  limit: number;
  facets: string[];
  highlight: string[];
  /** `performance.now()` when the query was sent. */
  started: number;
}

function highlightOf(result: unknown): string | undefined {
  if (Array.isArray(result)) {
    const parts = result.map(highlightOf).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  if (result && typeof result === 'object' && typeof (result as { value?: unknown }).value === 'string') {
    return (result as { value: string }).value;
  }
  return undefined;
}

function pathOf(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function toHit<T>(hit: Record<string, unknown>, highlight: string[]): SearchHit<T> {
  const out: SearchHit<T> = { id: String(hit.objectID), document: fromHit(hit) as T };
  if (highlight.length > 0) {
    const highlights: Record<string, string> = {};
    for (const field of highlight) {
      const h = highlightOf(pathOf(hit._highlightResult, field));
      if (h !== undefined) highlights[field] = h;
    }
    out.highlights = highlights;
  }
  return out;
}

/** Facet counts summed over the responses, most frequent first (ties by value). */
function mergeFacets(results: RawResult[], fields: string[]): Record<string, FacetCount[]> {
  const facets: Record<string, FacetCount[]> = {};
  for (const field of fields) {
    const counts = new Map<string, number>();
    for (const r of results) {
      for (const [value, count] of Object.entries(r.facets?.[field] ?? {})) {
        counts.set(value, (counts.get(value) ?? 0) + count);
      }
    }
    facets[field] = [...counts]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }
  return facets;
}

/**
 * The portable result of one or several responses. Several come from the disjoint queries of one
 * OR group: their hits are merged (in sort order when sorted) and the page is cut here.
 */
export function toResult<T>(results: RawResult[], o: ResultShape): SearchResult<T> {
  let raw = results.flatMap((r) => r.hits ?? []);
  if (results.length > 1) {
    if (o.sort.length > 0) raw = [...raw].sort((a, b) => compareForSort(o.sort, fromHit(a), fromHit(b)));
    raw = raw.slice(o.offset, o.offset + o.limit);
  }
  const result: SearchResult<T> = {
    hits: raw.map((hit) => toHit<T>(hit, o.highlight)),
    totalHits: results.reduce((n, r) => n + (r.nbHits ?? 0), 0),
    totalHitsExact: results.every((r) => (r.exhaustive?.nbHits ?? r.exhaustiveNbHits ?? true) === true),
    processingTimeMs: Math.max(
      0,
      results.length === 1 && typeof results[0]!.processingTimeMS === 'number'
        ? results[0]!.processingTimeMS
        : Math.round(performance.now() - o.started),
    ),
  };
  if (o.facets.length > 0) result.facets = mergeFacets(results, o.facets);
  return result;
}
