import type { IndexConfig } from '@fraiseql/core';

/**
 * How an IndexConfig becomes Elasticsearch mappings, and how the provider reads an index back.
 *
 * Fields are typed when their first value arrives (dynamic templates), since the contract does not
 * declare types: a string field that is filterable or sortable is `keyword` (exact values, sortable,
 * aggregatable); searchable as well, it gets a `text` sub-field `<field>.text` for full-text
 * matching; searchable only, it is `text`. Every number is `double` (the engine's default would map
 * a first integer to `long` and silently truncate later decimals), and `date_detection` is off so
 * strings stay strings — dates are stored and filtered as epoch milliseconds, as on every engine.
 * The configuration itself is kept in the mapping's `_meta.fraiseql`, so another process (or a
 * restart) reads the same searchable/filterable/sortable lists back.
 */
export const META_KEY = 'fraiseql';
/** Longer keyword values are not indexed (Lucene refuses terms over 32 766 bytes). */
const KEYWORD_IGNORE_ABOVE = 8191;

export interface StoredConfig {
  searchable: string[];
  filterable: string[];
  sortable: string[];
  primaryKey: string;
}

export function engineMappings(config: IndexConfig | undefined): Record<string, unknown> {
  const searchable = config?.searchable ?? [];
  const exact = [...new Set([...(config?.filterable ?? []), ...(config?.sortable ?? [])])];
  const both = exact.filter((f) => searchable.includes(f));
  const exactOnly = exact.filter((f) => !searchable.includes(f));
  const textOnly = searchable.filter((f) => !exact.includes(f));
  const templates: Record<string, unknown>[] = [];
  // One template per field (arrays in `path_match` need Elasticsearch ≥ 8.9).
  const strings = (name: string, fields: string[], mapping: Record<string, unknown>) => {
    for (const field of fields)
      templates.push({ [`${name}:${field}`]: { path_match: field, match_mapping_type: 'string', mapping } });
  };
  strings('fraiseql_keyword_text', both, {
    type: 'keyword',
    ignore_above: KEYWORD_IGNORE_ABOVE,
    fields: { text: { type: 'text' } },
  });
  strings('fraiseql_keyword', exactOnly, { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE });
  strings('fraiseql_text', textOnly, { type: 'text' });
  templates.push({ fraiseql_integers: { match_mapping_type: 'long', mapping: { type: 'double' } } });
  templates.push({ fraiseql_decimals: { match_mapping_type: 'double', mapping: { type: 'double' } } });
  const mappings: Record<string, unknown> = { date_detection: false, dynamic_templates: templates };
  if (config) {
    const stored: StoredConfig = {
      searchable,
      filterable: config.filterable ?? [],
      sortable: config.sortable ?? [],
      primaryKey: config.primaryKey ?? 'id',
    };
    mappings._meta = { [META_KEY]: stored };
  }
  return mappings;
}

interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
}

const EXACT_TYPES = new Set([
  'keyword',
  'constant_keyword',
  'wildcard',
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
  'date',
  'date_nanos',
  'boolean',
  'ip',
]);

/** What the provider knows about an index: declared fields and where each lives in the mapping. */
export interface KnownIndex {
  primaryKey: string;
  searchable: string[];
  filterable: string[];
  sortable: string[];
  /** Mapped leaf fields: portable path → mapping (`type`, sub-fields). */
  fields: Map<string, FieldMapping>;
  /** Set by `configureIndex` in this process (true) or read back from the server (false). */
  local: boolean;
  /** The lists come from `_meta.fraiseql` (or `configureIndex`), not guessed from field types. */
  configured: boolean;
}

function flatten(
  props: Record<string, FieldMapping> | undefined,
  prefix = '',
  out = new Map<string, FieldMapping>(),
) {
  for (const [k, f] of Object.entries(props ?? {})) {
    if (f.properties) flatten(f.properties, `${prefix}${k}.`, out);
    else if (!out.has(prefix + k)) out.set(prefix + k, f);
  }
  return out;
}

/**
 * The known index from `GET <index>/_mapping` (one entry per concrete index: an alias or pattern
 * gives several, merged). Without `_meta.fraiseql` (an index made by another tool, the audit
 * indices) the lists come from the mapping: text fields are searchable, exact-valued fields (and
 * text fields with a `keyword` sub-field) filterable and sortable.
 */
export function knownFromMappings(
  res: Record<string, { mappings?: Record<string, unknown> }>,
  local: boolean,
  config?: StoredConfig,
): KnownIndex {
  const fields = new Map<string, FieldMapping>();
  let stored = config;
  for (const { mappings } of Object.values(res)) {
    flatten(mappings?.properties as Record<string, FieldMapping> | undefined, '', fields);
    const meta = (mappings?._meta as Record<string, unknown> | undefined)?.[META_KEY] as
      | StoredConfig
      | undefined;
    if (!stored && meta && Array.isArray(meta.searchable)) stored = meta;
  }
  if (stored) {
    return {
      primaryKey: stored.primaryKey ?? 'id',
      searchable: [...stored.searchable],
      filterable: [...(stored.filterable ?? [])],
      sortable: [...(stored.sortable ?? [])],
      fields,
      local,
      configured: true,
    };
  }
  const searchable: string[] = [];
  const exact: string[] = [];
  for (const [path, f] of fields) {
    if (f.type === 'text') searchable.push(path);
    if (EXACT_TYPES.has(f.type ?? '') || Object.values(f.fields ?? {}).some((s) => s.type === 'keyword'))
      exact.push(path);
    else if (f.type === 'keyword' || Object.values(f.fields ?? {}).some((s) => s.type === 'text'))
      searchable.push(path);
  }
  return {
    primaryKey: 'id',
    searchable,
    filterable: exact,
    sortable: [...exact],
    fields,
    local,
    configured: false,
  };
}

/** Whether `field` is covered by a declared list: listed, or nested under a listed object. */
export function covered(field: string, declared: readonly string[]): boolean {
  return declared.some((p) => p === '*' || p === field || field.startsWith(`${p}.`));
}

/** The path to filter, sort and aggregate a field on: a text field's `keyword` sub-field when it has one. */
export function exactPath(known: KnownIndex, field: string): string {
  const f = known.fields.get(field);
  if (f?.type === 'text') {
    const sub = Object.entries(f.fields ?? {}).find(([, s]) => s.type === 'keyword');
    if (sub) return `${field}.${sub[0]}`;
  }
  return field;
}

/** The paths to match words on: a keyword field's `text` sub-field when it has one (our mappings give both). */
export function textPath(known: KnownIndex, field: string): string {
  const f = known.fields.get(field);
  if (f) {
    if (f.type === 'text') return field;
    const sub = Object.entries(f.fields ?? {}).find(([, s]) => s.type === 'text');
    return sub ? `${field}.${sub[0]}` : field;
  }
  // Not mapped yet: where our dynamic templates will put it.
  return covered(field, known.filterable) || covered(field, known.sortable) ? `${field}.text` : field;
}
