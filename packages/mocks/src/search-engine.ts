import {
  badQuery,
  compareBySort,
  ErrorCode,
  type FacetCount,
  fieldList,
  getField,
  type IndexConfig,
  IntegrationError,
  matchesFilter,
  normalizeFilter,
  parseSort,
  type SearchHit,
  type SearchQuery,
  type SearchResult,
  searchPage,
} from '@fraiseql/core';

/** The searching half of the mock search provider: matching, scoring, highlights and facets. */

const WORD = /[\p{L}\p{N}]+/gu;

export interface StoredIndex {
  /** Absent until `configureIndex`: then every string field is searchable and every field filterable/sortable. */
  config?: IndexConfig;
  /** Insertion order is the browse order and the tie-break between equal scores. */
  docs: Map<string, Record<string, unknown>>;
}

interface Term {
  text: string;
  /** The last word of a query also matches as a prefix (search as you type). */
  prefix: boolean;
}

/** Runs `q` over `stored` (an index that does not exist searches as empty). */
export function runSearch(q: SearchQuery, stored: StoredIndex | undefined): SearchResult<unknown> {
  if (typeof q.query !== 'string') throw badQuery('query must be a string', 'query');
  if (q.rawFilter !== undefined) {
    throw IntegrationError.invalidInput(
      ErrorCode.UnsupportedOperation,
      'The mock search provider has no engine syntax: use the portable `filter` instead of `rawFilter`',
      'rawFilter',
    );
  }
  // A limit above the maximum is rejected rather than clamped: a caller must never silently get
  // fewer hits than it asked for.
  const { limit, offset } = searchPage(q.limit, q.offset);
  const config = stored?.config;
  const filter = normalizeFilter(q.filter, config?.filterable ?? (config ? [] : undefined));
  const sort = parseSort(q.sort, config?.sortable ?? (config ? [] : undefined));
  // Facets need a filterable field (every field is, before `configureIndex`).
  const facetFields = config
    ? fieldList(q.facets, 'facets', { allowed: config.filterable ?? [], allowedWhat: 'filterable' })
    : fieldList(q.facets, 'facets');
  const highlightFields = fieldList(q.highlight, 'highlight');
  const terms = parseTerms(q.query);

  const matches: { id: string; doc: Record<string, unknown>; score: number; order: number }[] = [];
  let order = 0;
  for (const [id, doc] of stored?.docs ?? []) {
    order++;
    const score = terms.length === 0 ? 0 : scoreDocument(doc, terms, config?.searchable);
    if (score === undefined || !matchesFilter(filter, doc)) continue;
    matches.push({ id, doc, score, order });
  }
  matches.sort((a, b) => compareBySort(sort, a.doc, b.doc) || b.score - a.score || a.order - b.order);

  const hits = matches.slice(offset, offset + limit).map(({ id, doc, score }): SearchHit<unknown> => {
    const hit: SearchHit<unknown> = { id, document: structuredClone(doc) };
    if (terms.length > 0) hit.score = score;
    if (highlightFields.length > 0) hit.highlights = highlight(doc, highlightFields, terms);
    return hit;
  });
  const result: SearchResult<unknown> = {
    hits,
    totalHits: matches.length,
    totalHitsExact: true,
    processingTimeMs: 0,
  };
  if (facetFields.length > 0) {
    result.facets = Object.fromEntries(facetFields.map((f) => [f, countFacet(matches, f)]));
  }
  return result;
}

function tokenize(text: string): string[] {
  return text.normalize('NFC').toLowerCase().match(WORD) ?? [];
}

function parseTerms(query: string): Term[] {
  const words = tokenize(query);
  return words.map((text, i) => ({ text, prefix: i === words.length - 1 }));
}

/** Strings (and numbers, as engines index them as text) anywhere under `value`. */
function texts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) texts(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const v of Object.values(value)) texts(v, out);
  }
  return out;
}

function termMatches(term: Term, token: string): 'exact' | 'prefix' | undefined {
  if (token === term.text) return 'exact';
  return term.prefix && token.startsWith(term.text) ? 'prefix' : undefined;
}

/**
 * Undefined when some query word occurs in no searchable field; otherwise a relevance score:
 * occurrences weighted by field position (earlier searchable fields weigh more, as on every
 * engine) with whole words above prefix matches.
 */
function scoreDocument(
  doc: Record<string, unknown>,
  terms: Term[],
  searchable?: string[],
): number | undefined {
  const fields = searchable ? searchable.map((f) => texts(getField(doc, f))) : [texts(doc)];
  const tokens = fields.map((strings) => strings.flatMap(tokenize));
  let score = 0;
  for (const term of terms) {
    let termScore = 0;
    tokens.forEach((fieldTokens, i) => {
      const weight = fields.length - i;
      for (const token of fieldTokens) {
        const m = termMatches(term, token);
        if (m) termScore += m === 'exact' ? weight : weight / 2;
      }
    });
    if (termScore === 0) return undefined;
    score += termScore;
  }
  return score;
}

/** The field's text with every word matching the query wrapped in `<mark>…</mark>`. */
function highlight(doc: Record<string, unknown>, fields: string[], terms: Term[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const strings = texts(getField(doc, field));
    if (strings.length === 0) continue;
    out[field] = strings
      .map((s) =>
        terms.length === 0
          ? s
          : s.replace(WORD, (word) => {
              const token = word.normalize('NFC').toLowerCase();
              return terms.some((t) => termMatches(t, token)) ? `<mark>${word}</mark>` : word;
            }),
      )
      .join(', ');
  }
  return out;
}

/** Counts per value over every match (array fields count each element once per document); most frequent first. */
function countFacet(matches: { doc: Record<string, unknown> }[], field: string): FacetCount[] {
  const counts = new Map<string, number>();
  for (const { doc } of matches) {
    const raw = getField(doc, field);
    if (raw === undefined || raw === null) continue;
    const values = new Set(
      (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== null && v !== undefined).map(String),
    );
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
