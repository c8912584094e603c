import {
  AlgoliaFilterSyntaxError,
  matchesAlgoliaFilter,
  type ParsedAlgoliaFilter,
  parseAlgoliaFilters,
  valuesAtPath,
} from './fake-algolia-filters';

/**
 * The in-memory search engine behind the Algolia protocol double: indexes with settings,
 * standard replicas that mirror their primary's records and sort by their own `ranking`, word
 * matching over `searchableAttributes` (`prefixLast`/`prefixAll`/`prefixNone`, every query word
 * required, optional typo tolerance), `_highlightResult`, facet counts, `offset`/`length` and
 * `page`/`hitsPerPage` pagination capped by `paginationLimitedTo`.
 */

/** An error the HTTP layer returns as Algolia's `{"message", "status"}` body. */
export class AlgoliaHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type AlgoliaRecord = Record<string, unknown> & { objectID: string };

export interface FakeAlgoliaIndex {
  name: string;
  settings: Record<string, unknown>;
  /** Shared with the primary for a replica (replicas mirror their primary's records). */
  records: Map<string, AlgoliaRecord>;
  primary?: string;
  createdAt: string;
  updatedAt: string;
}

export const DEFAULT_RANKING = [
  'typo',
  'geo',
  'words',
  'filters',
  'proximity',
  'attribute',
  'exact',
  'custom',
];

/** Settings the double understands; anything else is rejected like an unknown attribute. */
const SETTING_KEYS = new Set([
  'searchableAttributes',
  'attributesForFaceting',
  'unretrievableAttributes',
  'attributesToRetrieve',
  'ranking',
  'customRanking',
  'replicas',
  'userData',
  'hitsPerPage',
  'paginationLimitedTo',
  'maxValuesPerFacet',
  'typoTolerance',
  'minWordSizefor1Typo',
  'minWordSizefor2Typos',
  'queryType',
  'removeWordsIfNoResults',
  'ignorePlurals',
  'removeStopWords',
  'advancedSyntax',
  'highlightPreTag',
  'highlightPostTag',
  'attributesToHighlight',
  'attributesToSnippet',
  'distinct',
  'attributeForDistinct',
  'relevancyStrictness',
  'exactOnSingleWordQuery',
  'separatorsToIndex',
]);

/** Search parameters the double understands; anything else is `Unknown parameter`. */
const SEARCH_PARAMS = new Set([
  'query',
  'filters',
  'facets',
  'offset',
  'length',
  'page',
  'hitsPerPage',
  'attributesToRetrieve',
  'attributesToHighlight',
  'attributesToSnippet',
  'highlightPreTag',
  'highlightPostTag',
  'typoTolerance',
  'queryType',
  'removeWordsIfNoResults',
  'ignorePlurals',
  'removeStopWords',
  'advancedSyntax',
  'maxValuesPerFacet',
  'getRankingInfo',
  'analytics',
  'clickAnalytics',
  'restrictSearchableAttributes',
  'minWordSizefor1Typo',
  'minWordSizefor2Typos',
  'exactOnSingleWordQuery',
  'facetingAfterDistinct',
  'distinct',
  'sumOrFiltersScores',
  'percentileComputation',
  'enableABTest',
  'synonyms',
  'userToken',
]);

/** `filterOnly(x)`, `searchable(x)`, `unordered(x)`, … → `x`. */
export function stripModifier(attr: string): string {
  const m = /^[a-zA-Z]+\((.*)\)$/.exec(attr.trim());
  return m ? m[1]!.trim() : attr.trim();
}

export function validateSettings(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AlgoliaHttpError(400, 'Invalid settings: expected a JSON object');
  }
  for (const [k, v] of Object.entries(body)) {
    if (!SETTING_KEYS.has(k)) throw new AlgoliaHttpError(400, `Invalid object attributes: ${k} near line:1`);
    const lists = [
      'searchableAttributes',
      'attributesForFaceting',
      'unretrievableAttributes',
      'ranking',
      'customRanking',
      'replicas',
    ];
    if (lists.includes(k) && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
      throw new AlgoliaHttpError(400, `Invalid value for ${k}: expected an array of strings`);
    }
    if ((k === 'ranking' || k === 'customRanking') && Array.isArray(v)) {
      for (const r of v as string[]) {
        const ok = /^(asc|desc)\([^()]+\)$/.test(r) || (k === 'ranking' && DEFAULT_RANKING.includes(r));
        if (!ok) throw new AlgoliaHttpError(400, `Invalid ranking criterion: ${r}`);
      }
    }
  }
  return body as Record<string, unknown>;
}

// ----------------------------------------------------------------------------------- text

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

