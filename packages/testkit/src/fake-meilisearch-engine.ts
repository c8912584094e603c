import {
  attributeCovered,
  evaluateMeiliFilter,
  lookupField,
  MeiliFilterError,
  type MeiliFilterNode,
  meiliFilterFields,
  normalizeFacet,
  parseMeiliFilterParam,
} from './fake-meilisearch-filter';

/**
 * The in-memory index behind `startFakeMeilisearch`: documents, settings and the search endpoint,
 * with Meilisearch's request validation and error bodies. Relevance is deliberately simple
 * (typo-free words, prefix on the last word, ranked by matched words, then attribute, then
 * exactness); everything a client can observe in the protocol — pagination modes, facets,
 * `_formatted`, `_rankingScore`, errors — follows the engine's documented shapes.
 */

/** A Meilisearch error response body. */
export interface MeiliErrorBody {
  message: string;
  code: string;
  type: string;
  link: string;
}

/** An error the double answers with its HTTP status and engine body. */
export class MeiliError extends Error {
  override readonly name = 'MeiliError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'invalid_request' | 'auth' | 'internal' | 'system' = 'invalid_request',
  ) {
    super(message);
  }

  toBody(): MeiliErrorBody {
    return {
      message: this.message,
      code: this.code,
      type: this.type,
      link: `https://docs.meilisearch.com/errors#${this.code}`,
    };
  }
}

export const badRequest = (code: string, message: string): MeiliError => new MeiliError(400, code, message);

export type Settings = Record<string, unknown> & {
  searchableAttributes: string[];
  displayedAttributes: string[];
  filterableAttributes: unknown[];
  sortableAttributes: string[];
  rankingRules: string[];
  pagination: { maxTotalHits: number };
  faceting: { maxValuesPerFacet: number; sortFacetValuesBy: Record<string, string> };
};

export function defaultSettings(): Settings {
  return {
    displayedAttributes: ['*'],
    searchableAttributes: ['*'],
    filterableAttributes: [],
    sortableAttributes: [],
    rankingRules: ['words', 'typo', 'proximity', 'attribute', 'sort', 'exactness'],
    stopWords: [],
    nonSeparatorTokens: [],
    separatorTokens: [],
    dictionary: [],
    synonyms: {},
    distinctAttribute: null,
    proximityPrecision: 'byWord',
    typoTolerance: {
      enabled: true,
      minWordSizeForTypos: { oneTypo: 5, twoTypos: 9 },
      disableOnWords: [],
      disableOnAttributes: [],
      disableOnNumbers: false,
    },
    faceting: { maxValuesPerFacet: 100, sortFacetValuesBy: { '*': 'alpha' } },
    pagination: { maxTotalHits: 1000 },
    embedders: {},
    searchCutoffMs: null,
    localizedAttributes: null,
    facetSearch: true,
    prefixSearch: 'indexingTime',
  };
}

const LIST_SETTINGS: Record<string, string> = {
  displayedAttributes: 'invalid_settings_displayed_attributes',
  searchableAttributes: 'invalid_settings_searchable_attributes',
  sortableAttributes: 'invalid_settings_sortable_attributes',
  filterableAttributes: 'invalid_settings_filterable_attributes',
  rankingRules: 'invalid_settings_ranking_rules',
  stopWords: 'invalid_settings_stop_words',
  nonSeparatorTokens: 'invalid_settings_non_separator_tokens',
  separatorTokens: 'invalid_settings_separator_tokens',
  dictionary: 'invalid_settings_dictionary',
};
const RANKING_RULES = new Set(['words', 'typo', 'proximity', 'attribute', 'sort', 'exactness']);

/** Describes a JSON value the way Meilisearch's deserializer does in its error messages. */
export function describeJson(v: unknown): string {
  if (v === null) return 'null: `null`';
  if (Array.isArray(v)) return `an array: \`${JSON.stringify(v)}\``;
  if (typeof v === 'number') {
    const kind = Number.isInteger(v) ? (v < 0 ? 'a negative integer' : 'a positive integer') : 'a float';
    return `${kind}: \`${v}\``;
  }
  if (typeof v === 'string') return `a string: \`${JSON.stringify(v)}\``;
  if (typeof v === 'boolean') return `a boolean: \`${v}\``;
  return `a map: \`${JSON.stringify(v)}\``;
}

