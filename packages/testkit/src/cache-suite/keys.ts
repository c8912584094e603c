import { type CacheProvider, ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { type CacheTopicContext, globEscape, text } from './context';

/** CacheProvider contract, key validation and unusual keys. Registers its tests in the caller's `describe`. */
export function cacheKeyTests({ ctx }: CacheTopicContext): void {
  const keyOps: [string, (cache: CacheProvider, key: string) => Promise<unknown>][] = [
    ['get', (c, k) => c.get(k)],
    ['set', (c, k) => c.set(k, 'v')],
    ['getJson', (c, k) => c.getJson(k)],
    ['setJson', (c, k) => c.setJson(k, { v: 1 })],
    ['delete', (c, k) => c.delete(k)],
    ['exists', (c, k) => c.exists(k)],
    ['ttl', (c, k) => c.ttl(k)],
    ['expire', (c, k) => c.expire(k, 1_000)],
    ['incr', (c, k) => c.incr(k)],
    ['getOrSet', (c, k) => c.getOrSet(k, async () => expect.fail('load must not run for an invalid key'))],
  ];

  it('rejects an empty or non-string key with IN205 on every operation', async () => {
    for (const [op, call] of keyOps) {
      for (const bad of ['', undefined, 42]) {
        await expectIntegrationError(() => call(ctx.cache, bad as string), ErrorCode.InvalidCacheKey).catch(
          (err) => {
            throw new Error(`${op}(${JSON.stringify(bad)}): ${(err as Error).message}`);
          },
        );
      }
    }
  });

  it('rejects a key over 1024 UTF-8 bytes with IN205 on every operation', async () => {
    for (const [op, call] of keyOps) {
      for (const bad of ['k'.repeat(1025), 'é'.repeat(513), '🌍'.repeat(257)]) {
        await expectIntegrationError(() => call(ctx.cache, bad), ErrorCode.InvalidCacheKey).catch((err) => {
          throw new Error(`${op}(${bad.length} UTF-16 units): ${(err as Error).message}`);
        });
      }
    }
  });

  it('accepts keys of exactly 1024 bytes, ASCII and multi-byte', async () => {
    for (const key of ['k'.repeat(1024), 'é'.repeat(512), '🌍'.repeat(256)]) {
      await ctx.cache.set(key, 'max');
      expect(text(await ctx.cache.get(key))).toBe('max');
      expect(await ctx.cache.deletePattern(globEscape(key))).toBe(1);
    }
  });

  it('accepts unicode, whitespace, quotes, backslashes and pattern characters in keys', async () => {
    const keys = [
      'ключ:🌍:é',
      'with space',
      'line\nbreak\ttab',
      `quote'double"`,
      'back\\slash',
      'a*b?c[d]%e_f^g',
      '日本',
    ];
    for (const key of keys) await ctx.cache.set(key, `value of ${key}`);
    for (const key of keys) expect(text(await ctx.cache.get(key)), key).toBe(`value of ${key}`);
    for (const key of keys) expect(await ctx.cache.deletePattern(globEscape(key)), key).toBe(1);
    for (const key of keys) expect(await ctx.cache.exists(key), key).toBe(false);
  });
}
