import type { MeiliFilterNode } from './fake-meilisearch-filter';

/**
 * Evaluation of a parsed Meilisearch filter against a document, with the engine's semantics (see
 * `fake-meilisearch-filter.ts` for the grammar): document flattening, facet normalisation,
 * case-insensitive equality, numeric or lexicographic ranges, and which attributes a
 * filterable/sortable list covers.
 */

/** Meilisearch's facet normalisation (`normalize_facet`): trimmed, NFKD, lower-cased. */
export function normalizeFacet(value: string): string {
  return value.trim().normalize('NFKD').toLowerCase();
}

/** Rust's `f64::from_str` on a filter value, finite results only. */
export function parseEngineNumber(value: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

interface FieldLookup {
  present: boolean;
  /** Leaf values, arrays flattened (objects are not leaves). */
  values: unknown[];
  /** The raw values found at the path (before flattening arrays). */
  raw: unknown[];
}

/** Reads a dotted attribute the way Meilisearch flattens documents (arrays of objects included). */
export function lookupField(doc: Record<string, unknown>, path: string): FieldLookup {
  const raw: unknown[] = [];
  const visit = (node: unknown, rest: string): void => {
    if (Array.isArray(node)) {
      for (const el of node) visit(el, rest);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    // Both `a.b` as a literal key and `a` → `b` as nesting are valid spellings in Meilisearch.
    if (Object.hasOwn(obj, rest)) raw.push(obj[rest]);
    let dot = rest.indexOf('.');
    while (dot !== -1) {
      const head = rest.slice(0, dot);
      if (Object.hasOwn(obj, head)) visit(obj[head], rest.slice(dot + 1));
      dot = rest.indexOf('.', dot + 1);
    }
  };
  visit(doc, path);
  const values: unknown[] = [];
  const flat = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(flat);
    else values.push(v);
  };
  raw.forEach(flat);
  return { present: raw.length > 0, values, raw };
}

function equals(values: unknown[], token: string): boolean {
  const norm = normalizeFacet(token);
  const num = parseEngineNumber(token);
  return values.some((v) => {
    if (typeof v === 'string') return normalizeFacet(v) === norm;
    if (typeof v === 'boolean') return String(v) === norm;
    if (typeof v === 'number') return num !== undefined && v === num;
    return false;
  });
}

function inRange(
  values: unknown[],
  low: { value: string; inclusive: boolean } | undefined,
  high: { value: string; inclusive: boolean } | undefined,
): boolean {
  const bounds = [low, high].filter((b) => b !== undefined);
  const numeric = bounds.every((b) => parseEngineNumber(b.value) !== undefined);
  return values.some((v) => {
    let x: number | string;
    const cmp = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);
    if (numeric) {
      if (typeof v !== 'number') return false;
      x = v;
    } else {
      if (typeof v !== 'string' && typeof v !== 'boolean') return false;
      x = normalizeFacet(String(v));
    }
    const bound = (b: { value: string }) => (numeric ? parseEngineNumber(b.value)! : normalizeFacet(b.value));
    if (low) {
      const c = cmp(x, bound(low));
      if (c < 0 || (c === 0 && !low.inclusive)) return false;
    }
    if (high) {
      const c = cmp(x, bound(high));
      if (c > 0 || (c === 0 && !high.inclusive)) return false;
    }
    return true;
  });
}

/** True when `doc` passes the filter, with the engine's semantics. */
export function evaluateMeiliFilter(node: MeiliFilterNode, doc: Record<string, unknown>): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.every((n) => evaluateMeiliFilter(n, doc));
    case 'or':
      return node.items.some((n) => evaluateMeiliFilter(n, doc));
    case 'not':
      return !evaluateMeiliFilter(node.item, doc);
    case 'exists':
      return lookupField(doc, node.field).present;
    case 'null':
      return lookupField(doc, node.field).raw.some((v) => v === null);
    case 'empty':
      return lookupField(doc, node.field).raw.some(
        (v) =>
          v === '' ||
          (Array.isArray(v) && v.length === 0) ||
          (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0),
      );
    case 'in': {
      const { values } = lookupField(doc, node.field);
      return node.values.some((t) => equals(values, t));
    }
    case 'to':
      return inRange(
        lookupField(doc, node.field).values,
        { value: node.from, inclusive: true },
        { value: node.to, inclusive: true },
      );
    case 'cmp': {
      const { values } = lookupField(doc, node.field);
      switch (node.op) {
        case '=':
          return equals(values, node.value);
        case '!=':
          return !equals(values, node.value);
        case '>':
          return inRange(values, { value: node.value, inclusive: false }, undefined);
        case '>=':
          return inRange(values, { value: node.value, inclusive: true }, undefined);
        case '<':
          return inRange(values, undefined, { value: node.value, inclusive: false });
        case '<=':
          return inRange(values, undefined, { value: node.value, inclusive: true });
      }
    }
  }
  return false;
}

/**
 * Whether `field` is covered by an attribute list (filterable/sortable): declared as is, nested
 * under a declared attribute (`a` covers `a.b`), or matched by a `*` pattern; granular
 * filterable rules (`{ attributePatterns: [...] }`) count by their patterns.
 */
export function attributeCovered(field: string, declared: readonly unknown[]): boolean {
  for (const entry of declared) {
    const patterns =
      typeof entry === 'string'
        ? [entry]
        : entry && typeof entry === 'object' && Array.isArray((entry as any).attributePatterns)
          ? ((entry as any).attributePatterns as unknown[]).filter((p): p is string => typeof p === 'string')
          : [];
    for (const p of patterns) {
      if (p === field || field.startsWith(`${p}.`)) return true;
      if (p.includes('*')) {
        const re = new RegExp(
          `^${p
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        );
        if (re.test(field)) return true;
      }
    }
  }
  return false;
}
