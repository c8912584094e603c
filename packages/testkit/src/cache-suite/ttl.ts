import { ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import {
  BAD_TTLS,
  type CacheTopicContext,
  CLOCK_SLACK_MS,
  HOUR_MS,
  SHORT_TTL_MS,
  text,
  waitUntil,
} from './context';

/** CacheProvider contract, ttl, expire, the default TTL and invalid TTLs. Registers its tests in the caller's `describe`. */
export function cacheTtlTests({ ctx, create, expiryTimeoutMs, expiryTestTimeout }: CacheTopicContext): void {
  it('ttl is the remaining time in ms, and null for an absent key', async () => {
    const started = Date.now();
    await ctx.cache.set('t', 'v', 10_000);
    const ttl = await ctx.cache.ttl('t');
    const elapsed = Date.now() - started;
    expect(ttl).toBeLessThanOrEqual(10_000);
    // Remaining time cannot be below the TTL minus the time that passed since before set.
    expect(ttl).toBeGreaterThanOrEqual(10_000 - elapsed - CLOCK_SLACK_MS);
    expect(await ctx.cache.ttl('absent')).toBeNull();
  });

  it('set and setJson without ttlMs use the configured default TTL', async () => {
    const cache = await create({ defaultTtlMs: 60_000 });
    await cache.set('s', 'v');
    await cache.setJson('j', { v: 1 });
    for (const key of ['s', 'j']) {
      const ttl = await cache.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(60_000);
    }
  });

  it('without a configured default, an entry set without ttlMs still has a TTL of at most 1 hour', async () => {
    await ctx.cache.set('d', 'v');
    const ttl = await ctx.cache.ttl('d');
    expect(ttl).toBeGreaterThan(HOUR_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(HOUR_MS);
  });

  it(
    'an entry set without ttlMs really expires after the default TTL',
    async () => {
      const cache = await create({ defaultTtlMs: SHORT_TTL_MS });
      const started = Date.now();
      await cache.set('short', 'v');
      await waitUntil('the entry expired', async () => (await cache.get('short')) === null, expiryTimeoutMs);
      expect(Date.now() - started).toBeGreaterThanOrEqual(SHORT_TTL_MS - CLOCK_SLACK_MS);
    },
    expiryTestTimeout,
  );

  it('expire sets a new TTL (shorter or longer) on a live entry and returns true', async () => {
    await ctx.cache.set('x', 'v', 60_000);
    expect(await ctx.cache.expire('x', 5_000)).toBe(true);
    const shorter = await ctx.cache.ttl('x');
    expect(shorter).toBeGreaterThan(0);
    expect(shorter).toBeLessThanOrEqual(5_000);
    expect(await ctx.cache.expire('x', 2 * HOUR_MS)).toBe(true);
    expect(await ctx.cache.ttl('x')).toBeGreaterThan(HOUR_MS);
    expect(text(await ctx.cache.get('x'))).toBe('v');
  });

  it('expire returns false for an absent key and does not create it', async () => {
    expect(await ctx.cache.expire('nope', 5_000)).toBe(false);
    expect(await ctx.cache.exists('nope')).toBe(false);
  });

  it(
    'expire with a short TTL makes the entry vanish',
    async () => {
      await ctx.cache.set('x', 'v', 60_000);
      expect(await ctx.cache.expire('x', SHORT_TTL_MS)).toBe(true);
      await waitUntil('the entry expired', async () => !(await ctx.cache.exists('x')), expiryTimeoutMs);
      expect(await ctx.cache.get('x')).toBeNull();
    },
    expiryTestTimeout,
  );

  for (const [label, bad] of BAD_TTLS) {
    it(`rejects ttlMs ${label} with IN204 on set, setJson, expire and getOrSet, and writes nothing`, async () => {
      await expectIntegrationError(() => ctx.cache.set('s', 'v', bad as number), ErrorCode.InvalidTtl);
      await expectIntegrationError(
        () => ctx.cache.setJson('j', { v: 1 }, bad as number),
        ErrorCode.InvalidTtl,
      );
      await ctx.cache.set('live', 'v', 60_000);
      await expectIntegrationError(() => ctx.cache.expire('live', bad as number), ErrorCode.InvalidTtl);
      let loads = 0;
      await expectIntegrationError(
        () =>
          ctx.cache.getOrSet(
            'g',
            async () => {
              loads++;
              return 1;
            },
            { ttlMs: bad as number },
          ),
        ErrorCode.InvalidTtl,
      );
      expect(loads).toBe(0);
      for (const key of ['s', 'j', 'g']) expect(await ctx.cache.exists(key), key).toBe(false);
      // The failed expire left the entry's TTL alone.
      const ttl = await ctx.cache.ttl('live');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });
  }
}
