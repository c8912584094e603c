import { JSONPath } from 'jsonpath-plus';
import { permanent } from './errors';

/** Keys that must never be assigned with `obj[key] = …`. */
export const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets an own property, even one named `__proto__`, without touching any prototype. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of JSON-like data built with own properties only; throws (permanent) beyond `maxDepth`. */
export function safeCopy(value: unknown, maxDepth = 512): unknown {
  const copy = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return typeof v === 'function' ? undefined : v;
    if (depth > maxDepth) throw permanent(`message nested deeper than ${maxDepth} levels`);
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
    if (Buffer.isBuffer(v)) return v.toString('base64');
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out, k, copy((v as Record<string, unknown>)[k], depth + 1));
    return out;
  };
  return copy(value, 0);
}

/** Throws when `path` is not a usable JSONPath expression. */
export function checkJsonPath(path: string): void {
  if (!path.startsWith('$')) throw new Error('must start with "$"');
  let depth = 0;
  let quote: string | undefined;
  for (const ch of path) {
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    if (depth < 0) break;
  }
  if (depth !== 0 || quote) throw new Error('unbalanced brackets or quotes');
  if (/\.\.\.|\.$|\[\]/.test(path)) throw new Error('malformed');
  JSONPath.toPathArray(path);
  JSONPath({ path, json: { a: [1] }, wrap: true, eval: 'safe' });
}

/** Every JSONPath string leaf of a mapping, with where it is. */
export function mappingPaths(mapping: unknown, where = 'mapping'): { path: string; where: string }[] {
  if (typeof mapping === 'string') return mapping.startsWith('$') ? [{ path: mapping, where }] : [];
  if (Array.isArray(mapping)) return mapping.flatMap((m, i) => mappingPaths(m, `${where}[${i}]`));
  if (mapping && typeof mapping === 'object')
    return Object.keys(mapping).flatMap((k) =>
      mappingPaths((mapping as Record<string, unknown>)[k], `${where}.${k}`),
    );
  return [];
}

/** Writes `value` at a dotted path of a copy-on-write object; parts never are prototype keys (checked at createFlow). */
export function setPath(target: unknown, path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? (safeCopy(target) as Record<string, unknown>)
      : {};
  const parts = path.split('.');
  let cur = root;
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1) setOwn(cur, part, value);
    else {
      const next = Object.hasOwn(cur, part) ? cur[part] : undefined;
      if (!next || typeof next !== 'object' || Array.isArray(next)) setOwn(cur, part, {});
      cur = cur[part] as Record<string, unknown>;
    }
  }
  return root;
}

/** Reads a dotted path through own properties only. */
export function getPath(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
