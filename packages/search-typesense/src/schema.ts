import { configError, type IndexConfig, isValidFieldName } from '@fraiseql/core';
import { PROVIDER } from './errors';
import { TYPESENSE_FIELDS_FIELD, TYPESENSE_VALUES_FIELD } from './filter';

/** One field of a Typesense collection schema (https://typesense.org/docs/latest/api/collections.html). */
export interface TypesenseFieldSchema {
  name: string;
  /** `string`, `string[]`, `int32`, `int64`, `float`, `bool`, their arrays, `auto`, `string*`, `object`, … */
  type: string;
  /** Facet counts and `facet_by` on this field. Default false. */
  facet?: boolean;
  /** Index the field (false: stored only). Default true. */
  index?: boolean;
  /** Documents may lack the field. Default false (Typesense refuses documents without it). */
  optional?: boolean;
  /** Sortable (numbers are by default; strings need true). */
  sort?: boolean;
  infix?: boolean;
  locale?: string;
}

/** A collection declared by the user instead of being derived from an IndexConfig. */
export interface TypesenseCollectionSchema {
  fields: TypesenseFieldSchema[];
  /** Typesense's `default_sorting_field` (a numeric field). Default: none. */
  defaultSortingField?: string;
  /** Typesense's `enable_nested_fields`. Default true, so dotted paths (`dims.width`) can be filtered. */
  enableNestedFields?: boolean;
  tokenSeparators?: string[];
  symbolsToIndex?: string[];
}

/**
 * The hidden fields every collection gets: `_fields` (present field paths) and `_values` (scalar
 * values) hold the tokens the portable filter is translated to (see core `toTypesenseFilter`).
 */
export const HIDDEN_FIELDS: TypesenseFieldSchema[] = [
  { name: TYPESENSE_FIELDS_FIELD, type: 'string[]', facet: true, optional: true },
  { name: TYPESENSE_VALUES_FIELD, type: 'string[]', optional: true },
];

export const STRING_TYPES = new Set(['string', 'string[]', 'string*']);

const badConfig = (message: string) => configError(PROVIDER, message);

function fieldList(value: unknown, what: string, index: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badConfig(`${what} of index "${index}" must be an array of field names`);
  for (const f of value) {
    if (!isValidFieldName(f))
      throw badConfig(`Invalid ${what} field ${JSON.stringify(f)} in index "${index}"`);
    if (
      f === TYPESENSE_FIELDS_FIELD ||
      f === TYPESENSE_VALUES_FIELD ||
      (f === 'id' && what === 'searchable')
    ) {
      throw badConfig(`Field "${f}" cannot be ${what} in index "${index}" (reserved)`);
    }
  }
  return [...new Set(value as string[])];
}

/** Validates an IndexConfig (IN002) and returns a normalized copy. */
export function normalizeConfig(index: string, config: unknown): IndexConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw badConfig(`The configuration of index "${index}" must be an object`);
  }
  const c = config as IndexConfig;
  const out: IndexConfig = {
    searchable: fieldList(c.searchable, 'searchable', index),
    filterable: fieldList(c.filterable, 'filterable', index),
    sortable: fieldList(c.sortable, 'sortable', index),
  };
  if (c.primaryKey !== undefined) out.primaryKey = c.primaryKey;
  return out;
}

/**
 * The fields a collection should have for an IndexConfig: searchable fields are `string*`
 * (Typesense turns a string or an array into text), filterable ones get `facet: true`, sortable ones
 * `sort: true`; fields whose type the config does not say are `auto` (Typesense takes the type of
 * the first value: int64 for integers, float otherwise, so dates as epoch ms are int64). A `.*`
 * auto field indexes the rest, for raw filters. With a user schema, its fields come first and are
 * kept as declared; only missing fields are added.
 */
