import { type CacheProvider, fromJson } from '@fraiseql/core';

/** What L1 answered: a fresh value, a value past its freshness that grace may still serve, or nothing. */
export type L1Read =
  | { state: 'fresh'; value: Uint8Array | string }
  | { state: 'stale'; value: Uint8Array | string; servableUntil: number }
  | { state: 'miss' };

const MISS: L1Read = { state: 'miss' };
const HEADER = 16;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The L1 tier over any CacheProvider. Without grace an entry lives in L1 exactly as long as it is
 * fresh, and values are stored as given (a memory L1 keeps strings as text: JSON reads parse once).
 * With grace an entry stays `graceMs` longer than it is fresh, framed with a 16-byte header
 * (fresh-until and written-at, both `Date.now()` ms) so a read can tell fresh from stale, and so
 * entries written before a bus loss can be distrusted without touching them.
 */
export class L1Tier {
  readonly provider: CacheProvider;
  readonly #graceMs: number;
  /** Times the bus was lost (ascending): an entry written before one is only fresh until then. */
  readonly #losses: number[] = [];

  constructor(provider: CacheProvider, graceMs: number) {
    this.provider = provider;
    this.#graceMs = graceMs;
  }

  get graced(): boolean {
    return this.#graceMs > 0;
  }

  /** Stores `value` as fresh for `freshMs`. */
  put(key: string, value: Uint8Array | string, freshMs: number): Promise<void> {
    if (this.#graceMs === 0) return this.provider.set(key, value, freshMs);
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    const framed = new Uint8Array(HEADER + bytes.byteLength);
    const now = Date.now();
    const view = new DataView(framed.buffer);
    view.setFloat64(0, now + freshMs);
    view.setFloat64(8, now);
    framed.set(bytes, HEADER);
    return this.provider.set(key, framed, freshMs + this.#graceMs);
  }

  async read(key: string, trusted: boolean): Promise<L1Read> {
    if (this.#graceMs === 0) {
      if (!trusted) return MISS;
      const v = await this.provider.get(key);
      return v === null ? MISS : { state: 'fresh', value: v };
    }
    const framed = await this.provider.get(key);
    if (framed === null || framed.byteLength < HEADER) return MISS;
    const view = new DataView(framed.buffer, framed.byteOffset, HEADER);
    const writtenAt = view.getFloat64(8);
    let freshUntil = view.getFloat64(0);
    const lostAt = this.#lossAfter(writtenAt);
    if (lostAt !== undefined && lostAt < freshUntil) freshUntil = lostAt;
    const value = framed.subarray(HEADER);
    const now = Date.now();
    if (trusted && now < freshUntil) return { state: 'fresh', value };
    const servableUntil = freshUntil + this.#graceMs;
    return now < servableUntil ? { state: 'stale', value, servableUntil } : MISS;
  }

  /** JSON of a fresh entry; the memory L1 parses its own text without an encode/decode round. */
  async readJson<T>(
    key: string,
    trusted: boolean,
  ): Promise<{ hit: true; value: T } | { hit: false; read: L1Read }> {
    if (this.#graceMs === 0) {
      if (!trusted) return { hit: false, read: MISS };
      const v = await this.provider.getJson<T>(key);
      return v === null ? { hit: false, read: MISS } : { hit: true, value: v };
    }
    const read = await this.read(key, trusted);
    if (read.state === 'fresh') return { hit: true, value: fromJson<T>(read.value, key) };
    return { hit: false, read };
  }

  drop(key: string): Promise<boolean> {
    return this.provider.delete(key);
  }

  dropPattern(pattern: string): Promise<number> {
    return this.provider.deletePattern(pattern);
  }

  /** The bus was lost at `at`: without grace L1 is emptied; with grace its entries become stale. */
  async distrust(at: number): Promise<void> {
    if (this.#graceMs === 0) {
      await this.provider.deletePattern('*');
      return;
    }
    this.#losses.push(at);
    // Bounded: the oldest loss only matters to entries older than every later loss.
    if (this.#losses.length > 256) this.#losses.shift();
  }

  #lossAfter(writtenAt: number): number | undefined {
    const l = this.#losses;
    if (l.length === 0 || l[l.length - 1]! <= writtenAt) return undefined;
    let lo = 0;
    let hi = l.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]! > writtenAt) hi = mid;
      else lo = mid + 1;
    }
    return l[lo];
  }
}

export function textOf(value: Uint8Array | string): string {
  return typeof value === 'string' ? value : decoder.decode(value);
}
