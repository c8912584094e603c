import { badRequest, describeJson, typeError, unknownField } from './fake-meilisearch-errors';

/** Index settings in the Meilisearch protocol double: defaults, PATCH validation and merging. */

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
