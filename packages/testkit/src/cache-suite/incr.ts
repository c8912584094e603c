import { ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { type CacheTopicContext, HOUR_MS, text } from './context';

/** CacheProvider contract, atomic counters. Registers its tests in the caller's `describe`. */
export function cacheIncrTests({ ctx, create }: CacheTopicContext): void {
  it('starts a new key from 0 with a default delta of 1', async () => {
    expect(await ctx.cache.incr('c')).toBe(1);
    expect(await ctx.cache.incr('c')).toBe(2);
  });

  it('adds positive and negative deltas, and may go below zero', async () => {
    expect(await ctx.cache.incr('c', 5)).toBe(5);
    expect(await ctx.cache.incr('c', -3)).toBe(2);
    expect(await ctx.cache.incr('c', -10)).toBe(-8);
    expect(await ctx.cache.incr('c', 0)).toBe(-8);
  });

  it('keeps the counter as a decimal string that get and set share', async () => {
    await ctx.cache.incr('c', -4);
    expect(text(await ctx.cache.get('c'))).toBe('-4');
    await ctx.cache.set('d', '41');
    expect(await ctx.cache.incr('d')).toBe(42);
    expect(text(await ctx.cache.get('d'))).toBe('42');
  });

  it('gives a new key the default TTL', async () => {
    const cache = await create({ defaultTtlMs: 60_000 });
    await cache.incr('c');
    const ttl = await cache.ttl('c');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('keeps the remaining TTL of an existing key', async () => {
    await ctx.cache.set('short', '1', 5_000);
    await ctx.cache.set('long', '1', 2 * HOUR_MS);
    expect(await ctx.cache.incr('short')).toBe(2);
    expect(await ctx.cache.incr('long', 3)).toBe(4);
    const short = await ctx.cache.ttl('short');
    expect(short).toBeGreaterThan(0);
    expect(short).toBeLessThanOrEqual(5_000);
    // Longer than the 1 hour default: incr did not reset it.
    expect(await ctx.cache.ttl('long')).toBeGreaterThan(HOUR_MS);
  });

  it('is atomic: 50 concurrent increments each get a distinct result and none is lost', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => ctx.cache.incr('c')));
    expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(text(await ctx.cache.get('c'))).toBe('50');
  });

  it('rejects a value that is not an integer with IN202 and leaves it unchanged', async () => {
    const values = ['abc', '1.5', '', '{"n":1}', '12abc', '1e3'];
    for (const [i, value] of values.entries()) {
      await ctx.cache.set(`v${i}`, value);
      await expectIntegrationError(() => ctx.cache.incr(`v${i}`), ErrorCode.CacheSerializationError);
      expect(text(await ctx.cache.get(`v${i}`)), JSON.stringify(value)).toBe(value);
    }
  });
}
