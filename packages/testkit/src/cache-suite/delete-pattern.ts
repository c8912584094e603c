import type { CacheProvider } from '@fraiseql/core';
import { expect, it } from 'vitest';
import type { CacheTopicContext } from './context';

/** CacheProvider contract, glob deletes. Registers its tests in the caller's `describe`. */
export function cacheDeletePatternTests({ ctx }: CacheTopicContext): void {
  const seed = (cache: CacheProvider, keys: string[]) => Promise.all(keys.map((k) => cache.set(k, `v:${k}`)));
  const present = async (cache: CacheProvider, keys: string[]) => {
    const found: string[] = [];
    for (const k of keys) if (await cache.exists(k)) found.push(k);
    return found;
  };

  it('`*` matches any run of characters (none included), and the whole key must match', async () => {
    const keys = [
      'user:1:profile',
      'user:1:settings',
      'user:1:',
      'user:2:profile',
      'user:10:profile',
      'xuser:1:a',
    ];
    await seed(ctx.cache, keys);
    expect(await ctx.cache.deletePattern('user:1:*')).toBe(3);
    expect(await present(ctx.cache, keys)).toEqual(['user:2:profile', 'user:10:profile', 'xuser:1:a']);
    expect(await ctx.cache.deletePattern('*profile')).toBe(2);
    expect(await present(ctx.cache, keys)).toEqual(['xuser:1:a']);
    expect(await ctx.cache.deletePattern('user')).toBe(0);
    expect(await ctx.cache.deletePattern('*')).toBe(1);
    expect(await present(ctx.cache, keys)).toEqual([]);
  });

  it('`?` matches exactly one character, also a non-ASCII one', async () => {
    const keys = ['u:1:p', 'u:2:p', 'u:10:p', 'u::p', 'u:é:p', 'u:🌍:p'];
    await seed(ctx.cache, keys);
    expect(await ctx.cache.deletePattern('u:?:p')).toBe(4);
    expect(await present(ctx.cache, keys)).toEqual(['u:10:p', 'u::p']);
  });

  it('a backslash escapes `*`, `?` and itself', async () => {
    const keys = ['a*b', 'axb', 'a?b', 'ayb', 'a\\b'];
    await seed(ctx.cache, keys);
    expect(await ctx.cache.deletePattern('a\\*b')).toBe(1);
    expect(await ctx.cache.deletePattern('a\\?b')).toBe(1);
    expect(await ctx.cache.deletePattern('a\\\\b')).toBe(1);
    expect(await present(ctx.cache, keys)).toEqual(['axb', 'ayb']);
  });

  it('`[`, `]`, `^`, `%` and `_` are literal characters', async () => {
    const keys = ['k[ab]', 'ka', 'kb', 'k[^a]', 'kc', '100%', '1000', 'a_b', 'axb'];
    await seed(ctx.cache, keys);
    expect(await ctx.cache.deletePattern('k[ab]')).toBe(1);
    expect(await ctx.cache.deletePattern('k[^a]')).toBe(1);
    expect(await ctx.cache.deletePattern('100%')).toBe(1);
    expect(await ctx.cache.deletePattern('a_b')).toBe(1);
    expect(await present(ctx.cache, keys)).toEqual(['ka', 'kb', 'kc', '1000', 'axb']);
    expect(await ctx.cache.deletePattern('*[*')).toBe(0);
    expect(await ctx.cache.deletePattern('?_?')).toBe(0);
    expect(await ctx.cache.deletePattern('%')).toBe(0);
  });

  it('returns 0 and deletes nothing when nothing matches', async () => {
    await seed(ctx.cache, ['a', 'b']);
    expect(await ctx.cache.deletePattern('c*')).toBe(0);
    expect(await present(ctx.cache, ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('deletes many keys and counts each once', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `bulk:${i}`);
    await seed(ctx.cache, [...keys, 'other:1']);
    expect(await ctx.cache.deletePattern('bulk:*')).toBe(250);
    expect(await ctx.cache.exists('bulk:0')).toBe(false);
    expect(await ctx.cache.exists('bulk:249')).toBe(false);
    expect(await ctx.cache.exists('other:1')).toBe(true);
  });
}
