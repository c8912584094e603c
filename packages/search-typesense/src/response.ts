import { type FacetCount, getField, isPlainObject, type SearchHit, type SearchResult } from '@fraiseql/core';
import { TYPESENSE_HIDDEN_FIELDS } from './filter';

export interface RawHit {
  document: Record<string, unknown>;
  text_match?: number;
  highlight?: Record<string, unknown>;
  highlights?: { field: string; value?: string; snippet?: string; values?: string[]; snippets?: string[] }[];
}

export interface RawResponse {
  found: number;
  hits?: RawHit[];
  search_time_ms?: number;
  facet_counts?: { field_name: string; counts: { value: string; count: number }[] }[];
  error?: string;
  code?: number;
}

function plainHighlight(doc: Record<string, unknown>, field: string): string | undefined {
  const v = getField(doc, field);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(', ');
  return undefined;
}

function highlightOf(hit: RawHit, field: string): string | undefined {
  const h = hit.highlight?.[field];
  if (Array.isArray(h)) {
    const parts = h.map((el) => {
      const e = el as { value?: string; snippet?: string };
      return e.value ?? e.snippet ?? '';
    });
    return parts.join(', ');
  }
  if (isPlainObject(h)) {
    const e = h as { value?: string; snippet?: string };
    if (typeof e.value === 'string') return e.value;
    if (typeof e.snippet === 'string') return e.snippet;
  }
  const legacy = hit.highlights?.find((x) => x.field === field);
  if (legacy) return legacy.value ?? legacy.snippet ?? (legacy.values ?? legacy.snippets)?.join(', ');
  return undefined;
}

/** A portable hit: the document without the hidden fields, the text-match score for word queries. */
export function toHit<T>(hit: RawHit, scored: boolean, highlight: string[]): SearchHit<T> {
  const document = { ...hit.document };
  for (const hidden of TYPESENSE_HIDDEN_FIELDS) delete document[hidden];
  const out: SearchHit<T> = { id: String(document.id), document: document as T };
  if (scored && typeof hit.text_match === 'number' && Number.isFinite(hit.text_match))
    out.score = hit.text_match;
  if (highlight.length > 0) {
    const highlights: Record<string, string> = {};
    for (const field of highlight) {
      const text = highlightOf(hit, field) ?? plainHighlight(document, field);
      if (text !== undefined) highlights[field] = text;
    }
    out.highlights = highlights;
  }
  return out;
}

/** The facet counts of the first page, an empty list for a facet Typesense did not count. */
export function facetCounts(
  response: RawResponse | undefined,
  facets: string[],
): Record<string, FacetCount[]> {
  const counts = new Map((response?.facet_counts ?? []).map((f) => [f.field_name, f.counts]));
  return Object.fromEntries(
    facets.map((f): [string, FacetCount[]] => [
      f,
      (counts.get(f) ?? []).map((c) => ({ value: String(c.value), count: c.count })),
    ]),
  );
}

/** The result of a search decided without Typesense. */
export function emptyResult<T>(facets: string[]): SearchResult<T> {
  return {
    hits: [],
    totalHits: 0,
    totalHitsExact: true,
    processingTimeMs: 0,
    ...(facets.length > 0 ? { facets: Object.fromEntries(facets.map((f) => [f, []])) } : {}),
  };
}
