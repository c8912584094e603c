import { expect, it } from 'vitest';
import type { CacheTopicContext } from './context';

/** CacheProvider contract, delete and exists. Registers its tests in the caller's `describe`. */
export function cacheDeleteExistsTests({ ctx }: CacheTopicContext): void {
  it('delete returns true when it removed a live entry and false when there was none', async () => {
    await ctx.cache.set('d', 'v');
    expect(await ctx.cache.delete('d')).toBe(true);
    expect(await ctx.cache.get('d')).toBeNull();
    expect(await ctx.cache.delete('d')).toBe(false);
    expect(await ctx.cache.delete('never-set')).toBe(false);
  });

  it('exists is true for a live entry and false otherwise', async () => {
    expect(await ctx.cache.exists('e')).toBe(false);
    await ctx.cache.set('e', 'v');
    expect(await ctx.cache.exists('e')).toBe(true);
    await ctx.cache.delete('e');
    expect(await ctx.cache.exists('e')).toBe(false);
  });
}
