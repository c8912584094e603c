import { ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { type CacheTopicContext, encoder, text } from './context';

/** CacheProvider contract, getJson / setJson and serialization errors. Registers its tests in the caller's `describe`. */
export function cacheJsonTests({ ctx }: CacheTopicContext): void {
  it('setJson/getJson round-trip objects, arrays, numbers, strings and booleans', async () => {
    const values: [string, unknown][] = [
      ['obj', { id: 1, name: 'Alice', tags: ['a', 'b'], nested: { ok: true, none: null }, text: 'é 🌍 "q"' }],
      ['arr', [1, 'two', { three: 3 }, [4], null]],
      ['num', 42.5],
      ['neg', -7],
      ['zero', 0],
      ['str', 'just a string'],
      ['emptystr', ''],
      ['bool', false],
    ];
    for (const [key, value] of values) await ctx.cache.setJson(key, value);
    for (const [key, value] of values) expect(await ctx.cache.getJson(key), key).toEqual(value);
  });

  it('getJson returns null for a missing key', async () => {
    expect(await ctx.cache.getJson('missing')).toBeNull();
  });

  it('setJson stores UTF-8 JSON text that get reads, and getJson reads JSON written with set', async () => {
    const value = { name: 'Zoë', n: 3 };
    await ctx.cache.setJson('a', value);
    expect(JSON.parse(text(await ctx.cache.get('a'))!)).toEqual(value);
    await ctx.cache.set('b', JSON.stringify(value));
    expect(await ctx.cache.getJson('b')).toEqual(value);
    await ctx.cache.set('c', encoder.encode('[1,2,3]'));
    expect(await ctx.cache.getJson('c')).toEqual([1, 2, 3]);
  });

  it('getJson on bytes that are not JSON rejects with IN202', async () => {
    await ctx.cache.set('notjson', 'this is {not json');
    await expectIntegrationError(() => ctx.cache.getJson('notjson'), ErrorCode.CacheSerializationError);
    await ctx.cache.set('binary', new Uint8Array([0xff, 0xfe, 0x00]));
    await expectIntegrationError(() => ctx.cache.getJson('binary'), ErrorCode.CacheSerializationError);
  });

  it('setJson rejects values JSON cannot represent (BigInt, cycles, undefined) with IN202 and stores nothing', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectIntegrationError(
      () => ctx.cache.setJson('big', { n: 10n }),
      ErrorCode.CacheSerializationError,
    );
    await expectIntegrationError(() => ctx.cache.setJson('cyc', cyclic), ErrorCode.CacheSerializationError);
    await expectIntegrationError(
      () => ctx.cache.setJson('undef', undefined),
      ErrorCode.CacheSerializationError,
    );
    for (const key of ['big', 'cyc', 'undef']) expect(await ctx.cache.exists(key), key).toBe(false);
  });
}
