import { ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { type CacheTopicContext, deferred, sleep } from './context';

/** CacheProvider contract, read-through loads and single flight. Registers its tests in the caller's `describe`. */
export function cacheGetOrSetTests({ ctx, create }: CacheTopicContext): void {
  it('on a miss runs load once, caches its value and returns it', async () => {
    let loads = 0;
    const value = await ctx.cache.getOrSet('g', async () => {
      loads++;
      return { id: 7, name: 'loaded' };
    });
    expect(value).toEqual({ id: 7, name: 'loaded' });
    expect(loads).toBe(1);
    expect(await ctx.cache.getJson('g')).toEqual({ id: 7, name: 'loaded' });
  });

  it('on a hit returns the cached value without calling load', async () => {
    await ctx.cache.setJson('g', { cached: true });
    const value = await ctx.cache.getOrSet('g', async () => expect.fail('load must not run on a hit'));
    expect(value).toEqual({ cached: true });
  });

  it('20 concurrent callers on a miss run load once and all get its value', async () => {
    const gate = deferred();
    let loads = 0;
    const load = async () => {
      loads++;
      await gate.promise;
      return { n: 1 };
    };
    const calls = Array.from({ length: 20 }, () => ctx.cache.getOrSet('sf', load));
    // Give every caller time to reach the flight before the load finishes.
    await sleep(100);
    gate.resolve();
    const results = await Promise.all(calls);
    expect(loads).toBe(1);
    for (const r of results) expect(r).toEqual({ n: 1 });
    expect(await ctx.cache.getJson('sf')).toEqual({ n: 1 });
  });

  it('a rejected load reaches every concurrent waiter and is not cached; a later call loads again', async () => {
    const gate = deferred();
    const boom = new Error('load failed');
    let loads = 0;
    const failing = async (): Promise<string> => {
      loads++;
      await gate.promise;
      throw boom;
    };
    const calls = Array.from({ length: 20 }, () => ctx.cache.getOrSet('sf', failing));
    const settled = Promise.allSettled(calls);
    await sleep(100);
    gate.resolve();
    const outcomes = await settled;
    expect(loads).toBe(1);
    for (const o of outcomes) expect(o).toEqual({ status: 'rejected', reason: boom });
    expect(await ctx.cache.exists('sf')).toBe(false);

    let secondLoads = 0;
    const value = await ctx.cache.getOrSet('sf', async () => {
      secondLoads++;
      return 'second';
    });
    expect(value).toBe('second');
    expect(secondLoads).toBe(1);
    expect(await ctx.cache.getJson('sf')).toBe('second');
  });

  it('stores the loaded value with opts.ttlMs, else with the default TTL', async () => {
    const cache = await create({ defaultTtlMs: 60_000 });
    await cache.getOrSet('with', async () => 1, { ttlMs: 5_000 });
    await cache.getOrSet('without', async () => 2);
    const withTtl = await cache.ttl('with');
    expect(withTtl).toBeGreaterThan(0);
    expect(withTtl).toBeLessThanOrEqual(5_000);
    const withoutTtl = await cache.ttl('without');
    expect(withoutTtl).toBeGreaterThan(5_000);
    expect(withoutTtl).toBeLessThanOrEqual(60_000);
  });

  it('returns a load result of undefined without caching it', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return undefined;
    };
    expect(await ctx.cache.getOrSet('u', load)).toBeUndefined();
    expect(await ctx.cache.exists('u')).toBe(false);
    expect(await ctx.cache.getOrSet('u', load)).toBeUndefined();
    expect(loads).toBe(2);
  });

  it('a cached value that is not JSON rejects with IN202 without calling load', async () => {
    await ctx.cache.set('raw', 'not json {');
    await expectIntegrationError(
      () => ctx.cache.getOrSet('raw', async () => expect.fail('load must not run on a hit')),
      ErrorCode.CacheSerializationError,
    );
  });
}
