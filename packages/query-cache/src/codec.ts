import { createHash } from 'node:crypto';

/** A parameter the key cannot represent exactly (functions, symbols, objects with `toPostgres`, …). */
export class UnsupportedParam extends Error {}

/**
 * A typed, unambiguous encoding of one parameter: `1`, `'1'`, `1n`, `true` and a Date all encode
 * differently, so two calls whose parameters `pg` would send differently never share a key.
 */
function encodeParam(v: unknown, depth = 0): string {
  if (depth > 32) throw new UnsupportedParam('nested too deep');
  if (v === null) return 'N';
  if (v === undefined) return 'U';
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${Object.is(v, -0) ? '-0' : String(v)}`;
    case 'bigint':
      return `b${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'object':
      break;
    default:
      throw new UnsupportedParam(typeof v);
  }
  if (v instanceof Date) return `d${Number.isNaN(v.getTime()) ? 'NaN' : v.toISOString()}`;
  if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return `a${v.length}[${v.map((e) => encodeParam(e, depth + 1)).join(',')}]`;
  const proto = Object.getPrototypeOf(v);
  if (
    (proto !== Object.prototype && proto !== null) ||
    typeof (v as { toPostgres?: unknown }).toPostgres === 'function'
  ) {
    throw new UnsupportedParam('object');
  }
  // pg sends a plain object as JSON.stringify(object): key order matters to it, so keep it here.
  return `o${JSON.stringify(v)}`;
}

/** sha256 over the canonical statement (a digest already) and the typed parameters. */
export function cacheKey(canonical: string, params: readonly unknown[]): string {
  const h = createHash('sha256');
  h.update(canonical);
  h.update('\u0000');
  h.update(String(params.length));
  for (const p of params) {
    h.update('\u0000');
    h.update(encodeParam(p));
  }
  return h.digest('base64url');
}

// Rows keep their JS types through the cache: Date, bigint, Uint8Array and non-finite numbers are
// tagged; a plain object that happens to have a "$"-key is wrapped so it cannot be mistaken for a tag.
function tag(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'bigint':
      return { $b: value.toString() };
    case 'number':
      return Number.isFinite(value) ? value : { $n: String(value) };
    case 'object':
      break;
    default:
      return value;
  }
  if (value instanceof Date) return { $d: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Uint8Array) {
    return { $x: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) return value.map(tag);
  const out: Record<string, unknown> = {};
  let dollar = false;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) dollar = true;
    // `out.__proto__ = …` would set the prototype, not a key.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: tag(v), enumerable: true, writable: true, configurable: true });
    else out[k] = tag(v);
  }
  return dollar ? { $o: out } : out;
}

// In place: JSON.parse made fresh objects, so only tagged values are replaced (a key named
// "__proto__" is an own data property of a parsed object, so assigning to it stays own).
function untag(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && typeof v === 'object') value[i] = untag(v);
    }
    return value;
  }
  const o = value as Record<string, unknown>;
  if ('$b' in o) return BigInt(o.$b as string);
  if ('$n' in o) return Number(o.$n);
  if ('$d' in o) return new Date(o.$d === null ? Number.NaN : (o.$d as string));
  if ('$x' in o) {
    const b = Buffer.from(o.$x as string, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const src = '$o' in o ? (o.$o as Record<string, unknown>) : o;
  for (const k in src) {
    const v = src[k];
    if (v !== null && typeof v === 'object') src[k] = untag(v);
  }
  return src;
}

/** Serializes a query result for the cache. */
export function encodeResult(result: { rows: unknown[]; rowCount: number }): string {
  return JSON.stringify({ c: result.rowCount, r: tag(result.rows) });
}

/** The inverse of {@link encodeResult}; throws on a malformed entry. */
export function decodeResult<R>(bytes: Uint8Array): { rows: R[]; rowCount: number } {
  const parsed = JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  ) as {
    c: number;
    r: unknown[];
  };
  if (!parsed || !Array.isArray(parsed.r) || typeof parsed.c !== 'number') throw new Error('malformed entry');
  return { rows: untag(parsed.r) as R[], rowCount: parsed.c };
}
