import { evaluateFilter, parseFilter, tokenize } from './fake-typesense-filter';
import {
  concreteField,
  type FakeCollection,
  FakeHttpError,
  isNumericType,
  isStringType,
  type StoredDoc,
  valueAt,
} from './fake-typesense-schema';

/**
 * Search in the Typesense protocol double: `q` over `query_by` (every word must match, the last
 * one as a prefix when `prefix` is on; typo tolerance and token dropping as documented, so a
 * client that does not turn them off sees them), `filter_by`, `sort_by` (at most three keys,
 * `missing_values`), `facet_by`, `page`/`per_page` (at most 250) and highlights with the given
 * tags. Response shape as in https://typesense.org/docs/latest/api/search.html.
 */

export const MAX_PER_PAGE = 250;

export type SearchParams = Record<string, string>;

export interface SearchContext {
  notEqualsMatchesMissing: boolean;
}

function intParam(params: SearchParams, name: string, fallback: number): number {
  const raw = params[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new FakeHttpError(400, `Parameter \`${name}\` must be an unsigned integer.`);
  return Number(raw);
}

function boolParam(params: SearchParams, name: string, fallback: boolean): boolean {
  const raw = params[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',')[0]!.trim() !== 'false';
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Damerau-Levenshtein (optimal string alignment) distance. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How well a document token matches query token `i`: 0 = no match. */
type Matcher = (docToken: string, i: number) => number;

function makeMatcher(tokens: string[], prefix: boolean, typos: number): Matcher {
  return (docToken, i) => {
    const q = tokens[i]!;
    if (docToken === q) return 3;
    const last = i === tokens.length - 1;
    if (prefix && last && docToken.startsWith(q)) return 2;
    if (typos > 0) {
      const allowed = Math.min(typos, q.length >= 7 ? 2 : q.length >= 4 ? 1 : 0);
      if (allowed > 0) {
        const candidate =
          prefix && last && docToken.length > q.length ? docToken.slice(0, q.length) : docToken;
        if (editDistance(candidate, q) <= allowed) return 1;
      }
    }
    return 0;
  };
}

function fieldTexts(c: FakeCollection, doc: Record<string, unknown>, field: string): string[] {
  const v = valueAt(c, doc, field);
  const all = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return all.filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
}

/** Text score of a document, or 0 when some query token is found in none of the fields. */
function textMatch(
  c: FakeCollection,
  doc: Record<string, unknown>,
  fields: string[],
  tokens: string[],
  match: Matcher,
): number {
  let score = 0;
  for (let i = 0; i < tokens.length; i++) {
    let best = 0;
    for (let f = 0; f < fields.length; f++) {
      for (const text of fieldTexts(c, doc, fields[f]!)) {
        for (const t of tokenize(text)) {
          const m = match(t, i);
          if (m > 0) best = Math.max(best, m * 100 + (fields.length - f));
        }
      }
    }
    if (best === 0) return 0;
    score += best;
  }
  return score * 1_000_000;
}

/** Wraps the words of `text` that match in the tags; punctuation around a word stays outside. */
function mark(
  text: string,
  match: (token: string) => boolean,
  start: string,
  end: string,
): { marked: string; matched: string[] } {
  const matched: string[] = [];
  const marked = text.replace(/\S+/g, (word) => {
    const t = tokenize(word)[0];
    if (t === undefined || !match(t)) return word;
    const core = /^([!-/:-@[-`{-~]*)(.*?)([!-/:-@[-`{-~]*)$/su.exec(word)!;
    matched.push(core[2]!);
    return `${core[1]}${start}${core[2]}${end}${core[3]}`;
  });
  return { marked, matched };
}

function snippetOf(marked: string, threshold: number, affix: number, start: string): string {
  const words = marked.split(/\s+/);
  if (words.length <= threshold) return marked;
  const first = Math.max(
    0,
    words.findIndex((w) => w.includes(start)),
  );
  return words.slice(Math.max(0, first - affix), first + affix + 1).join(' ');
}

type SortKey = { field: string; dir: 1 | -1; missing: 'first' | 'last' | 'normal' };

function parseSortBy(c: FakeCollection, raw: string | undefined): SortKey[] {
  const parts = list(raw);
  if (parts.length > 3) throw new FakeHttpError(400, 'Only upto 3 sort_by fields can be specified.');
  return parts.map((part): SortKey => {
    const m = /^([^:(]+?)\s*(?:\(([^)]*)\))?\s*:\s*(\w+)$/.exec(part);
    if (!m) throw new FakeHttpError(400, `Could not parse sort_by expression \`${part}\`.`);
    const [, field, paramText, dirText] = m;
    const dir = dirText!.toLowerCase();
    if (dir !== 'asc' && dir !== 'desc') {
      throw new FakeHttpError(400, `Order for field\` ${field}\` should be either ASC or DESC.`);
    }
    let missing: SortKey['missing'] = 'normal';
    if (paramText !== undefined) {
      const pm = /^\s*missing_values\s*:\s*(first|last|normal)\s*$/.exec(paramText);
      if (!pm) throw new FakeHttpError(400, `Bad syntax for sorting field \`${field}\``);
      missing = pm[1] as SortKey['missing'];
    }
    if (field !== '_text_match' && field !== '_seq_id') {
      const f = concreteField(c, field!);
      if (!f?.index) {
        throw new FakeHttpError(404, `Could not find a field named \`${field}\` in the schema for sorting.`);
      }
      if (
        f.type.endsWith('[]') ||
        !(isNumericType(f.type) || f.type === 'bool' || (f.type === 'string' && f.sort))
      ) {
        throw new FakeHttpError(
          400,
          `Sort field \`${field}\` must be a single valued numerical field or a string field with \`sort\` enabled.`,
        );
      }
    }
    return { field: field!, dir: dir === 'asc' ? 1 : -1, missing };
  });
}

interface Candidate {
  id: string;
  stored: StoredDoc;
  score: number;
}

function compareBy(c: FakeCollection, keys: SortKey[]) {
  return (a: Candidate, b: Candidate): number => {
    for (const key of keys) {
      if (key.field === '_text_match') {
        if (a.score !== b.score) return key.dir * (a.score - b.score);
        continue;
      }
      if (key.field === '_seq_id') {
        if (a.stored.seq !== b.stored.seq) return key.dir * (a.stored.seq - b.stored.seq);
        continue;
      }
      const av = valueAt(c, a.stored.doc, key.field);
      const bv = valueAt(c, b.stored.doc, key.field);
      const am = av === undefined || av === null;
      const bm = bv === undefined || bv === null;
      if (am || bm) {
        if (am && bm) continue;
        if (key.missing === 'first') return am ? -1 : 1;
        if (key.missing === 'last') return am ? 1 : -1;
        // Typesense's default places missing values as the smallest value.
        return key.dir * (am ? -1 : 1);
      }
      const cmp =
        typeof av === 'number' && typeof bv === 'number'
          ? av - bv
          : String(av) < String(bv)
            ? -1
            : String(av) > String(bv)
              ? 1
              : 0;
      if (cmp !== 0) return key.dir * cmp;
    }
    // Ties: the document written later first.
    return b.stored.seq - a.stored.seq;
  };
}

function facetValue(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function project(doc: Record<string, unknown>, params: SearchParams): Record<string, unknown> {
  const include = list(params.include_fields);
  const exclude = new Set(list(params.exclude_fields));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (exclude.has(k)) continue;
    if (include.length > 0 && !include.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

export function search(c: FakeCollection, params: SearchParams, ctx: SearchContext): Record<string, unknown> {
  const started = performance.now();
  const q = params.q;
  if (q === undefined) throw new FakeHttpError(400, 'Parameter `q` is required.');
  const wildcard = q.trim() === '*';
  const queryBy = list(params.query_by);
  if (!wildcard && queryBy.length === 0) throw new FakeHttpError(400, 'Parameter `query_by` is required.');
  for (const field of queryBy) {
    const f = concreteField(c, field);
    if (!f) throw new FakeHttpError(404, `Could not find a field named \`${field}\` in the schema.`);
    if (!isStringType(f.type))
      throw new FakeHttpError(400, `Field \`${field}\` should be a string or a string array.`);
  }
  const perPage = intParam(params, 'per_page', 10);
  if (perPage > MAX_PER_PAGE)
    throw new FakeHttpError(422, `Only upto ${MAX_PER_PAGE} hits can be fetched per page.`);
  const page = Math.max(1, intParam(params, 'page', 1));
  const sortKeys = parseSortBy(c, params.sort_by);
  const facetBy = list(params.facet_by);
  for (const field of facetBy) {
    const f = concreteField(c, field);
    if (!f?.facet)
      throw new FakeHttpError(404, `Could not find a facet field named \`${field}\` in the schema.`);
  }
  const maxFacetValues = intParam(params, 'max_facet_values', 10);

  let docs = [...c.docs.entries()];
  if (params.filter_by !== undefined && params.filter_by.trim() !== '') {
    const node = parseFilter(c, params.filter_by);
    const keep = evaluateFilter(c, node, docs, { notEqualsMatchesMissing: ctx.notEqualsMatchesMissing });
    docs = docs.filter(([id]) => keep.has(id));
  }

  const prefix = boolParam(params, 'prefix', true);
  const numTypos = intParam(params, 'num_typos', 2);
  const typoThreshold = intParam(params, 'typo_tokens_threshold', 1);
  const dropThreshold = intParam(params, 'drop_tokens_threshold', 1);
  let tokens = wildcard ? [] : tokenize(q);
  let candidates: Candidate[] = [];
  let matcher: Matcher = () => 0;
  if (wildcard) {
    candidates = docs.map(([id, stored]) => ({ id, stored, score: 100 }));
  } else {
    const run = (typos: number) => {
      matcher = makeMatcher(tokens, prefix, typos);
      return docs
        .map(([id, stored]) => ({ id, stored, score: textMatch(c, stored.doc, queryBy, tokens, matcher) }))
        .filter((x) => x.score > 0);
    };
    while (tokens.length > 0) {
      candidates = run(0);
      if (candidates.length < typoThreshold && numTypos > 0) candidates = run(numTypos);
      // Typesense drops words from the right until enough documents match.
      if (candidates.length >= dropThreshold || dropThreshold === 0 || tokens.length === 1) break;
      tokens = tokens.slice(0, -1);
    }
  }

  const keys: SortKey[] =
    sortKeys.length > 0
      ? sortKeys
      : [
          { field: '_text_match', dir: -1, missing: 'normal' },
          ...(c.defaultSortingField
            ? [{ field: c.defaultSortingField, dir: -1 as const, missing: 'normal' as const }]
            : []),
        ];
  candidates.sort(compareBy(c, keys));

  const facetCounts = facetBy.map((field) => {
    const counts = new Map<string, number>();
    const f = concreteField(c, field)!;
    const nums: number[] = [];
    for (const { stored } of candidates) {
      const v = valueAt(c, stored.doc, field);
      const values = new Set(
        (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map(facetValue),
      );
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      if (isNumericType(f.type))
        for (const n of Array.isArray(v) ? v : [v]) if (typeof n === 'number') nums.push(n);
    }
    const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, maxFacetValues);
    const stats: Record<string, number> = { total_values: counts.size };
    if (nums.length > 0) {
      stats.min = Math.min(...nums);
      stats.max = Math.max(...nums);
      stats.sum = nums.reduce((s, n) => s + n, 0);
      stats.avg = stats.sum / nums.length;
    }
    return {
      field_name: field,
      sampled: false,
      counts: sorted.map(([value, count]) => ({ count, highlighted: value, value })),
      stats,
    };
  });

  const startTag = params.highlight_start_tag ?? '<mark>';
  const endTag = params.highlight_end_tag ?? '</mark>';
  const highlightFields = params.highlight_fields !== undefined ? list(params.highlight_fields) : queryBy;
  const fullFields = new Set(list(params.highlight_full_fields));
  const snippetThreshold = intParam(params, 'snippet_threshold', 30);
  const affix = intParam(params, 'highlight_affix_num_tokens', 4);
  const isMatch = (t: string) => tokens.some((_, i) => matcher(t, i) > 0);

  const pageHits = candidates.slice((page - 1) * perPage, page * perPage).map((cand) => {
    const highlight: Record<string, unknown> = {};
    const highlights: Record<string, unknown>[] = [];
    if (!wildcard) {
      for (const field of highlightFields) {
        if (!queryBy.includes(field)) continue;
        const v = valueAt(c, cand.stored.doc, field);
        const full = fullFields.has(field);
        if (typeof v === 'string') {
          const { marked, matched } = mark(v, isMatch, startTag, endTag);
          if (matched.length === 0) continue;
          const entry: Record<string, unknown> = {
            matched_tokens: matched,
            snippet: snippetOf(marked, snippetThreshold, affix, startTag),
          };
          if (full) entry.value = marked;
          highlight[field] = entry;
          highlights.push({ field, ...entry });
        } else if (Array.isArray(v)) {
          const parts = v.map((el) => mark(String(el), isMatch, startTag, endTag));
          if (parts.every((p) => p.matched.length === 0)) continue;
          highlight[field] = parts.map((p) => ({
            matched_tokens: p.matched,
            snippet: p.marked,
            ...(full ? { value: p.marked } : {}),
          }));
          const indices = parts.flatMap((p, i) => (p.matched.length > 0 ? [i] : []));
          highlights.push({
            field,
            indices,
            matched_tokens: indices.map((i) => parts[i]!.matched),
            snippets: indices.map((i) => parts[i]!.marked),
            ...(full ? { values: indices.map((i) => parts[i]!.marked) } : {}),
          });
        }
      }
    }
    return {
      document: project(cand.stored.doc, params),
      highlight,
      highlights,
      text_match: cand.score,
      text_match_info: {
        best_field_score: String(cand.score),
        best_field_weight: 15,
        fields_matched: 1,
        score: String(cand.score),
        tokens_matched: tokens.length,
      },
    };
  });

  return {
    facet_counts: facetCounts,
    found: candidates.length,
    hits: pageHits,
    out_of: c.docs.size,
    page,
    request_params: { collection_name: c.name, per_page: perPage, q },
    search_cutoff: false,
    search_time_ms: Math.round(performance.now() - started),
  };
}
