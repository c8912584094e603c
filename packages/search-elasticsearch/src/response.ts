import { type FacetCount, getField, type SearchHit, type SearchResult } from '@fraiseql/core';
import { type KnownIndex, textPath } from './mapping';
import type { CheckedQuery } from './query';

/** What the provider reads of a `_search` response. */
export interface EngineResponse {
  took?: number;
  hits?: {
    total?: { value: number; relation: string } | number;
    hits?: {
      _id?: string;
      _score?: number | null;
      _source?: Record<string, unknown>;
      highlight?: Record<string, string[]>;
    }[];
  };
  aggregations?: Record<string, { buckets?: { key: unknown; key_as_string?: string; doc_count: number }[] }>;
}

function highlightsOf(
  hit: { _source?: Record<string, unknown>; highlight?: Record<string, string[]> },
  q: CheckedQuery,
  known: KnownIndex,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of q.highlight) {
    const marked = hit.highlight?.[textPath(known, field)] ?? hit.highlight?.[field];
    if (marked && marked.length > 0) {
      out[field] = marked.join(', ');
      continue;
    }
    // No match in this field: its text unmarked, as the other engines return it.
    const v = hit._source ? getField(hit._source, field) : undefined;
    if (typeof v === 'string') out[field] = v;
    else if (Array.isArray(v)) {
      const parts = v.filter((x) => typeof x === 'string');
      if (parts.length > 0) out[field] = parts.join(', ');
    }
  }
  return out;
}

export function toResult<T>(res: EngineResponse, q: CheckedQuery, known: KnownIndex): SearchResult<T> {
  const hits: SearchHit<T>[] = (res.hits?.hits ?? []).map((h) => {
    const id = String(h._id ?? '');
    const hit: SearchHit<T> = { id, document: (h._source ?? {}) as T };
    if (typeof h._score === 'number' && Number.isFinite(h._score)) hit.score = h._score;
    if (q.highlight.length > 0) hit.highlights = highlightsOf(h, q, known);
    return hit;
  });
  const total = res.hits?.total;
  const totalHits = typeof total === 'number' ? total : (total?.value ?? hits.length);
  const result: SearchResult<T> = {
    hits,
    totalHits,
    totalHitsExact: typeof total === 'number' || total?.relation === 'eq',
    processingTimeMs: typeof res.took === 'number' ? res.took : 0,
  };
  if (q.facets.length > 0) {
    result.facets = Object.fromEntries(
      q.facets.map((f, i) => {
        const buckets = res.aggregations?.[`facet_${i}`]?.buckets ?? [];
        const counts: FacetCount[] = buckets.map((b) => ({
          value: b.key_as_string ?? String(b.key),
          count: b.doc_count,
        }));
        return [f, counts];
      }),
    );
  }
  return result;
}
