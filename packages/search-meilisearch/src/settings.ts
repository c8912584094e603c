import type { IndexConfig } from '@fraiseql/core';

/** What the provider knows about an index: what it may filter/sort on and its primary key. */
export interface KnownIndex {
  primaryKey: string;
  filterable: unknown[];
  sortable: unknown[];
  maxTotalHits: number;
  /** Set by `configureIndex` in this process (true) or read back from the server (false). */
  local: boolean;
}

/**
 * Meilisearch ranks by relevance before `sort` with its default rules, so a sorted word query would
 * be ordered by relevance first. Putting `sort` first makes an explicit sort the primary order,
 * as on every other engine; without a sort the rule is a no-op.
 */
const RANKING_RULES = ['sort', 'words', 'typo', 'proximity', 'attribute', 'exactness'];
export const ENGINE_DEFAULT_MAX_TOTAL_HITS = 1000;

/** The settings `configureIndex` writes for a checked IndexConfig. */
export function engineSettings(
  config: IndexConfig,
  maxTotalHits: number | undefined,
): Record<string, unknown> {
  const settings: Record<string, unknown> = {
    searchableAttributes: config.searchable,
    filterableAttributes: config.filterable ?? [],
    sortableAttributes: config.sortable ?? [],
    rankingRules: RANKING_RULES,
  };
  if (maxTotalHits !== undefined) settings.pagination = { maxTotalHits };
  return settings;
}

/** What an index that does not exist yet is taken to be: a write creates it with `id`. */
export function unknownIndex(): KnownIndex {
  return {
    primaryKey: 'id',
    filterable: [],
    sortable: [],
    maxTotalHits: ENGINE_DEFAULT_MAX_TOTAL_HITS,
    local: false,
  };
}

/** Whether `field` is covered by a Meilisearch attribute list (exact, nested under, or a `*` pattern). */
export function covered(field: string, declared: readonly unknown[]): boolean {
  return declared.some((entry) => {
    const patterns =
      typeof entry === 'string'
        ? [entry]
        : Array.isArray((entry as { attributePatterns?: unknown })?.attributePatterns)
          ? ((entry as { attributePatterns: unknown[] }).attributePatterns.filter(
              (p) => typeof p === 'string',
            ) as string[])
          : [];
    return patterns.some((p) => {
      if (p === '*' || p === field || field.startsWith(`${p}.`)) return true;
      if (!p.includes('*')) return false;
      const re = new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      return re.test(field);
    });
  });
}
