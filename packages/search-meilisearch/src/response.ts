import { type FacetCount, getField, type SearchHit, type SearchResult } from '@fraiseql/core';
import { decodeDocumentId } from './ids';
import type { CheckedQuery } from './query';
import type { KnownIndex } from './settings';

const INTERNAL_HIT_FIELDS = [
  '_formatted',
  '_rankingScore',
  '_rankingScoreDetails',
  '_matchesPosition',
  '_federation',
];

/** What the provider reads of a Meilisearch search response. */
export interface EngineResponse {
  hits?: Record<string, unknown>[];
  totalHits?: number;
  estimatedTotalHits?: number;
  processingTimeMs?: number;
  facetDistribution?: unknown;
}

function toHit<T>(h: Record<string, unknown>, known: KnownIndex, highlight: string[]): SearchHit<T> {
  const pk = known.primaryKey;
  const id = decodeDocumentId(String(h[pk] ?? ''));
  const document: Record<string, unknown> = { ...h };
  for (const f of INTERNAL_HIT_FIELDS) delete document[f];
  document[pk] = id;
  const hit: SearchHit<T> = { id, document: document as T };
  if (typeof h._rankingScore === 'number') hit.score = h._rankingScore;
  if (highlight.length > 0 && h._formatted && typeof h._formatted === 'object') {
    const highlights: Record<string, string> = {};
    for (const field of highlight) {
      const v = getField(h._formatted as Record<string, unknown>, field);
      if (typeof v === 'string') highlights[field] = v;
      else if (Array.isArray(v)) {
        const parts = v.filter((x) => typeof x === 'string');
        if (parts.length > 0) highlights[field] = parts.join(', ');
      }
    }
    hit.highlights = highlights;
  }
  return hit;
}

/** The portable result of a page-mode response; `skip` hits of the page precede the window. */
export function toResult<T>(
  res: EngineResponse,
  q: CheckedQuery,
  known: KnownIndex,
  skip: number,
): SearchResult<T> {
  const hits = (res.hits ?? []).slice(skip, skip + q.limit).map((h) => toHit<T>(h, known, q.highlight));
  // Page mode answers `totalHits`; `estimatedTotalHits` only if the server ignored it.
  const finite = typeof res.totalHits === 'number';
  const totalHits = finite ? res.totalHits! : (res.estimatedTotalHits ?? hits.length);
  const result: SearchResult<T> = {
    hits,
    totalHits,
    totalHitsExact: finite && totalHits < known.maxTotalHits,
    processingTimeMs: typeof res.processingTimeMs === 'number' ? res.processingTimeMs : 0,
  };
  if (q.facets.length > 0) {
    const dist = (res.facetDistribution ?? {}) as Record<string, Record<string, number>>;
    result.facets = Object.fromEntries(
      q.facets.map((f) => {
        const counts: FacetCount[] = Object.entries(dist[f] ?? {}).map(([value, count]) => ({
          value,
          count,
        }));
        counts.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
        return [f, counts];
      }),
    );
  }
  return result;
}
