import { EsError } from './errors';

/**
 * Mappings of the double: explicit `properties` (with multi-`fields`), dynamic mapping of new
 * fields (`dynamic_templates` by `match_mapping_type`/`match`/`path_match`, then the engine's
 * defaults: strings → `text` + `keyword` sub-field, integers → `long`, decimals → `float`, ISO
 * dates → `date` unless `date_detection: false`), `dynamic: "strict"|false`, `enabled: false`
 * objects, and the per-value type checks that make a document fail with `document_parsing_exception`.
 */
export interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
  enabled?: boolean;
  index?: boolean;
  ignore_above?: number;
  [key: string]: unknown;
}

export interface Mappings {
  dynamic?: boolean | string;
  date_detection?: boolean;
  dynamic_templates?: Record<string, DynamicTemplate>[];
  properties?: Record<string, FieldMapping>;
  _meta?: Record<string, unknown>;
  [key: string]: unknown;
}

interface DynamicTemplate {
  match_mapping_type?: string | string[];
  match?: string | string[];
  unmatch?: string | string[];
  path_match?: string | string[];
  path_unmatch?: string | string[];
  mapping: FieldMapping;
}

export const NUMERIC = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const INTEGRAL = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

const asList = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = pattern
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`).test(value);
}

/** Milliseconds of a date value (epoch ms number or string, ISO 8601), or undefined. */
export function parseDate(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return undefined;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (!ISO_DATE.test(v)) return undefined;
  const ms = Date.parse(v.includes('T') || v.length === 10 ? v : v.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}

function jsonType(v: unknown, dateDetection: boolean): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  if (typeof v === 'string') return dateDetection && ISO_DATE.test(v) && v.length >= 10 ? 'date' : 'string';
  if (Array.isArray(v)) {
    for (const x of v) {
      const t = jsonType(x, dateDetection);
      if (t) return t;
    }
    return undefined;
  }
  return 'object';
}

function defaultMapping(type: string): FieldMapping {
  switch (type) {
    case 'string':
      return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
    case 'long':
      return { type: 'long' };
    case 'double':
      return { type: 'float' };
    case 'object':
      return { properties: {} };
    default:
      return { type };
  }
}

function dynamicMapping(m: Mappings, path: string, leaf: string, type: string): FieldMapping {
  for (const entry of m.dynamic_templates ?? []) {
    for (const [, t] of Object.entries(entry)) {
      const mmt = asList(t.match_mapping_type);
      if (mmt && !mmt.includes('*') && !mmt.includes(type)) continue;
      const match = asList(t.match);
      if (match && !match.some((p) => globMatch(p, leaf))) continue;
      if (asList(t.unmatch)?.some((p) => globMatch(p, leaf))) continue;
      const pm = asList(t.path_match);
      if (pm && !pm.some((p) => globMatch(p, path))) continue;
      if (asList(t.path_unmatch)?.some((p) => globMatch(p, path))) continue;
      const dynType = type === 'string' ? 'text' : type === 'double' ? 'float' : type;
      const text = JSON.stringify(t.mapping).replaceAll('{dynamic_type}', dynType).replaceAll('{name}', leaf);
      const mapping = JSON.parse(text) as FieldMapping;
      if (mapping.type === undefined && type === 'object') return { properties: {}, ...mapping };
      if (mapping.type === undefined) mapping.type = dynType;
      return mapping;
    }
  }
  return defaultMapping(type);
}

const isObjectMapping = (f: FieldMapping): boolean =>
  f.type === undefined || f.type === 'object' || f.type === 'nested';

function failParse(path: string, type: string, id: string, value: unknown, why?: string): EsError {
  const preview = typeof value === 'string' ? value.slice(0, 40) : JSON.stringify(value);
  return new EsError(
    400,
    'document_parsing_exception',
    `[1:2] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview}'`,
    why ? { caused_by: { type: 'illegal_argument_exception', reason: why } } : {},
  );
}

function checkValue(f: FieldMapping, path: string, id: string, v: unknown): void {
  if (v === null) return;
  const type = f.type ?? 'object';
  if (NUMERIC.has(type)) {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw failParse(path, type, id, v, `For input string: "${String(v)}"`);
    return;
  }
  if (type === 'boolean') {
    if (typeof v !== 'boolean' && v !== 'true' && v !== 'false' && v !== '')
      throw failParse(
        path,
        type,
        id,
        v,
        `Failed to parse value [${String(v)}] as only [true] or [false] are allowed.`,
      );
    return;
  }
  if (type === 'date') {
    if (parseDate(v) === undefined)
      throw failParse(path, type, id, v, `failed to parse date field [${String(v)}]`);
    return;
  }
  if ((type === 'keyword' || type === 'text') && typeof v === 'object')
    throw failParse(path, type, id, v, `Can't get text on a START_OBJECT`);
}

/**
 * Checks a document against the mappings, adding dynamic fields. Returns the new mappings (the
 * caller only keeps them when the whole document is accepted).
 */