interface Token {
  /** Folded (lower-case, accents removed) form. */
  norm: string;
  start: number;
  end: number;
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD))
    out.push({ norm: fold(m[0]), start: m.index, end: m.index + m[0].length });
  return out;
}

/** Damerau-free Levenshtein distance, giving up past `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]!);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

interface QueryWord {
  norm: string;
  prefix: boolean;
}

interface WordMatchOptions {
  typos: boolean;
  minFor1: number;
  minFor2: number;
}

/** How a query word matches a token: the number of original characters to highlight, or -1. */
function matchToken(
  word: QueryWord,
  token: Token,
  text: string,
  o: WordMatchOptions,
): { len: number; exact: boolean } | undefined {
  if (token.norm === word.norm) return { len: token.end - token.start, exact: true };
  if (word.prefix && token.norm.startsWith(word.norm)) {
    // Highlight as many original characters as it takes to cover the folded prefix.
    const original = text.slice(token.start, token.end);
    let n = 0;
    while (n < original.length && fold(original.slice(0, n)).length < word.norm.length) n++;
    return { len: n, exact: false };
  }
  if (o.typos && word.norm.length >= o.minFor1) {
    const allowed = word.norm.length >= o.minFor2 ? 2 : 1;
    if (distance(word.norm, token.norm, allowed) <= allowed)
      return { len: token.end - token.start, exact: false };
  }
  return undefined;
}

function parseQuery(query: string, queryType: string): QueryWord[] {
  const words = [...query.matchAll(WORD)].map((m) => fold(m[0]));
  const endsWithSeparator = /[^\p{L}\p{N}\p{M}]$/u.test(query);
  return words.map((norm, i) => ({
    norm,
    prefix:
      queryType === 'prefixAll' ||
      (queryType !== 'prefixNone' && i === words.length - 1 && !endsWithSeparator),
  }));
}

/** Every string (numbers included, as text) under an attribute value. */
function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(texts);
  if (value && typeof value === 'object') return Object.values(value).flatMap(texts);
  return [];
}

// -------------------------------------------------------------------------------- search

export interface SearchOutcome {
  response: Record<string, unknown>;
}

function numberParam(
  params: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new AlgoliaHttpError(400, `Invalid value for parameter ${key}: expected an integer`);
  }
  if (n < min) throw new AlgoliaHttpError(400, `Value too small for parameter ${key}: ${n} < ${min}`);
  if (n > max) throw new AlgoliaHttpError(400, `Value too large for parameter ${key}: ${n} > ${max}`);
  return n;
}

function listParam(params: Record<string, unknown>, key: string): string[] | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.split(',').filter(Boolean);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new AlgoliaHttpError(400, `Invalid value for parameter ${key}: expected an array of strings`);
  }
  return v as string[];
}

function pick<T>(
  params: Record<string, unknown>,
  settings: Record<string, unknown>,
  key: string,
  dflt: T,
): T {
  return (params[key] ?? settings[key] ?? dflt) as T;
}

function sortValue(record: Record<string, unknown>, attr: string): number | undefined {
  const v = valuesAtPath(record, attr)[0];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  // Algolia sorts by numeric or boolean attributes only; anything else ranks like a missing value.
  return undefined;
}

function compareAttr(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  attr: string,
  dir: 1 | -1,
): number {
  const av = sortValue(a, attr);
  const bv = sortValue(b, attr);
  // Missing or null values are equal to each other and last, whatever the direction.
  if (av === undefined || bv === undefined) return av === bv ? 0 : av === undefined ? 1 : -1;
  return dir * (av - bv);
}

interface Candidate {
  record: AlgoliaRecord;
  order: number;
  firstAttribute: number;
  exact: number;
}

function retrieve(record: AlgoliaRecord, settings: Record<string, unknown>, params: Record<string, unknown>) {
  const unretrievable = new Set(((settings.unretrievableAttributes as string[]) ?? []).map(stripModifier));
  const wanted = listParam(params, 'attributesToRetrieve') ??
    (settings.attributesToRetrieve as string[] | undefined) ?? ['*'];
  const all = wanted.includes('*');
  const excluded = new Set(wanted.filter((w) => w.startsWith('-')).map((w) => w.slice(1)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === 'objectID') continue;
    if (unretrievable.has(k) || excluded.has(k)) continue;
    if (all || wanted.includes(k)) out[k] = structuredClone(v);
  }
  out.objectID = record.objectID;
  return out;
}

