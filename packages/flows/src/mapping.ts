import { JSONPath } from 'jsonpath-plus';
import { permanent } from './errors';
import { safeCopy, setOwn } from './json';

/**
 * A transform mapping compiled once: `(input) => output`. Plain paths (`$.a.b`, `$['a-b']`, `$.a[0]`,
 * `$.items[*].sku`) are walked directly over own properties; anything else (`..`, filters, slices,
 * unions) goes through jsonpath-plus. Both give the same values: the direct walk is what jsonpath-plus
 * does for those paths, minus parsing and result wrapping on every message.
 *
 * Extracted values are not copied: every message body entered the engine through a safe copy (own
 * properties, no prototype), and steps after a transform write copy-on-write, so sharing sub-trees
 * of the input cannot pollute or alias anything a later step changes.
 */
export type CompiledMapping = (input: unknown) => unknown;

type Segment = { key: string } | { index: number } | { wildcard: true };

const SIMPLE_SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\*\]|\.\*|\['([^'\\]*)'\]|\["([^"\\]*)"\])/;

/** Segments of a plain path, or undefined when jsonpath-plus must evaluate it. */
function parsePlain(path: string): Segment[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const out: Segment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    if (rest.startsWith('..')) return undefined;
    const m = SIMPLE_SEGMENT.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) out.push({ key: m[1] });
    else if (m[2] !== undefined) out.push({ index: Number(m[2]) });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ key: (m[3] ?? m[4]) as string });
    else out.push({ wildcard: true });
    rest = rest.slice(m[0].length);
  }
  return out;
}

/** Whether a JSONPath expression selects possibly several values (so the result stays an array). */
export function isMulti(path: string): boolean {
  return /\[\*\]|\.\*|\.\.|\[\?|\[[^\]]*[:,][^\]]*\]/.test(path);
}

function child(v: unknown, seg: Segment, out: unknown[]): void {
  if (v === null || typeof v !== 'object') return;
  if ('wildcard' in seg) {
    if (Array.isArray(v)) for (const x of v) out.push(x);
    else for (const k of Object.keys(v)) out.push((v as Record<string, unknown>)[k]);
    return;
  }
  const key = 'key' in seg ? seg.key : String(seg.index);
  if (Object.hasOwn(v, key)) out.push((v as Record<string, unknown>)[key]);
}

function walker(segments: Segment[], multi: boolean): CompiledMapping {
  // The common single-value path without wildcards: no intermediate arrays.
  if (!multi) {
    const keys = segments.map((s) => ('key' in s ? s.key : String((s as { index: number }).index)));
    return (input) => {
      let cur = input;
      for (const k of keys) {
        if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
        cur = (cur as Record<string, unknown>)[k];
      }
      return cur;
    };
  }
  return (input) => {
    let cur: unknown[] = [input];
    for (const seg of segments) {
      const next: unknown[] = [];
      for (const v of cur) child(v, seg, next);
      cur = next;
    }
    return cur;
  };
}

function libraryPath(path: string): CompiledMapping {
  const multi = isMulti(path);
  return (input) => {
    if (input === null || typeof input !== 'object') return undefined;
    let result: unknown[];
    try {
      result = JSONPath({ path, json: input as object, wrap: true, eval: 'safe' }) as unknown[];
    } catch (err) {
      throw permanent(`JSONPath ${path}: ${(err as Error).message}`);
    }
    // jsonpath-plus may hand back objects it built itself: copy them into own-property trees.
    return multi ? safeCopy(result) : safeCopy(result[0]);
  };
}

function compilePath(path: string): CompiledMapping {
  const segments = parsePlain(path);
  if (!segments) return libraryPath(path);
  const multi = segments.some((s) => 'wildcard' in s);
  const walk = walker(segments, multi);
  return (input) => (input === null || typeof input !== 'object' ? undefined : walk(input));
}

/** Compiles a mapping: "$…" string leaves are JSONPath, other leaves literal. */
export function compileMapping(mapping: unknown): CompiledMapping {
  if (typeof mapping === 'string') {
    if (mapping.startsWith('$')) return compilePath(mapping);
    return () => mapping;
  }
  if (Array.isArray(mapping)) {
    const items = mapping.map(compileMapping);
    return (input) => items.map((f) => f(input));
  }
  if (mapping && typeof mapping === 'object') {
    const fields = Object.keys(mapping).map(
      (k) => [k, compileMapping((mapping as Record<string, unknown>)[k])] as const,
    );
    return (input) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of fields) {
        const v = f(input);
        if (v === undefined) continue;
        // Own data properties even for keys like "__proto__" (mapping keys come from config).
        if (k === '__proto__') setOwn(out, k, v);
        else out[k] = v;
      }
      return out;
    };
  }
  return () => mapping;
}

const compiled = new WeakMap<object, CompiledMapping>();

/** Applies a transform mapping (compiled on first use and kept while the mapping object lives). */
export function applyMapping(mapping: unknown, input: unknown): unknown {
  if (mapping === null || typeof mapping !== 'object') return compileMapping(mapping)(input);
  let f = compiled.get(mapping);
  if (!f) {
    f = compileMapping(mapping);
    compiled.set(mapping, f);
  }
  return f(input);
}
