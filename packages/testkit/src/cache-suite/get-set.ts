import { expect, it } from 'vitest';
import { bytes, type CacheTopicContext, encoder, text } from './context';

/** CacheProvider contract, raw bytes and strings: get, set, copies. Registers its tests in the caller's `describe`. */
export function cacheGetSetTests({ ctx }: CacheTopicContext): void {
  it('round-trips bytes exactly, including 0x00 and 0xff', async () => {
    const value = new Uint8Array([0, 1, 2, 127, 128, 254, 255, 0]);
    await ctx.cache.set('bin', value);
    const got = await ctx.cache.get('bin');
    expect(got).toBeInstanceOf(Uint8Array);
    expect(bytes(got)).toEqual(Array.from(value));
  });

  it('stores strings as UTF-8 and returns their bytes', async () => {
    const value = 'héllo wörld ✓ 🌍 日本語';
    await ctx.cache.set('str', value);
    const got = await ctx.cache.get('str');
    expect(bytes(got)).toEqual(Array.from(encoder.encode(value)));
    expect(text(got)).toBe(value);
  });

  it('stores an empty value as empty bytes, not as a miss', async () => {
    await ctx.cache.set('empty', '');
    expect(bytes(await ctx.cache.get('empty'))).toEqual([]);
    expect(await ctx.cache.exists('empty')).toBe(true);
  });

  it('returns null for a key that was never set', async () => {
    expect(await ctx.cache.get('never-set')).toBeNull();
  });

  it('set replaces the value and the TTL of an existing entry', async () => {
    await ctx.cache.set('k', 'first', 60_000);
    await ctx.cache.set('k', 'second');
    expect(text(await ctx.cache.get('k'))).toBe('second');
    // The second set had no TTL, so the default (1 hour) replaced the 60 s one.
    expect(await ctx.cache.ttl('k')).toBeGreaterThan(60_000);
  });

  it("keeps its own copy: mutating the caller's buffer after set, or the result of get, changes nothing", async () => {
    const value = new Uint8Array([1, 2, 3]);
    await ctx.cache.set('copy', value);
    value[0] = 99;
    const got = await ctx.cache.get('copy');
    expect(bytes(got)).toEqual([1, 2, 3]);
    got![1] = 99;
    expect(bytes(await ctx.cache.get('copy'))).toEqual([1, 2, 3]);
  });

  it('accepts a fractional TTL (a positive finite number)', async () => {
    await ctx.cache.set('frac', 'v', 60_000.5);
    const ttl = await ctx.cache.ttl('frac');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_001);
  });
}
