import { ErrorCode } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { bytes, type CacheTopicContext, text } from './context';

/** CacheProvider contract, the value size limit. Registers its tests in the caller's `describe`. */
export function cacheValueTests({ create }: CacheTopicContext): void {
  it('rejects a value over maxValueBytes with IN203 and stores nothing (set, setJson, getOrSet)', async () => {
    const cache = await create({ maxValueBytes: 1024 });
    await expectIntegrationError(
      () => cache.set('big', new Uint8Array(1025)),
      ErrorCode.CacheCapacityExceeded,
    );
    await expectIntegrationError(() => cache.set('big', 'x'.repeat(1025)), ErrorCode.CacheCapacityExceeded);
    await expectIntegrationError(
      () => cache.setJson('big', { s: 'x'.repeat(1024) }),
      ErrorCode.CacheCapacityExceeded,
    );
    await expectIntegrationError(
      () => cache.getOrSet('big', async () => 'x'.repeat(2048)),
      ErrorCode.CacheCapacityExceeded,
    );
    expect(await cache.exists('big')).toBe(false);
  });

  it('accepts a value of exactly maxValueBytes', async () => {
    const cache = await create({ maxValueBytes: 1024 });
    await cache.set('bin', new Uint8Array(1024).fill(7));
    expect(bytes(await cache.get('bin'))).toEqual(Array(1024).fill(7));
    await cache.setJson('json', 'x'.repeat(1022)); // 1022 characters + 2 quotes
    expect(await cache.getJson('json')).toBe('x'.repeat(1022));
  });

  it('measures string values in UTF-8 bytes', async () => {
    const cache = await create({ maxValueBytes: 1024 });
    await cache.set('ok', 'é'.repeat(512));
    await expectIntegrationError(() => cache.set('over', 'é'.repeat(513)), ErrorCode.CacheCapacityExceeded);
    expect(text(await cache.get('ok'))).toBe('é'.repeat(512));
    expect(await cache.exists('over')).toBe(false);
  });
}
