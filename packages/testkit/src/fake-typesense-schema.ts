import { getField } from '@fraiseql/core';

/**
 * Collections of the Typesense protocol double: schema declaration, Typesense's type checks of
 * documents (with `dirty_values` coercion) and automatic schema detection (`auto` and regex field
 * names such as `.*`), following https://typesense.org/docs/latest/api/collections.html.
 */

/** An error the double answers with `{"message": …}` and this HTTP status. */
export class FakeHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FieldDef {
  name: string;
  type: string;
  facet: boolean;
  optional: boolean;
  index: boolean;
  sort: boolean;
  infix: boolean;
  locale: string;
}

export interface StoredDoc {
  seq: number;
  doc: Record<string, unknown>;
}

export interface FakeCollection {
  name: string;
  fields: FieldDef[];
  defaultSortingField: string;
  enableNestedFields: boolean;
  tokenSeparators: string[];
  symbolsToIndex: string[];
  createdAt: number;
  docs: Map<string, StoredDoc>;
  nextSeq: number;
}

const SCALAR_TYPES = ['string', 'int32', 'int64', 'float', 'bool'];
const FIELD_TYPES = new Set([
  ...SCALAR_TYPES,
  ...SCALAR_TYPES.map((t) => `${t}[]`),
  'auto',
  'string*',
  'object',
  'object[]',
  'geopoint',
  'geopoint[]',
  'image',
]);
const NUMERIC = new Set(['int32', 'int64', 'float', 'int32[]', 'int64[]', 'float[]']);

export const isNumericType = (type: string): boolean => NUMERIC.has(type);
export const isStringType = (type: string): boolean =>
  type === 'string' || type === 'string[]' || type === 'string*';

/** Typesense reads a field name with regex characters (`.*`, `num_.*`) as a pattern. */
export function isRegexName(name: string): boolean {
  return /[*+?()[\]{}|^$\\]/.test(name);
}

function plainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function normalizeField(raw: unknown): FieldDef {
  if (!plainObject(raw) || typeof raw.name !== 'string' || typeof raw.type !== 'string') {
    throw new FakeHttpError(
      400,
      'Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.',
    );
  }
  if (raw.name === '') throw new FakeHttpError(400, 'Field name cannot be empty.');
  if (!FIELD_TYPES.has(raw.type)) {
    throw new FakeHttpError(
      400,
      `Field \`${raw.name}\` has an invalid data type \`${raw.type}\`, see docs for supported data types.`,
    );
  }
  for (const key of ['facet', 'optional', 'index', 'sort', 'infix'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') {
      throw new FakeHttpError(
        400,
        `The \`${key}\` property of the field \`${raw.name}\` should be a boolean.`,
      );
    }
  }
  const regex = isRegexName(raw.name);
  return {
    name: raw.name,
    type: raw.type,
    facet: raw.facet === true,
    // Regex and `auto` declarations only describe fields that may appear.
    optional: raw.optional === true || regex || raw.name === '.*',
    index: raw.index !== false,
    sort: typeof raw.sort === 'boolean' ? raw.sort : NUMERIC.has(raw.type),
    infix: raw.infix === true,
    locale: typeof raw.locale === 'string' ? raw.locale : '',
  };
}

