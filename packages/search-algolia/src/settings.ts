import {
  assertIndexConfig,
  configError,
  type IndexConfig,
  isValidFieldName,
  type SortSpec,
} from '@fraiseql/core';
import { PROVIDER } from './errors';
import { ALGOLIA_FIELDS_ATTRIBUTE } from './filter';
import { RESERVED_ATTRIBUTES, replicaName, SORT_ATTRIBUTE } from './records';

export type Settings = Record<string, unknown>;

/** An IndexConfig as the provider applies it. */
export interface Resolved {
  searchable: string[];
  filterable: string[];
  sortable: string[];
  primaryKey?: string;
}

export interface IndexState {
  config: Resolved;
  /** Replica name → the sort it serves, for the replicas this provider manages. */
  ours: Map<string, SortSpec[]>;
  /** Every replica of the index (ours and the user's). */
  replicas: Set<string>;
}

/** What the provider keeps in the index's `userData.fraiseql`, so another process can reuse it. */
export interface StoredState {
  version: 1;
  config: Resolved;
  replicas: Record<string, SortSpec[]>;
}

/** Checks an IndexConfig (IN002): field names, a non-empty `searchable`, no reserved attribute. */
export function resolveConfig(config: IndexConfig): Resolved {
  if (!config || typeof config !== 'object')
    throw configError(PROVIDER, 'index config must be an object', 'config');
  // primaryKey may be a nested path on Algolia: checked here rather than by assertIndexConfig.
  const { primaryKey, ...lists } = config;
  const checked = assertIndexConfig(lists);
  if (checked.searchable.length === 0) {
    throw configError(
      PROVIDER,
      'index config "searchable" must be a non-empty array of field names',
      'searchable',
    );
  }
  const resolved: Resolved = {
    searchable: [...new Set(checked.searchable)],
    filterable: [...new Set(checked.filterable ?? [])],
    sortable: [...new Set(checked.sortable ?? [])],
  };
  for (const f of [...resolved.searchable, ...resolved.filterable, ...resolved.sortable]) {
    if ((RESERVED_ATTRIBUTES as readonly string[]).includes(f.split('.')[0]!)) {
      throw configError(PROVIDER, `field name "${f}" is reserved by the provider`, 'config');
    }
  }
  if (primaryKey !== undefined) {
    if (!isValidFieldName(primaryKey)) throw configError(PROVIDER, 'invalid primaryKey', 'primaryKey');
    resolved.primaryKey = primaryKey;
  }
  return resolved;
}

/** An attribute without its modifier: `filterOnly(x)` → `x`. */
export const stripModifier = (a: string) => /^[a-zA-Z]+\((.*)\)$/.exec(a.trim())?.[1]?.trim() ?? a.trim();

/** The provider's record in an index's settings, if any. */
export function storedState(settings: Settings): StoredState | undefined {
  return (settings.userData as { fraiseql?: StoredState } | undefined)?.fraiseql;
}

/** The replicas listed in an index's settings, as written (modifiers included). */
export function replicasOf(settings: Settings): string[] {
  return (settings.replicas as string[] | undefined) ?? [];
}

/** The provider's view of an index from its settings (ours in `userData`, else derived). */
export function stateFromSettings(settings: Settings): IndexState {
  const replicas = new Set(replicasOf(settings).map(stripModifier));
  const stored = storedState(settings);
  if (stored?.version === 1 && stored.config) {
    const ours = new Map(Object.entries(stored.replicas ?? {}).filter(([name]) => replicas.has(name)));
    return { config: stored.config, ours, replicas };
  }
  const searchable = ((settings.searchableAttributes as string[] | null) ?? []).flatMap((a) =>
    a.split(',').map(stripModifier),
  );
  const filterable = ((settings.attributesForFaceting as string[] | null) ?? [])
    .map(stripModifier)
    .filter((a) => a !== ALGOLIA_FIELDS_ATTRIBUTE);
  return { config: { searchable, filterable, sortable: [] }, ours: new Map(), replicas };
}

/** The settings a primary index and each of its sort replicas share. */
export function baseSettings(config: Resolved): Settings {
  return {
    searchableAttributes: config.searchable,
    attributesForFaceting: [...config.filterable, `filterOnly(${ALGOLIA_FIELDS_ATTRIBUTE})`],
    unretrievableAttributes: [ALGOLIA_FIELDS_ATTRIBUTE, SORT_ATTRIBUTE],
  };
}

/**
 * The sort replicas an index should have: single-key ones for every sortable field and direction,
 * plus the multi-key ones created earlier (`previous`) while their fields are still sortable.
 */
export function wantedReplicas(
  index: string,
  config: Resolved,
  previous: Map<string, SortSpec[]>,
): Map<string, SortSpec[]> {
  const wanted = new Map<string, SortSpec[]>();
  for (const field of config.sortable) {
    for (const direction of ['asc', 'desc'] as const) {
      const sort = [{ field, direction }];
      wanted.set(replicaName(index, sort), sort);
    }
  }
  for (const [name, sort] of previous) {
    if (sort.every((s) => config.sortable.includes(s.field))) wanted.set(name, sort);
  }
  return wanted;
}