export function desiredFields(config: IndexConfig, user?: TypesenseCollectionSchema): TypesenseFieldSchema[] {
  const fields = new Map<string, TypesenseFieldSchema>();
  const ours = new Set<string>();
  for (const f of user?.fields ?? []) fields.set(f.name, { ...f });
  const add = (name: string, base: TypesenseFieldSchema) => {
    fields.set(name, base);
    ours.add(name);
  };
  for (const name of config.searchable) {
    if (!fields.has(name)) add(name, { name, type: 'string*', optional: true });
  }
  for (const name of config.filterable ?? []) {
    const f = fields.get(name);
    if (!f) add(name, { name, type: 'auto', facet: true, optional: true });
    else if (ours.has(name)) f.facet = true;
  }
  for (const name of config.sortable ?? []) {
    const f = fields.get(name);
    if (!f) add(name, { name, type: 'auto', sort: true, optional: true });
    else if (ours.has(name)) f.sort = true;
  }
  for (const h of HIDDEN_FIELDS) fields.set(h.name, { ...h });
  if (!user) fields.set('.*', { name: '.*', type: 'auto', optional: true });
  return [...fields.values()];
}

/** A collection as read back from Typesense. */
export interface CollectionInfo {
  /** Field name → type, for fields with a concrete type (not `auto`, not a pattern). */
  types: Map<string, string>;
  facets: Set<string>;
  raw: TypesenseFieldSchema[];
}

export function isPattern(name: string): boolean {
  return /[*+?()[\]{}|^$\\]/.test(name);
}

export function collectionInfo(fields: TypesenseFieldSchema[]): CollectionInfo {
  const types = new Map<string, string>();
  const facets = new Set<string>();
  for (const f of fields) {
    if (isPattern(f.name) || f.type === 'auto' || f.index === false) continue;
    types.set(f.name, f.type);
    if (f.facet) facets.add(f.name);
  }
  return { types, facets, raw: fields };
}

/**
 * The IndexConfig of a collection this process did not configure (another process did, or it
 * was declared in `collections`): `string*` fields are searchable (else every indexed string field),
 * facet fields filterable, sortable fields sortable.
 */
export function configFromSchema(fields: TypesenseFieldSchema[]): IndexConfig {
  const visible = fields.filter(
    (f) => !isPattern(f.name) && f.index !== false && !HIDDEN_FIELDS.some((h) => h.name === f.name),
  );
  const starred = visible.filter((f) => f.type === 'string*').map((f) => f.name);
  const searchable =
    starred.length > 0
      ? starred
      : visible.filter((f) => f.type === 'string' || f.type === 'string[]').map((f) => f.name);
  return {
    searchable,
    filterable: visible.filter((f) => f.facet).map((f) => f.name),
    sortable: visible
      .filter((f) => f.sort === true || (f.sort === undefined && /^(int32|int64|float)$/.test(f.type)))
      .map((f) => f.name),
  };
}

/**
 * The changes (`PATCH /collections/:name` fields) that bring an existing schema to the desired
 * one: missing fields are added; a field whose facet/sort flags or text type must change is
 * dropped and added back (Typesense cannot alter a field in place), keeping a detected type.
 */
export function schemaChanges(existing: TypesenseFieldSchema[], desired: TypesenseFieldSchema[]): unknown[] {
  const changes: unknown[] = [];
  for (const d of desired) {
    const e = existing.find((f) => f.name === d.name);
    if (!e) {
      changes.push(d);
      continue;
    }
    const facetDiffers = d.facet !== undefined && Boolean(e.facet) !== d.facet;
    const sortDiffers = d.sort !== undefined && Boolean(e.sort) !== d.sort;
    const typeDiffers =
      (d.type === 'string*' && !STRING_TYPES.has(e.type)) ||
      (d.type !== 'auto' && d.type !== 'string*' && d.type !== e.type);
    if (!facetDiffers && !sortDiffers && !typeDiffers) continue;
    changes.push({ name: d.name, drop: true });
    changes.push({
      ...d,
      type: d.type === 'auto' ? e.type : d.type,
      facet: d.facet ?? e.facet ?? false,
      sort: d.sort ?? e.sort,
    });
  }
  return changes;
}