export function createCollection(body: unknown): FakeCollection {
  if (!plainObject(body)) throw new FakeHttpError(400, 'Bad JSON.');
  if (typeof body.name !== 'string' || body.name === '') {
    throw new FakeHttpError(400, 'Parameter `name` is required.');
  }
  if (!Array.isArray(body.fields)) throw new FakeHttpError(400, 'Parameter `fields` is required.');
  const fields = body.fields.map(normalizeField);
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new FakeHttpError(400, 'There are duplicate field names in the schema.');
    names.add(f.name);
  }
  const defaultSortingField =
    typeof body.default_sorting_field === 'string' ? body.default_sorting_field : '';
  if (defaultSortingField) {
    const f = fields.find((x) => x.name === defaultSortingField);
    if (!f) {
      throw new FakeHttpError(
        400,
        `Default sorting field is defined as \`${defaultSortingField}\` but is not found in the schema.`,
      );
    }
    if (!NUMERIC.has(f.type) && f.type !== 'string') {
      throw new FakeHttpError(400, 'Default sorting field must be of type int32 / float / int64 / string.');
    }
  }
  return {
    name: body.name,
    fields,
    defaultSortingField,
    enableNestedFields: body.enable_nested_fields === true,
    tokenSeparators: Array.isArray(body.token_separators) ? (body.token_separators as string[]) : [],
    symbolsToIndex: Array.isArray(body.symbols_to_index) ? (body.symbols_to_index as string[]) : [],
    createdAt: Math.floor(Date.now() / 1000),
    docs: new Map(),
    nextSeq: 0,
  };
}

export function collectionJson(c: FakeCollection): Record<string, unknown> {
  return {
    name: c.name,
    created_at: c.createdAt,
    num_documents: c.docs.size,
    default_sorting_field: c.defaultSortingField,
    enable_nested_fields: c.enableNestedFields,
    token_separators: c.tokenSeparators,
    symbols_to_index: c.symbolsToIndex,
    fields: c.fields.map((f) => ({ ...f, stem: false, store: true })),
  };
}

/** The typed field of a path: a declared or detected field with a concrete type. */
export function concreteField(c: FakeCollection, name: string): FieldDef | undefined {
  return c.fields.find((f) => f.name === name && f.type !== 'auto' && !isRegexName(f.name));
}

export function valueAt(c: FakeCollection, doc: Record<string, unknown>, name: string): unknown {
  return c.enableNestedFields ? getField(doc, name) : doc[name];
}

function setValueAt(c: FakeCollection, doc: Record<string, unknown>, name: string, value: unknown): void {
  if (!c.enableNestedFields || !name.includes('.')) {
    doc[name] = value;
    return;
  }
  const parts = name.split('.');
  let cur: Record<string, unknown> = doc;
  for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = value;
}

function removeValueAt(c: FakeCollection, doc: Record<string, unknown>, name: string): void {
  if (!c.enableNestedFields || !name.includes('.')) {
    delete doc[name];
    return;
  }
  const parts = name.split('.');
  let cur: unknown = doc;
  for (const part of parts.slice(0, -1)) cur = (cur as Record<string, unknown>)?.[part];
  if (plainObject(cur)) delete cur[parts[parts.length - 1]!];
}

/** Leaf paths of a document: top-level keys, or with nested fields every path into plain objects. */
function leafPaths(c: FakeCollection, doc: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (c.enableNestedFields && plainObject(v)) walk(v, path);
      else out.push([path, v]);
    }
  };
  walk(doc, '');
  return out;
}

export type DirtyValues = 'coerce_or_reject' | 'coerce_or_drop' | 'drop' | 'reject';

type Check = { ok: true; value?: unknown } | { ok: false; message: string };

function article(type: string): string {
  return /^[aeiou]/.test(type) || type.startsWith('int') ? 'an' : 'a';
}

