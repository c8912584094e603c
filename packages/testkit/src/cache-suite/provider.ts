import { expect, it } from 'vitest';
import type { CacheTopicContext } from './context';

/** CacheProvider contract, name, health check and close. Registers its tests in the caller's `describe`. */
export function cacheProviderTests({ ctx, create }: CacheTopicContext): void {
  it('has a name and a healthy backend answers healthCheck with true', async () => {
    expect(typeof ctx.cache.name).toBe('string');
    expect(ctx.cache.name.length).toBeGreaterThan(0);
    expect(await ctx.cache.healthCheck()).toBe(true);
  });

  it('close is idempotent', async () => {
    const cache = await create();
    await cache.set('k', 'v');
    await cache.close();
    await expect(cache.close()).resolves.toBeUndefined();
  });
}