const typeError = (code: string, path: string, expected: string, v: unknown): MeiliError =>
  badRequest(code, `Invalid value type at \`.${path}\`: expected ${expected}, but found ${describeJson(v)}`);

function unknownField(key: string, allowed: readonly string[]): MeiliError {
  return badRequest(
    'bad_request',
    `Unknown field \`${key}\`: expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`,
  );
}

/** Validates a PATCH /settings body (unknown keys and the types of the settings we model). */
export function validateSettingsPatch(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      'bad_request',
      `Invalid value type: expected an object, but found ${describeJson(body)}`,
    );
  }
  const allowed = Object.keys(defaultSettings());
  const patch = body as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (!allowed.includes(key)) throw unknownField(key, allowed);
    const code = LIST_SETTINGS[key];
    if (code && value !== null) {
      if (!Array.isArray(value)) throw typeError(code, key, 'an array', value);
      value.forEach((el, i) => {
        const granular = key === 'filterableAttributes' && el !== null && typeof el === 'object';
        if (typeof el !== 'string' && !granular) throw typeError(code, `${key}[${i}]`, 'a string', el);
      });
      if (key === 'rankingRules') {
        for (const rule of value as string[]) {
          if (!RANKING_RULES.has(rule) && !/^[^:]+:(asc|desc)$/.test(rule)) {
            throw badRequest(
              code,
              `Invalid value at \`.rankingRules[${(value as string[]).indexOf(rule)}]\`: \`${rule}\` ranking rule is invalid. Valid ranking rules are words, typo, sort, proximity, attribute, exactness and custom ranking rules.`,
            );
          }
        }
      }
    }
    if (key === 'pagination' && value !== null) {
      const max = (value as Record<string, unknown>)?.maxTotalHits;
      if (
        typeof value !== 'object' ||
        (max !== undefined && (!Number.isInteger(max) || (max as number) < 0))
      ) {
        throw typeError('invalid_settings_pagination', 'pagination.maxTotalHits', 'a positive integer', max);
      }
    }
  }
  return patch;
}

/** Applies a validated settings patch: `null` resets a setting, objects are merged one level deep. */
export function applySettings(current: Settings, patch: Record<string, unknown>): Settings {
  const defaults = defaultSettings();
  const next = { ...current } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) next[key] = defaults[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof defaults[key] === 'object') {
      next[key] = { ...(current[key] as object), ...(value as object) };
    } else next[key] = structuredClone(value);
  }
  return next as Settings;
}

// ---------------------------------------------------------------------------------------------
// Tokenisation

interface Token {
  /** Lower-cased, diacritics removed (charabia's Latin normalisation). */
  norm: string;
  start: number;
  end: number;
  /** Per code point of the original: its start offset and how many normalized chars it gives. */
  chars: { start: number; len: number }[];
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

function normChar(ch: string): string {
  return ch.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    let norm = '';
    const chars: Token['chars'] = [];
    let offset = m.index;
    for (const ch of m[0]) {
      const n = normChar(ch);
      chars.push({ start: offset, len: n.length });
      norm += n;
      offset += ch.length;
    }
    if (norm.length > 0) out.push({ norm, start: m.index, end: m.index + m[0].length, chars });
  }
  return out;
}

interface QueryWord {
  norm: string;
  prefix: boolean;
}

function queryWords(q: string): QueryWord[] {
  const tokens = tokenize(q);
  // Search-as-you-type: the last word is a prefix unless the query ends with a separator.
  const endsInWord = /[\p{L}\p{N}\p{M}]$/u.test(q);
  return tokens.map((t, i) => ({ norm: t.norm, prefix: endsInWord && i === tokens.length - 1 }));
}

/** How a query word matches a token: 2 exactly, 1 as a prefix, 0 not. */
function matchKind(word: QueryWord, token: string): 0 | 1 | 2 {
  if (token === word.norm) return 2;
  return word.prefix && token.startsWith(word.norm) ? 1 : 0;
}

function textsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean') out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) textsOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) textsOf(v, out);
  return out;
}

/** Wraps the matched part of every matching word of `text` in the tags. */
function highlight(text: string, words: QueryWord[], pre: string, post: string): string {
  if (words.length === 0) return text;
  let out = '';
  let last = 0;
  for (const token of tokenize(text)) {
    let best: 0 | 1 | 2 = 0;
    let prefixLen = 0;
    for (const w of words) {
      const k = matchKind(w, token.norm);
      if (k > best) best = k;
      if (k === 1) prefixLen = Math.max(prefixLen, w.norm.length);
    }
    if (best === 0) continue;
    let end = token.end;
    if (best === 1) {
      // Only the typed prefix is marked, mapped back from normalized to original characters.
      let acc = 0;
      for (const c of token.chars) {
        if (acc >= prefixLen) {
          end = c.start;
          break;
        }
        acc += c.len;
      }
    }
    out += text.slice(last, token.start) + pre + text.slice(token.start, end) + post;
    last = end;
  }
  return out + text.slice(last);
}

// ---------------------------------------------------------------------------------------------
// Search request

const SEARCH_KEYS = [
  'q',
  'vector',
  'offset',
  'limit',
  'page',
  'hitsPerPage',
  'attributesToRetrieve',
  'retrieveVectors',
  'attributesToCrop',
  'cropLength',
  'attributesToHighlight',
  'showMatchesPosition',
  'showRankingScore',
  'showRankingScoreDetails',
  'showPerformanceDetails',
  'filter',
  'sort',
  'distinct',
  'facets',
  'highlightPreTag',
  'highlightPostTag',
  'cropMarker',
  'matchingStrategy',
  'attributesToSearchOn',
  'rankingScoreThreshold',
  'locales',
  'hybrid',
  'media',
  'personalize',
] as const;

interface SearchRequest {
  q: string;
  offset?: number;
  limit?: number;
  page?: number;
  hitsPerPage?: number;
  attributesToRetrieve: string[];
  attributesToHighlight: string[];
  showRankingScore: boolean;
  filter: MeiliFilterNode | null;
  sort: { field: string; dir: 'asc' | 'desc' }[];
  facets: string[];
  pre: string;
  post: string;
  matchingStrategy: 'last' | 'all' | 'frequency';
}