function checkScalar(type: string, v: unknown, coerce: boolean): Check {
  switch (type) {
    case 'string':
      if (typeof v === 'string') return { ok: true };
      if (coerce && (typeof v === 'number' || typeof v === 'boolean')) return { ok: true, value: String(v) };
      return { ok: false, message: '' };
    case 'int32':
    case 'int64': {
      const inRange = (n: number) => type === 'int64' || (n >= -(2 ** 31) && n < 2 ** 31);
      if (typeof v === 'number' && Number.isInteger(v) && inRange(v)) return { ok: true };
      if (coerce) {
        if (typeof v === 'number' && Number.isFinite(v) && inRange(Math.trunc(v))) {
          return { ok: true, value: Math.trunc(v) };
        }
        if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))
          return { ok: true, value: Math.trunc(Number(v)) };
        if (typeof v === 'boolean') return { ok: true, value: v ? 1 : 0 };
      }
      return { ok: false, message: '' };
    }
    case 'float':
      if (typeof v === 'number' && Number.isFinite(v)) return { ok: true };
      if (coerce) {
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) {
          return { ok: true, value: Number(v) };
        }
        if (typeof v === 'boolean') return { ok: true, value: v ? 1 : 0 };
      }
      return { ok: false, message: '' };
    case 'bool':
      if (typeof v === 'boolean') return { ok: true };
      if (coerce) {
        if (v === 'true' || v === 1) return { ok: true, value: true };
        if (v === 'false' || v === 0) return { ok: true, value: false };
      }
      return { ok: false, message: '' };
    case 'object':
      return plainObject(v) ? { ok: true } : { ok: false, message: '' };
    default:
      return { ok: true };
  }
}

/** Typesense's type check of one value (`coerce` converts where `dirty_values` allows it). */
export function checkValue(field: string, type: string, v: unknown, coerce: boolean): Check {
  if (type === 'auto') return { ok: true };
  if (type === 'string*') {
    const one = (x: unknown) =>
      typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined;
    if (Array.isArray(v)) {
      const out = v.map(one);
      if (out.some((x) => x === undefined)) {
        return { ok: false, message: `Field \`${field}\` must be an array of string.` };
      }
      return { ok: true, value: out };
    }
    const s = one(v);
    return s === undefined
      ? { ok: false, message: `Field \`${field}\` must be a string.` }
      : { ok: true, value: s };
  }
  if (type.endsWith('[]')) {
    const base = type.slice(0, -2);
    if (!Array.isArray(v)) return { ok: false, message: `Field \`${field}\` must be an array.` };
    let changed = false;
    const out: unknown[] = [];
    for (const el of v) {
      const r = checkScalar(base, el, coerce);
      if (!r.ok) return { ok: false, message: `Field \`${field}\` must be an array of ${base}.` };
      if (r.value !== undefined) changed = true;
      out.push(r.value !== undefined ? r.value : el);
    }
    return changed ? { ok: true, value: out } : { ok: true };
  }
  const r = checkScalar(type, v, coerce);
  return r.ok ? r : { ok: false, message: `Field \`${field}\` must be ${article(type)} ${type}.` };
}

/** Automatic schema detection: the type Typesense gives a field from its first value. */
export function inferType(v: unknown): string | undefined {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float';
  if (Array.isArray(v)) {
    const present = v.filter((x) => x !== null && x !== undefined);
    const first = present[0];
    if (first === undefined) return undefined;
    if (typeof first === 'string') return 'string[]';
    if (typeof first === 'boolean') return 'bool[]';
    if (typeof first === 'number') {
      return present.every((x) => typeof x !== 'number' || Number.isInteger(x)) ? 'int64[]' : 'float[]';
    }
    return undefined;
  }
  return undefined;
}

export type Prepared =
  | { ok: true; doc: Record<string, unknown>; detected: FieldDef[] }
  | { ok: false; message: string };

/**
 * Validates a document against the collection schema the way Typesense's import does: declared
 * fields are type-checked (missing non-optional ones refused), undeclared ones matching an
 * `auto`/regex declaration get their type detected. Nothing is committed; `detected` lists the
 * fields the caller adds to the schema when it stores the document.
 */