function highlightValue(
  value: unknown,
  words: QueryWord[],
  o: WordMatchOptions,
  pre: string,
  post: string,
): unknown {
  if (Array.isArray(value)) return value.map((v) => highlightValue(v, words, o, pre, post));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, highlightValue(v, words, o, pre, post)]),
    );
  }
  if (value === null || value === undefined) return undefined;
  const text = String(value);
  const matched = new Set<string>();
  let out = '';
  let last = 0;
  let highlighted = 0;
  for (const t of tokens(text)) {
    let best: { len: number } | undefined;
    for (const w of words) {
      const m = matchToken(w, t, text, o);
      if (m && (!best || m.len > best.len)) best = m;
      if (m) matched.add(w.norm);
    }
    if (best && best.len > 0) {
      out += text.slice(last, t.start) + pre + text.slice(t.start, t.start + best.len) + post;
      last = t.start + best.len;
      highlighted += best.len;
    }
  }
  out += text.slice(last);
  const matchLevel =
    matched.size === 0
      ? 'none'
      : matched.size === new Set(words.map((w) => w.norm)).size
        ? 'full'
        : 'partial';
  const result: Record<string, unknown> = {
    value: out,
    matchLevel,
    matchedWords: words.filter((w) => matched.has(w.norm)).map((w) => w.norm),
  };
  if (matchLevel !== 'none') {
    result.fullyHighlighted = highlighted === text.replace(/[^\p{L}\p{N}\p{M}]/gu, '').length;
  }
  return result;
}