function parseSearchRequest(body: unknown): SearchRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      'bad_request',
      `Invalid value type: expected an object, but found ${describeJson(body)}`,
    );
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!(SEARCH_KEYS as readonly string[]).includes(key)) throw unknownField(key, SEARCH_KEYS);
  }
  const uint = (key: string, code: string): number | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw typeError(code, key, 'a positive integer', v);
    return v;
  };
  const strings = (key: string, code: string): string[] | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw typeError(code, key, 'an array', v);
    v.forEach((el, i) => {
      if (typeof el !== 'string') throw typeError(code, `${key}[${i}]`, 'a string', el);
    });
    return v as string[];
  };
  const str = (key: string, code: string, dflt: string): string => {
    const v = b[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') throw typeError(code, key, 'a string', v);
    return v;
  };
  const bool = (key: string, code: string): boolean => {
    const v = b[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw typeError(code, key, 'a boolean', v);
    return v;
  };
  const q = b.q === undefined || b.q === null ? '' : b.q;
  if (typeof q !== 'string') throw typeError('invalid_search_q', 'q', 'a string', q);
  const strategy = str('matchingStrategy', 'invalid_search_matching_strategy', 'last');
  if (!['last', 'all', 'frequency'].includes(strategy)) {
    throw badRequest(
      'invalid_search_matching_strategy',
      `Unknown value \`${strategy}\` at \`.matchingStrategy\`: expected one of \`last\`, \`all\`, \`frequency\``,
    );
  }
  let filter: MeiliFilterNode | null;
  try {
    filter = parseMeiliFilterParam(b.filter);
  } catch (err) {
    if (err instanceof MeiliFilterError) throw badRequest('invalid_search_filter', err.message);
    throw err;
  }
  const sort = (strings('sort', 'invalid_search_sort') ?? []).map((s) => {
    const m = /^(.+):(asc|desc)$/.exec(s);
    if (!m) {
      throw badRequest(
        'invalid_search_sort',
        `Invalid syntax for the sort parameter: expected expression ending by \`:asc\` or \`:desc\`, found \`${s}\`.`,
      );
    }
    return { field: m[1]!, dir: m[2] as 'asc' | 'desc' };
  });
  return {
    q,
    offset: uint('offset', 'invalid_search_offset'),
    limit: uint('limit', 'invalid_search_limit'),
    page: uint('page', 'invalid_search_page'),
    hitsPerPage: uint('hitsPerPage', 'invalid_search_hits_per_page'),
    attributesToRetrieve: strings('attributesToRetrieve', 'invalid_search_attributes_to_retrieve') ?? ['*'],
    attributesToHighlight: strings('attributesToHighlight', 'invalid_search_attributes_to_highlight') ?? [],
    showRankingScore: bool('showRankingScore', 'invalid_search_show_ranking_score'),
    filter,
    sort,
    facets: strings('facets', 'invalid_search_facets') ?? [],
    pre: str('highlightPreTag', 'invalid_search_highlight_pre_tag', '<em>'),
    post: str('highlightPostTag', 'invalid_search_highlight_post_tag', '</em>'),
    matchingStrategy: strategy as SearchRequest['matchingStrategy'],
  };
}

const listNames = (names: readonly unknown[]): string =>
  names
    .flatMap((n) => (typeof n === 'string' ? [n] : ((n as any)?.attributePatterns ?? [])))
    .map((n: string) => `\`${n}\``)
    .join(', ');

// ---------------------------------------------------------------------------------------------
// Index

export interface IndexInfo {
  uid: string;
  primaryKey: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Candidate {
  docid: number;
  doc: Record<string, unknown>;
  score: number;
}

export class FakeIndex {
  primaryKey: string | null = null;
  readonly createdAt = new Date().toISOString();
  updatedAt = this.createdAt;
  settings: Settings = defaultSettings();
  /** External id → document; Map order is Meilisearch's internal docid order (the browse order). */
  readonly docs = new Map<string, Record<string, unknown>>();

  constructor(readonly uid: string) {}

  info(): IndexInfo {
    return {
      uid: this.uid,
      primaryKey: this.primaryKey,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
    };
  }

  touch(): void {
    this.updatedAt = new Date().toISOString();
  }

  search(body: unknown): Record<string, unknown> {
    const started = performance.now();
    const req = parseSearchRequest(body);
    const s = this.settings;
    for (const field of meiliFilterFields(req.filter)) {
      if (!attributeCovered(field, s.filterableAttributes)) {
        throw badRequest(
          'invalid_search_filter',
          s.filterableAttributes.length === 0
            ? `Attribute \`${field}\` is not filterable. This index does not have configured filterable attributes.`
            : `Attribute \`${field}\` is not filterable. Available filterable attribute patterns are: ${listNames(s.filterableAttributes)}.`,
        );
      }
    }
    if (req.sort.length > 0 && !s.rankingRules.includes('sort')) {
      throw badRequest(
        'invalid_search_sort',
        'You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time.',
      );
    }
    for (const { field } of req.sort) {
      if (!attributeCovered(field, s.sortableAttributes)) {
        throw badRequest(
          'invalid_search_sort',
          s.sortableAttributes.length === 0
            ? `Attribute \`${field}\` is not sortable. This index does not have configured sortable attributes.`
            : `Attribute \`${field}\` is not sortable. Available sortable attributes are: ${listNames(s.sortableAttributes)}.`,
        );
      }
    }
    const facetNames = req.facets.includes('*')
      ? s.filterableAttributes.filter((f): f is string => typeof f === 'string')
      : req.facets;
    for (const f of facetNames) {
      if (!attributeCovered(f, s.filterableAttributes)) {
        throw badRequest(
          'invalid_search_facets',
          `Invalid facet distribution: Attribute \`${f}\` is not filterable. ${
            s.filterableAttributes.length === 0
              ? 'This index does not have configured filterable attributes.'
              : `Available filterable attributes patterns are: ${listNames(s.filterableAttributes)}.`
          }`,
        );
      }
    }

    const words = queryWords(req.q);
    const candidates = this.#match(words, req);
    this.#order(candidates, req, words.length > 0);

    const maxTotalHits = s.pagination.maxTotalHits;
    const reachable = candidates.slice(0, maxTotalHits);
    const finite = req.page !== undefined || req.hitsPerPage !== undefined;
    let page: Candidate[];
    const out: Record<string, unknown> = { hits: [], query: req.q, processingTimeMs: 0 };
    if (finite) {
      const hitsPerPage = req.hitsPerPage ?? 20;
      const pageNo = req.page ?? 1;
      page =
        pageNo === 0 || hitsPerPage === 0
          ? []
          : reachable.slice((pageNo - 1) * hitsPerPage, pageNo * hitsPerPage);
      Object.assign(out, {
        hitsPerPage,
        page: pageNo,
        totalPages: hitsPerPage === 0 ? 0 : Math.ceil(reachable.length / hitsPerPage),
        totalHits: reachable.length,
      });
    } else {
      const offset = req.offset ?? 0;
      const limit = req.limit ?? 20;
      page = reachable.slice(offset, offset + limit);
      Object.assign(out, { limit, offset, estimatedTotalHits: reachable.length });
    }
    out.hits = page.map((c) => this.#hit(c, req, words));
    if (req.facets.length > 0) Object.assign(out, this.#facets(candidates, facetNames));
    out.processingTimeMs = Math.round(performance.now() - started);
    return out;
  }

  #searchable(doc: Record<string, unknown>): unknown[][] {
    const attrs = this.settings.searchableAttributes;
    if (attrs.includes('*')) return Object.values(doc).map((v) => [v]);
    return attrs.map((a) => lookupField(doc, a).raw);
  }

  #match(words: QueryWord[], req: SearchRequest): Candidate[] {
    const out: Candidate[] = [];
    let docid = 0;
    for (const doc of this.docs.values()) {
      docid++;
      if (req.filter && !evaluateMeiliFilter(req.filter, doc)) continue;
      if (words.length === 0) {
        out.push({ docid, doc, score: 1 });
        continue;
      }
      const attrs = this.#searchable(doc).map((values) =>
        textsOf(values).flatMap((t) => tokenize(t).map((tok) => tok.norm)),
      );
      let matched = 0;
      let exact = 0;
      let bestAttr = attrs.length;
      for (const w of words) {
        let kind: 0 | 1 | 2 = 0;
        for (let a = 0; a < attrs.length; a++) {
          for (const tok of attrs[a]!) {
            const k = matchKind(w, tok);
            if (k > 0) bestAttr = Math.min(bestAttr, a);
            if (k > kind) kind = k;
          }
        }
        // "last"/"frequency" drop words from the end; a word that fails ends the run.
        if (kind === 0) break;
        matched++;
        if (kind === 2) exact++;
      }
      if (matched === 0 || (req.matchingStrategy === 'all' && matched < words.length)) continue;
      const attrScore = attrs.length === 0 ? 0 : 1 - bestAttr / attrs.length;
      const score = ((100 * matched) / words.length + 10 * attrScore + exact / matched) / 111;
      out.push({ docid, doc, score: Math.round(score * 1e6) / 1e6 });
    }
    return out;
  }

  #order(cands: Candidate[], req: SearchRequest, hasWords: boolean): void {
    const rules = this.settings.rankingRules;
    const sortFirst = rules.indexOf('sort') !== -1 && rules.indexOf('sort') < rules.indexOf('words');
    const bySort = (a: Candidate, b: Candidate): number => {
      for (const { field, dir } of req.sort) {
        const c = compareSortKeys(sortKey(a.doc, field, dir), sortKey(b.doc, field, dir), dir);
        if (c !== 0) return c;
      }
      return 0;
    };
    const byScore = (a: Candidate, b: Candidate): number => (hasWords ? b.score - a.score : 0);
    cands.sort((a, b) => {
      const first = sortFirst ? bySort(a, b) || byScore(a, b) : byScore(a, b) || bySort(a, b);
      return first || a.docid - b.docid;
    });
  }

  #hit(c: Candidate, req: SearchRequest, words: QueryWord[]): Record<string, unknown> {
    const displayed = this.settings.displayedAttributes;
    const retrieve = req.attributesToRetrieve;
    const hit: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.doc)) {
      const shown = displayed.includes('*') || displayed.includes(k);
      const wanted = retrieve.includes('*') || retrieve.includes(k);
      if (shown && wanted) hit[k] = structuredClone(v);
    }
    if (req.attributesToHighlight.length > 0) {
      const all = req.attributesToHighlight.includes('*');
      const formatted: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(hit)) {
        const mark = all || req.attributesToHighlight.includes(k);
        formatted[k] = formatValue(v, mark ? words : [], req.pre, req.post);
      }
      hit._formatted = formatted;
    }
    if (req.showRankingScore) hit._rankingScore = c.score;
    return hit;
  }

  #facets(cands: Candidate[], names: string[]): Record<string, unknown> {
    const distribution: Record<string, Record<string, number>> = {};
    const stats: Record<string, { min: number; max: number }> = {};
    const maxValues = this.settings.faceting.maxValuesPerFacet;
    for (const name of names) {
      const counts = new Map<string, { label: string; count: number; num?: number }>();
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const { doc } of cands) {
        const seen = new Set<string>();
        for (const v of lookupField(doc, name).values) {
          let key: string;
          let label: string;
          let num: number | undefined;
          if (typeof v === 'number') {
            key = `n:${v}`;
            label = String(v);
            num = v;
            min = Math.min(min, v);
            max = Math.max(max, v);
          } else if (typeof v === 'string' || typeof v === 'boolean') {
            label = String(v);
            key = `s:${normalizeFacet(label)}`;
          } else continue;
          if (seen.has(key)) continue;
          seen.add(key);
          const entry = counts.get(key);
          if (entry) entry.count++;
          else counts.set(key, num === undefined ? { label, count: 1 } : { label, count: 1, num });
        }
      }
      const sorted = [...counts.values()].sort((a, b) => {
        if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
        if (a.num !== undefined) return -1;
        if (b.num !== undefined) return 1;
        return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
      });
      distribution[name] = Object.fromEntries(sorted.slice(0, maxValues).map((e) => [e.label, e.count]));
      if (min <= max) stats[name] = { min, max };
    }
    return { facetDistribution: distribution, facetStats: stats };
  }
}

