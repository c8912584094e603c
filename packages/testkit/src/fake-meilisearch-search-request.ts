import { badRequest, describeJson, typeError, unknownField } from './fake-meilisearch-errors';
import { MeiliFilterError, type MeiliFilterNode, parseMeiliFilterParam } from './fake-meilisearch-filter';

/** The body of `POST /indexes/:uid/search`: known keys, types and defaults, with the engine's error codes. */

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

export interface SearchRequest {
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

export function parseSearchRequest(body: unknown): SearchRequest {
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