export function mapDocument(mappings: Mappings, source: Record<string, unknown>, id: string): Mappings {
  const m: Mappings = structuredClone(mappings);
  m.properties ??= {};
  const dateDetection = m.date_detection !== false;
  const walk = (
    props: Record<string, FieldMapping>,
    obj: Record<string, unknown>,
    prefix: string,
    dynamic: unknown,
  ) => {
    for (const [key, value] of Object.entries(obj)) {
      const path = prefix + key;
      let f = props[key];
      const values = Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
      if (!f) {
        const type = jsonType(value, dateDetection);
        if (type === undefined) continue;
        if (dynamic === 'strict' || dynamic === 'strict_allow_templates') {
          throw new EsError(
            400,
            'strict_dynamic_mapping_exception',
            `[1:2] mapping set to strict, dynamic introduction of [${key}] within [${prefix ? prefix.slice(0, -1) : '_doc'}] is not allowed`,
          );
        }
        if (dynamic === false || dynamic === 'false' || dynamic === 'runtime') continue;
        f = dynamicMapping(m, path, key, type);
        props[key] = f;
      }
      if (f.enabled === false) continue;
      if (isObjectMapping(f)) {
        for (const v of values) {
          if (v === null) continue;
          if (typeof v !== 'object')
            throw new EsError(
              400,
              'document_parsing_exception',
              `[1:2] object mapping for [${path}] tried to parse field [${key}] as object, but found a concrete value`,
            );
          f.properties ??= {};
          walk(f.properties, v as Record<string, unknown>, `${path}.`, f.dynamic ?? dynamic);
        }
        continue;
      }
      for (const v of values) checkValue(f, path, id, v);
    }
  };
  walk(m.properties, source, '', m.dynamic);
  return m;
}

/** put_mapping: properties merged (a type change is refused), everything else replaced. */
export function mergeMappings(existing: Mappings, update: Mappings): Mappings {
  const out: Mappings = { ...structuredClone(existing) };
  const mergeProps = (a: Record<string, FieldMapping>, b: Record<string, FieldMapping>, prefix: string) => {
    for (const [k, f] of Object.entries(b)) {
      const old = a[k];
      const path = prefix + k;
      if (!old) {
        a[k] = structuredClone(f);
        continue;
      }
      const oldType = old.type ?? 'object';
      const newType = f.type ?? 'object';
      if (oldType !== newType)
        throw new EsError(
          400,
          'illegal_argument_exception',
          `mapper [${path}] cannot be changed from type [${oldType}] to [${newType}]`,
        );
      const { properties, fields, ...rest } = f;
      Object.assign(old, structuredClone(rest));
      if (properties) {
        old.properties ??= {};
        mergeProps(old.properties, properties, `${path}.`);
      }
      if (fields) {
        old.fields ??= {};
        mergeProps(old.fields, fields, `${path}.`);
      }
    }
  };
  for (const [k, v] of Object.entries(update)) {
    if (k === 'properties') {
      out.properties ??= {};
      mergeProps(out.properties, v as Record<string, FieldMapping>, '');
    } else out[k] = structuredClone(v);
  }
  return out;
}

/** Where a queried field lives: its mapping and the `_source` path holding its values. */
export interface ResolvedField {
  mapping: FieldMapping;
  sourcePath: string;
  type: string;
}

/** Resolves `a.b` (object property) or `name.keyword` (a multi-field of `name`). */
export function resolveField(m: Mappings, path: string): ResolvedField | undefined {
  const parts = path.split('.');
  let props = m.properties ?? {};
  const source: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const f = props[parts[i]!];
    if (!f) return undefined;
    source.push(parts[i]!);
    if (i === parts.length - 1) return { mapping: f, sourcePath: source.join('.'), type: f.type ?? 'object' };
    if (f.properties) {
      props = f.properties;
      continue;
    }
    if (f.fields && i === parts.length - 2) {
      const sub = f.fields[parts[i + 1]!];
      if (!sub) return undefined;
      return { mapping: sub, sourcePath: source.join('.'), type: sub.type ?? 'keyword' };
    }
    return undefined;
  }
  return undefined;
}

/** Every field path a mapping knows (for `*` patterns in `fields` lists), multi-fields included. */
export function fieldPaths(m: Mappings): string[] {
  const out: string[] = [];
  const walk = (props: Record<string, FieldMapping>, prefix: string) => {
    for (const [k, f] of Object.entries(props)) {
      const path = prefix + k;
      if (f.properties) walk(f.properties, `${path}.`);
      else {
        out.push(path);
        for (const sub of Object.keys(f.fields ?? {})) out.push(`${path}.${sub}`);
      }
    }
  };
  walk(m.properties ?? {}, '');
  return out;
}

/** The raw values at a `_source` path, arrays flattened, nulls dropped. */
export function sourceValues(source: Record<string, unknown>, path: string): unknown[] {
  let current: unknown[] = [source];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const c of current) {
      const items = Array.isArray(c) ? c.flat(Number.POSITIVE_INFINITY) : [c];
      for (const it of items) {
        if (it && typeof it === 'object' && part in (it as Record<string, unknown>))
          next.push((it as Record<string, unknown>)[part]);
      }
    }
    current = next;
  }
  return current
    .flatMap((v) => (Array.isArray(v) ? v.flat(Number.POSITIVE_INFINITY) : [v]))
    .filter((v) => v !== null && v !== undefined);
}

/** A doc value as the field type indexes it: number, ms, boolean or string (keyword `ignore_above` honoured). */
export function docValue(f: ResolvedField, v: unknown): number | string | boolean | undefined {
  const t = f.type;
  if (NUMERIC.has(t)) {
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) return undefined;
    return INTEGRAL.has(t) ? Math.trunc(n) : n;
  }
  if (t === 'date') return parseDate(v);
  if (t === 'boolean') return v === true || v === 'true';
  if (t === 'keyword') {
    const s = typeof v === 'string' ? v : typeof v === 'object' ? undefined : String(v);
    if (s === undefined) return undefined;
    if (typeof f.mapping.ignore_above === 'number' && s.length > f.mapping.ignore_above) return undefined;
    return s;
  }
  return typeof v === 'object' ? undefined : String(v);
}

export const isIndexed = (f: ResolvedField): boolean =>
  f.mapping.index !== false && f.mapping.enabled !== false;