type SortKey = { rank: 0 | 1 | 2; value: number | string };

function sortKey(doc: Record<string, unknown>, field: string, dir: 'asc' | 'desc'): SortKey {
  const values = lookupField(doc, field).values;
  const nums = values.filter((v): v is number => typeof v === 'number');
  const strs = values
    .filter((v) => typeof v === 'string' || typeof v === 'boolean')
    .map((v) => normalizeFacet(String(v)));
  // Numbers sort before strings and documents without a value come last, in both directions;
  // an array sorts by its smallest element ascending and its largest descending.
  const pick = <T>(xs: T[]): T =>
    [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[dir === 'asc' ? 0 : xs.length - 1]!;
  if (nums.length > 0) return { rank: 0, value: pick(nums) };
  if (strs.length > 0) return { rank: 1, value: pick(strs) };
  return { rank: 2, value: 0 };
}

function compareSortKeys(a: SortKey, b: SortKey, dir: 'asc' | 'desc'): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.rank === 2) return 0;
  const c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  return dir === 'asc' ? c : -c;
}

/** `_formatted` values: strings highlighted when asked, numbers turned into strings (as the engine does). */
function formatValue(v: unknown, words: QueryWord[], pre: string, post: string): unknown {
  if (typeof v === 'string') return highlight(v, words, pre, post);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map((x) => formatValue(x, words, pre, post));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, formatValue(x, words, pre, post)]));
  }
  return v;
}