/** Runs one query against an index (the records of its primary for a replica). */
export function runSearch(index: FakeAlgoliaIndex, params: Record<string, unknown>): Record<string, unknown> {
  const started = performance.now();
  for (const k of Object.keys(params)) {
    if (!SEARCH_PARAMS.has(k)) throw new AlgoliaHttpError(400, `Unknown parameter: ${k}`);
  }
  const s = index.settings;
  const query = typeof params.query === 'string' ? params.query : '';
  if (query.length > 512) throw new AlgoliaHttpError(400, 'Query is too long: 512 bytes maximum');

  let filter: ParsedAlgoliaFilter = [];
  if (params.filters !== undefined && params.filters !== '') {
    if (typeof params.filters !== 'string')
      throw new AlgoliaHttpError(400, 'Invalid value for parameter filters');
    try {
      filter = parseAlgoliaFilters(params.filters);
    } catch (err) {
      if (err instanceof AlgoliaFilterSyntaxError) throw new AlgoliaHttpError(400, err.message);
      throw err;
    }
  }

  const facetAttrs = ((s.attributesForFaceting as string[] | undefined) ?? []).map((a) => ({
    name: stripModifier(a),
    filterOnly: /^filterOnly\(/.test(a.trim()),
  }));
  const facetable = new Set(facetAttrs.map((a) => a.name));

  const searchableSetting = s.searchableAttributes as string[] | null | undefined;
  const searchable = searchableSetting?.length
    ? searchableSetting.flatMap((a) => a.split(',').map(stripModifier))
    : undefined;
  const restrict = listParam(params, 'restrictSearchableAttributes');

  const typoSetting = pick<unknown>(params, s, 'typoTolerance', true);
  const wordOpts: WordMatchOptions = {
    typos:
      typoSetting === true || typoSetting === 'true' || typoSetting === 'min' || typoSetting === 'strict',
    minFor1: pick(params, s, 'minWordSizefor1Typo', 4),
    minFor2: pick(params, s, 'minWordSizefor2Typos', 8),
  };
  const words = parseQuery(query, pick(params, s, 'queryType', 'prefixLast'));

  const candidates: Candidate[] = [];
  let order = 0;
  for (const record of index.records.values()) {
    order++;
    if (filter.length > 0 && !matchesAlgoliaFilter(filter, record, facetable)) continue;
    if (words.length === 0) {
      candidates.push({ record, order, firstAttribute: 0, exact: 0 });
      continue;
    }
    const attrs = (restrict ?? searchable ?? Object.keys(record).filter((k) => k !== 'objectID')).filter(
      (a) => !restrict || !searchable || searchable.includes(a),
    );
    let firstAttribute = Number.POSITIVE_INFINITY;
    let exact = 0;
    const found = words.map(() => false);
    attrs.forEach((attr, ai) => {
      for (const value of valuesAtPath(record, attr).flatMap(texts)) {
        for (const t of tokens(value)) {
          words.forEach((w, wi) => {
            const m = matchToken(w, t, value, wordOpts);
            if (!m) return;
            if (!found[wi]) exact += m.exact ? 1 : 0;
            found[wi] = true;
            firstAttribute = Math.min(firstAttribute, ai);
          });
        }
      }
    });
    if (found.every(Boolean)) candidates.push({ record, order, firstAttribute, exact });
  }

  const ranking = (s.ranking as string[] | undefined) ?? DEFAULT_RANKING;
  const custom = (s.customRanking as string[] | undefined) ?? [];
  const criteria = ranking.flatMap((r) => (r === 'custom' ? custom : [r]));
  candidates.sort((a, b) => {
    for (const c of criteria) {
      const m = /^(asc|desc)\((.+)\)$/.exec(c);
      let d = 0;
      if (m) d = compareAttr(a.record, b.record, m[2]!, m[1] === 'asc' ? 1 : -1);
      else if (c === 'attribute') d = a.firstAttribute - b.firstAttribute;
      else if (c === 'exact') d = b.exact - a.exact;
      if (d !== 0) return d;
    }
    return a.order - b.order;
  });

  const nbHits = candidates.length;
  const limitedTo = (s.paginationLimitedTo as number | undefined) ?? 1000;
  const offset = numberParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const lengthP = numberParam(params, 'length', 0, 1000);
  const hitsPerPage =
    numberParam(params, 'hitsPerPage', 0, 1000) ?? (s.hitsPerPage as number | undefined) ?? 20;
  const page = numberParam(params, 'page', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  let start: number;
  let count: number;
  if (offset !== undefined) {
    start = offset;
    count = lengthP ?? hitsPerPage;
  } else {
    start = page * hitsPerPage;
    count = hitsPerPage;
  }
  const end = Math.min(start + count, limitedTo, nbHits);
  const pageHits = start < end ? candidates.slice(start, end) : [];

  const toHighlight =
    listParam(params, 'attributesToHighlight') ??
    (s.attributesToHighlight as string[] | undefined) ??
    searchable ??
    [];
  const pre = pick(params, s, 'highlightPreTag', '<em>');
  const post = pick(params, s, 'highlightPostTag', '</em>');
  const unretrievable = new Set(((s.unretrievableAttributes as string[]) ?? []).map(stripModifier));

  const hits = pageHits.map(({ record }) => {
    const hit = retrieve(record, s, params);
    const hl: Record<string, unknown> = {};
    const attrs = toHighlight.includes('*')
      ? Object.keys(record).filter((k) => k !== 'objectID')
      : toHighlight;
    for (const attr of attrs) {
      if (unretrievable.has(attr)) continue;
      const value = attr.includes('.') ? valuesAtPath(record, attr)[0] : record[attr];
      if (value === undefined) continue;
      hl[attr] = highlightValue(value, words, wordOpts, pre, post);
    }
    if (Object.keys(hl).length > 0) hit._highlightResult = hl;
    return hit;
  });

  const response: Record<string, unknown> = {
    hits,
    nbHits,
    page: offset !== undefined ? Math.floor(start / Math.max(1, count)) : page,
    nbPages: hitsPerPage > 0 ? Math.ceil(Math.min(nbHits, limitedTo) / hitsPerPage) : 0,
    hitsPerPage,
    exhaustiveNbHits: true,
    exhaustiveTypo: true,
    exhaustive: { nbHits: true, typo: true },
    query,
    params: new URLSearchParams(
      Object.entries(params).map(([k, v]): [string, string] => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    ).toString(),
    processingTimeMS: Math.max(1, Math.round(performance.now() - started)),
  };
  if (offset !== undefined) {
    response.offset = start;
    response.length = count;
  }

  const requested = listParam(params, 'facets');
  if (requested && requested.length > 0) {
    const names = requested.includes('*')
      ? facetAttrs.filter((a) => !a.filterOnly).map((a) => a.name)
      : requested.filter((r) => facetAttrs.some((a) => a.name === r && !a.filterOnly));
    const maxValues = pick(params, s, 'maxValuesPerFacet', 100);
    const facets: Record<string, Record<string, number>> = {};
    const stats: Record<string, { min: number; max: number; avg: number; sum: number }> = {};
    for (const name of names) {
      const counts = new Map<string, number>();
      const nums: number[] = [];
      for (const { record } of candidates) {
        const seen = new Set<string>();
        for (const v of valuesAtPath(record, name)) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
          if (typeof v === 'number') nums.push(v);
          const key = String(v);
          if (seen.has(key)) continue;
          seen.add(key);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
      facets[name] = Object.fromEntries(
        [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, maxValues),
      );
      if (nums.length > 0) {
        const sum = nums.reduce((x, y) => x + y, 0);
        stats[name] = { min: Math.min(...nums), max: Math.max(...nums), avg: sum / nums.length, sum };
      }
    }
    response.facets = facets;
    if (Object.keys(stats).length > 0) response.facets_stats = stats;
    response.exhaustiveFacetsCount = true;
    (response.exhaustive as Record<string, boolean>).facetsCount = true;
  }
  return response;
}
