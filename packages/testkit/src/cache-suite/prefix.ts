import { expect, it } from 'vitest';
import { uniqueName } from '../services';
import { type CacheTopicContext, text } from './context';

/** CacheProvider contract, isolation between prefixes. Registers its tests in the caller's `describe`. */
export function cachePrefixTests({ ctx, create }: CacheTopicContext): void {
  it("two providers with different prefixes never see each other's keys", async () => {
    const a = ctx.cache;
    const b = await create();
    await a.set('shared', 'from a');
    await b.set('shared', 'from b');
    await a.set('only-a', 'a');
    await a.set('counter', '10');
    expect(text(await a.get('shared'))).toBe('from a');
    expect(text(await b.get('shared'))).toBe('from b');
    expect(await b.get('only-a')).toBeNull();
    expect(await b.exists('only-a')).toBe(false);
    expect(await b.ttl('only-a')).toBeNull();
    expect(await b.expire('only-a', 1_000)).toBe(false);
    expect(await b.delete('only-a')).toBe(false);
    expect(await b.incr('counter')).toBe(1);
    expect(await b.getOrSet('only-a', async () => 'b loaded')).toBe('b loaded');
    expect(text(await a.get('only-a'))).toBe('a');
    expect(text(await a.get('counter'))).toBe('10');
    // a's only-a, shared, counter
    expect(await a.deletePattern('*')).toBe(3);
    expect(text(await b.get('shared'))).toBe('from b');
    expect(await b.getJson('only-a')).toBe('b loaded');
    expect(await b.deletePattern('*')).toBe(3);
  });

  it('a prefix is literal: glob or SQL LIKE characters in it do not reach other prefixes', async () => {
    const base = uniqueName('cache');
    const pairs: [string, string][] = [
      [`${base}:p_:`, `${base}:px:`],
      [`${base}:p%:`, `${base}:pzz:`],
      [`${base}:q*:`, `${base}:qzz:`],
      [`${base}:r?:`, `${base}:rz:`],
      [`${base}:[s]:`, `${base}:s:`],
      [`${base}:t\\:`, `${base}:t:`],
    ];
    for (const [specialPrefix, otherPrefix] of pairs) {
      const special = await create({ prefix: specialPrefix });
      const other = await create({ prefix: otherPrefix });
      await special.set('k', 'special');
      await other.set('k', 'other');
      expect(await special.deletePattern('*'), specialPrefix).toBe(1);
      expect(text(await other.get('k')), `${specialPrefix} reached ${otherPrefix}`).toBe('other');
      expect(await other.deletePattern('*'), otherPrefix).toBe(1);
    }
  });
}
