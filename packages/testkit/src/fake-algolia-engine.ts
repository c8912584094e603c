import { AlgoliaHttpError } from './fake-algolia-errors';
import {
  AlgoliaFilterSyntaxError,
  matchesAlgoliaFilter,
  type ParsedAlgoliaFilter,
  parseAlgoliaFilters,
  valuesAtPath,
} from './fake-algolia-filters';
import { DEFAULT_RANKING, stripModifier } from './fake-algolia-settings';
import type { AlgoliaRecord, FakeAlgoliaIndex } from './fake-algolia-store';
import {
  highlightValue,
  matchToken,
  parseQuery,
  texts,
  tokens,
  type WordMatchOptions,
} from './fake-algolia-text';

/**
 * The search engine behind the Algolia protocol double: word matching over `searchableAttributes`
 * (every query word required), filters, ranking by each index's `ranking` and `customRanking`
 * (replicas sort by their own), `_highlightResult`, facet counts, `offset`/`length` and
 * `page`/`hitsPerPage` pagination capped by `paginationLimitedTo`.
 */

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