export function prepareDocument(
  c: FakeCollection,
  input: Record<string, unknown>,
  dirty: DirtyValues,
): Prepared {
  const doc = structuredClone(input);
  const coerce = dirty === 'coerce_or_reject' || dirty === 'coerce_or_drop';
  const dropOnError = dirty === 'drop' || dirty === 'coerce_or_drop';
  const handled = new Set<string>();
  for (const f of c.fields) {
    if (isRegexName(f.name) || f.type === 'auto') continue;
    handled.add(f.name);
    const v = valueAt(c, doc, f.name);
    if (v === undefined || v === null) {
      if (!f.optional) {
        return {
          ok: false,
          message: `Field \`${f.name}\` has been declared in the schema, but is not found in the document.`,
        };
      }
      continue;
    }
    if (!f.index) continue;
    const r = checkValue(f.name, f.type, v, coerce);
    if (!r.ok) {
      if (dropOnError) {
        removeValueAt(c, doc, f.name);
        continue;
      }
      return { ok: false, message: r.message };
    }
    if (r.value !== undefined) setValueAt(c, doc, f.name, r.value);
  }
  const detected: FieldDef[] = [];
  for (const [path, v] of leafPaths(c, doc)) {
    if (path === 'id' || handled.has(path) || v === null || v === undefined) continue;
    const decl =
      c.fields.find((f) => f.name === path && f.type === 'auto') ??
      c.fields.find((f) => isRegexName(f.name) && new RegExp(`^(?:${f.name})$`).test(path));
    if (!decl?.index) continue;
    const type = decl.type === 'auto' ? inferType(v) : decl.type;
    if (type === undefined) continue;
    const r = checkValue(path, type, v, coerce);
    if (!r.ok) {
      if (dropOnError) continue;
      return { ok: false, message: r.message };
    }
    if (r.value !== undefined) setValueAt(c, doc, path, r.value);
    detected.push({
      ...decl,
      name: path,
      type,
      optional: true,
      sort: decl.type === 'auto' && !decl.sort ? NUMERIC.has(type) : decl.sort,
    });
  }
  return { ok: true, doc, detected };
}

/** Adds detected fields to the schema (a named `auto` declaration takes its detected type). */
export function commitDetected(c: FakeCollection, detected: FieldDef[]): void {
  for (const d of detected) {
    const pending = c.fields.find((f) => f.name === d.name && f.type === 'auto');
    if (pending) Object.assign(pending, d);
    else if (!concreteField(c, d.name)) c.fields.push(d);
  }
}

/** `PATCH /collections/:name`: drops and adds fields, checking stored documents against new types. */
export function alterCollection(c: FakeCollection, body: unknown): Record<string, unknown> {
  if (!plainObject(body) || !Array.isArray(body.fields)) {
    throw new FakeHttpError(400, 'The `fields` value should be an array of objects.');
  }
  const fields = c.fields.map((f) => ({ ...f }));
  for (const raw of body.fields) {
    if (plainObject(raw) && raw.drop === true) {
      const i = fields.findIndex((f) => f.name === raw.name);
      if (i === -1)
        throw new FakeHttpError(400, `Field \`${String(raw.name)}\` is not part of collection schema.`);
      fields.splice(i, 1);
      continue;
    }
    const f = normalizeField(raw);
    if (fields.some((x) => x.name === f.name)) {
      throw new FakeHttpError(
        400,
        `Field \`${f.name}\` is already part of the schema: To change this field, drop it first before adding it back to the schema.`,
      );
    }
    if (!isRegexName(f.name)) {
      if (f.type === 'auto') {
        // Existing documents decide the type, as on insert.
        for (const { doc } of c.docs.values()) {
          const type = inferType(valueAt(c, doc, f.name));
          if (type) {
            f.type = type;
            if (!f.sort) f.sort = NUMERIC.has(type);
            break;
          }
        }
      } else {
        for (const { doc } of c.docs.values()) {
          const v = valueAt(c, doc, f.name);
          const problem =
            v === undefined || v === null
              ? f.optional
                ? undefined
                : `Field \`${f.name}\` has been declared in the schema, but is not found in the document.`
              : (() => {
                  const r = checkValue(f.name, f.type, v, true);
                  return r.ok ? undefined : r.message;
                })();
          if (problem) {
            throw new FakeHttpError(
              400,
              `Schema change is incompatible with the type of documents already stored in this collection. error: ${problem}`,
            );
          }
        }
      }
    }
    fields.push(f);
  }
  c.fields = fields;
  return { fields: body.fields };
}
