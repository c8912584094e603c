import { AlgoliaHttpError } from './fake-algolia-errors';
import type { FakeAlgoliaIndex } from './fake-algolia-store';

/** Index settings in the Algolia protocol double: the ones it understands, validation and the defaults a read shows. */

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

/** `GET /1/indexes/{index}/settings`: the stored settings over Algolia's defaults. */
export function settingsOf(idx: FakeAlgoliaIndex) {
  const out: Record<string, unknown> = {
    minWordSizefor1Typo: 4,
    minWordSizefor2Typos: 8,
    hitsPerPage: 20,
    maxValuesPerFacet: 100,
    paginationLimitedTo: 1000,
    searchableAttributes: null,
    attributesForFaceting: null,
    unretrievableAttributes: null,
    ranking: DEFAULT_RANKING,
    customRanking: null,
    highlightPreTag: '<em>',
    highlightPostTag: '</em>',
    queryType: 'prefixLast',
    typoTolerance: true,
    ...structuredClone(idx.settings),
  };
  if (idx.primary) out.primary = idx.primary;
  return out;
}
