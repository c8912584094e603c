import { expect, it } from 'vitest';
import { type CacheTopicContext, CLOCK_SLACK_MS, SHORT_TTL_MS, waitUntil } from './context';

/** CacheProvider contract, entries vanish once their TTL runs out. Registers its tests in the caller's `describe`. */
export function cacheExpiryTests({
  ctx,
  create,
  expiryTimeoutMs,
  expiryTestTimeout,
}: CacheTopicContext): void {
  it(
    'an entry expires after its TTL, not before',
    async () => {
      const started = Date.now();
      await ctx.cache.set('e', 'v', SHORT_TTL_MS);
      await waitUntil('the entry expired', async () => (await ctx.cache.get('e')) === null, expiryTimeoutMs);
      // Whenever the read that saw it gone finished, the TTL had run out: this never flakes under load.
      expect(Date.now() - started).toBeGreaterThanOrEqual(SHORT_TTL_MS - CLOCK_SLACK_MS);
    },
    expiryTestTimeout,
  );

  it(
    'an expired entry is invisible to get, getJson, exists and ttl, while a longer-lived one stays',
    async () => {
      await ctx.cache.setJson('short', { v: 1 }, SHORT_TTL_MS);
      await ctx.cache.setJson('long', { v: 2 }, 60_000);
      await waitUntil('the entry expired', async () => !(await ctx.cache.exists('short')), expiryTimeoutMs);
      expect(await ctx.cache.get('short')).toBeNull();
      expect(await ctx.cache.getJson('short')).toBeNull();
      expect(await ctx.cache.exists('short')).toBe(false);
      expect(await ctx.cache.ttl('short')).toBeNull();
      expect(await ctx.cache.getJson('long')).toEqual({ v: 2 });
    },
    expiryTestTimeout,
  );

  it(
    'incr on an expired entry starts from 0 and gives it the default TTL',
    async () => {
      const cache = await create({ defaultTtlMs: 60_000 });
      await cache.set('n', '41', SHORT_TTL_MS);
      await waitUntil('the entry expired', async () => (await cache.ttl('n')) === null, expiryTimeoutMs);
      expect(await cache.incr('n')).toBe(1);
      const ttl = await cache.ttl('n');
      expect(ttl).toBeGreaterThan(SHORT_TTL_MS);
      expect(ttl).toBeLessThanOrEqual(60_000);
    },
    expiryTestTimeout,
  );

  it(
    'delete and expire on an expired entry return false, and getOrSet loads again',
    async () => {
      await ctx.cache.setJson('a', 'old', SHORT_TTL_MS);
      await ctx.cache.setJson('b', 'old', SHORT_TTL_MS);
      await ctx.cache.setJson('c', 'old', SHORT_TTL_MS);
      await waitUntil(
        'the entries expired',
        async () =>
          !(await ctx.cache.exists('a')) && !(await ctx.cache.exists('b')) && !(await ctx.cache.exists('c')),
        expiryTimeoutMs,
      );
      expect(await ctx.cache.delete('a')).toBe(false);
      expect(await ctx.cache.expire('b', 60_000)).toBe(false);
      expect(await ctx.cache.exists('b')).toBe(false);
      expect(await ctx.cache.getOrSet('c', async () => 'new')).toBe('new');
    },
    expiryTestTimeout,
  );
}
