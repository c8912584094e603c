import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { describeCacheProvider } from '../../testkit/src/cache-suite.ts';
import { MockCacheProvider } from '../src/cache.ts';

const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

describeCacheProvider('mock', async (opts) => new MockCacheProvider(opts));

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrationError);
    return err as IntegrationError;
  }
  return expect.fail('expected the promise to reject');
}

// Ported from the Rust-era design, section 6.2 "Cache Provider Tests".
describe('MockCacheProvider (ported 6.2 cache provider tests)', () => {
  it('get/set records a hit', async () => {
    const cache = new MockCacheProvider();
    await cache.set('key1', 'value1');
    expect(text(await cache.get('key1'))).toBe('value1');
    cache.assertCacheHit('key1');
  });

  it('a get of a missing key records a miss', async () => {
    const cache = new MockCacheProvider();
    expect(await cache.get('nonexistent')).toBeNull();
    cache.assertCacheMiss('nonexistent');
  });

  it('records the TTL a set was given', async () => {
    const cache = new MockCacheProvider();
    await cache.set('key1', 'value1', 60_000);
    expect(cache.recordedOperations()).toContainEqual({ type: 'set', key: 'key1', ttlMs: 60_000 });
  });

  it('deletePattern removes the matching seeded entries only', async () => {
    const cache = new MockCacheProvider()
      .withEntry('user:1:profile', 'data1')
      .withEntry('user:1:settings', 'data2')
      .withEntry('user:2:profile', 'data3');
    expect(await cache.deletePattern('user:1:*')).toBe(2);
    expect(await cache.get('user:1:profile')).toBeNull();
    expect(await cache.get('user:2:profile')).not.toBeNull();
  });

  it('incr adds deltas, negative ones included', async () => {
    const cache = new MockCacheProvider();
    expect(await cache.incr('counter', 1)).toBe(1);
    expect(await cache.incr('counter', 5)).toBe(6);
    expect(await cache.incr('counter', -3)).toBe(3);
  });

  it('round-trips JSON', async () => {
    const cache = new MockCacheProvider();
    const user = { id: 1, name: 'Alice' };
    await cache.setJson('user:1', user);
    expect(await cache.getJson<typeof user>('user:1')).toEqual(user);
  });
});

describe('MockCacheProvider recording', () => {
  it("is named 'mock' and healthy", async () => {
    const cache = new MockCacheProvider();
    expect(cache.name).toBe('mock');
    expect(await cache.healthCheck()).toBe(true);
  });

  it('records every operation in call order with its outcome', async () => {
    const cache = new MockCacheProvider();
    await cache.set('a', '1');
    await cache.get('a');
    await cache.get('b');
    await cache.setJson('j', { v: 1 }, 5_000);
    await cache.getJson('j');
    await cache.exists('a');
    await cache.ttl('missing');
    await cache.expire('a', 10_000);
    await cache.incr('a', 2);
    await cache.delete('a');
    await cache.deletePattern('j*');
    await cache.getOrSet('g', async () => 'loaded', { ttlMs: 1_000 });
    await cache.getOrSet('g', async () => 'never');
    expect(cache.recordedOperations()).toEqual([
      { type: 'set', key: 'a' },
      { type: 'get', key: 'a', hit: true },
      { type: 'get', key: 'b', hit: false },
      { type: 'setJson', key: 'j', ttlMs: 5_000 },
      { type: 'getJson', key: 'j', hit: true },
      { type: 'exists', key: 'a', result: true },
      { type: 'ttl', key: 'missing', result: null },
      { type: 'expire', key: 'a', ttlMs: 10_000, result: true },
      { type: 'incr', key: 'a', delta: 2, result: 3 },
      { type: 'delete', key: 'a', result: true },
      { type: 'deletePattern', pattern: 'j*', result: 1 },
      { type: 'getOrSet', key: 'g', ttlMs: 1_000, hit: false },
      { type: 'getOrSet', key: 'g', hit: true },
    ]);
  });

  it('records failed operations with their error message', async () => {
    const cache = new MockCacheProvider();
    await cache.set('x', 'not a number');
    await expect(cache.incr('x')).rejects.toMatchObject({ code: ErrorCode.CacheSerializationError });
    await expect(cache.set('', 'v')).rejects.toMatchObject({ code: ErrorCode.InvalidCacheKey });
    const ops = cache.recordedOperations();
    expect(ops[1]).toMatchObject({
      type: 'incr',
      key: 'x',
      error: expect.stringContaining('not an integer'),
    });
    expect(ops[2]).toMatchObject({ type: 'set', key: '', error: expect.stringContaining('non-empty') });
  });

  it('records one getOrSet per caller, each saying whether it was a hit', async () => {
    const cache = new MockCacheProvider();
    await Promise.all([1, 2, 3].map(() => cache.getOrSet('k', async () => 'v')));
    await cache.getOrSet('k', async () => 'other');
    expect(cache.recordedOperations().map((op) => [op.type, op.hit])).toEqual([
      ['getOrSet', false],
      ['getOrSet', false],
      ['getOrSet', false],
      ['getOrSet', true],
    ]);
  });

  it('hands out copies: changing the returned list or its entries does not change the record', async () => {
    const cache = new MockCacheProvider();
    await cache.get('k');
    const ops = cache.recordedOperations();
    ops[0]!.hit = true;
    ops.push({ type: 'get', key: 'k', hit: true });
    expect(() => cache.assertCacheHit('k')).toThrow(/Expected a cache hit/);
    expect(cache.recordedOperations()).toHaveLength(1);
  });

  it('clearRecordedOperations forgets the record but not the entries', async () => {
    const cache = new MockCacheProvider();
    await cache.set('k', 'v');
    await cache.get('k');
    cache.clearRecordedOperations();
    expect(cache.recordedOperations()).toEqual([]);
    expect(() => cache.assertCacheHit('k')).toThrow();
    expect(text(await cache.get('k'))).toBe('v');
  });

  it('withEntry seeds entries without recording them, is chainable, validates the key and takes a TTL', async () => {
    const clock = manualClock();
    const cache = new MockCacheProvider({ now: clock.now })
      .withEntry('a', 'A')
      .withEntry('b', new Uint8Array([1, 2]), 1_000);
    expect(cache.recordedOperations()).toEqual([]);
    expect(text(await cache.get('a'))).toBe('A');
    expect(await cache.ttl('a')).toBe(3_600_000);
    expect(await cache.ttl('b')).toBe(1_000);
    expect(() => cache.withEntry('', 'v')).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidCacheKey }),
    );
    expect(() => cache.withEntry('c', 'v', 0)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidTtl }),
    );
  });
});

describe('MockCacheProvider assertion helpers', () => {
  it('assertCacheHit throws, listing every recorded operation, when the key was only missed', async () => {
    const cache = new MockCacheProvider();
    await cache.get('wanted');
    await cache.set('other', 'v', 60_000);
    let message = '';
    try {
      cache.assertCacheHit('wanted');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('Expected a cache hit for "wanted"');
    expect(message).toContain('{"type":"get","key":"wanted","hit":false}');
    expect(message).toContain('{"type":"set","key":"other","ttlMs":60000}');
  });

  it('assertCacheMiss throws, listing every recorded operation, when the key was only hit', async () => {
    const cache = new MockCacheProvider().withEntry('present', 'v');
    await cache.getJson('present').catch(() => undefined);
    await cache.get('present');
    expect(() => cache.assertCacheMiss('present')).toThrow(
      /Expected a cache miss for "present"[\s\S]*"type":"get","key":"present","hit":true/,
    );
  });

  it('says so when nothing was recorded', () => {
    const cache = new MockCacheProvider();
    expect(() => cache.assertCacheHit('k')).toThrow(/no operations were recorded/);
    expect(() => cache.assertCacheMiss('k')).toThrow(/no operations were recorded/);
  });

  it('counts getJson and getOrSet reads, but not exists', async () => {
    const cache = new MockCacheProvider();
    await cache.exists('e');
    expect(() => cache.assertCacheMiss('e')).toThrow();
    await cache.getJson('j');
    cache.assertCacheMiss('j');
    await cache.setJson('j', 1);
    await cache.getJson('j');
    cache.assertCacheHit('j');
    await cache.getOrSet('g', async () => 1);
    cache.assertCacheMiss('g');
    await cache.getOrSet('g', async () => 2);
    cache.assertCacheHit('g');
  });

  it('does not count a read that failed', async () => {
    const cache = new MockCacheProvider().failWith('down');
    await cache.get('k').catch(() => undefined);
    expect(() => cache.assertCacheMiss('k')).toThrow(/"error":"down"/);
  });
});

describe('MockCacheProvider failure injection', () => {
  const operations: [string, (c: MockCacheProvider) => Promise<unknown>][] = [
    ['get', (c) => c.get('k')],
    ['set', (c) => c.set('k', 'v')],
    ['getJson', (c) => c.getJson('k')],
    ['setJson', (c) => c.setJson('k', 1)],
    ['delete', (c) => c.delete('k')],
    ['deletePattern', (c) => c.deletePattern('*')],
    ['exists', (c) => c.exists('k')],
    ['ttl', (c) => c.ttl('k')],
    ['expire', (c) => c.expire('k', 1_000)],
    ['incr', (c) => c.incr('k')],
    ['getOrSet', (c) => c.getOrSet('k', async () => 1)],
  ];

  it('failWith makes every operation reject with IN201 from provider mock, carrying the message', async () => {
    const cache = new MockCacheProvider().withEntry('k', '1');
    expect(cache.failWith('Connection refused')).toBe(cache);
    expect(cache.shouldFail).toBe(true);
    for (const [op, call] of operations) {
      const err = await rejection(call(cache));
      expect(err.code, op).toBe(ErrorCode.CacheConnectionFailed);
      expect(err.provider, op).toBe('mock');
      expect(err.message, op).toBe('Connection refused');
      expect(err.isTransient, op).toBe(true);
    }
    expect(await cache.healthCheck()).toBe(false);
  });

  it('shouldFail = true fails operations with a default message and healthCheck resolves false', async () => {
    const cache = new MockCacheProvider();
    cache.shouldFail = true;
    expect(await cache.healthCheck()).toBe(false);
    const err = await rejection(cache.get('k'));
    expect(err.code).toBe(ErrorCode.CacheConnectionFailed);
    expect(err.message).toBe('Mock cache failure');
  });

  it('shouldFail = false recovers with the entries intact and forgets the failWith message', async () => {
    const cache = new MockCacheProvider();
    await cache.set('k', 'v');
    cache.failWith('boom');
    await expect(cache.set('k', 'changed')).rejects.toThrow('boom');
    cache.shouldFail = false;
    expect(await cache.healthCheck()).toBe(true);
    expect(text(await cache.get('k'))).toBe('v');
    cache.shouldFail = true;
    await expect(cache.get('k')).rejects.toThrow('Mock cache failure');
  });

  it('checks the input before the injected failure, like a real client', async () => {
    const cache = new MockCacheProvider().failWith('down');
    await expect(cache.get('')).rejects.toMatchObject({ code: ErrorCode.InvalidCacheKey });
    await expect(cache.set('k', 'v', -1)).rejects.toMatchObject({ code: ErrorCode.InvalidTtl });
  });

  it('getOrSet does not run load while failing', async () => {
    const cache = new MockCacheProvider().failWith('down');
    let loads = 0;
    await expect(
      cache.getOrSet('k', async () => {
        loads++;
        return 1;
      }),
    ).rejects.toMatchObject({ code: ErrorCode.CacheConnectionFailed });
    expect(loads).toBe(0);
  });

  it('a failure injected while load runs rejects getOrSet and caches nothing', async () => {
    const cache = new MockCacheProvider();
    const pending = cache.getOrSet('k', async () => {
      cache.failWith('went down mid-load');
      return 1;
    });
    await expect(pending).rejects.toThrow('went down mid-load');
    cache.shouldFail = false;
    expect(await cache.exists('k')).toBe(false);
  });

  it('after close, healthCheck is false, operations reject with IN201 and close stays idempotent', async () => {
    const cache = new MockCacheProvider();
    await cache.close();
    await cache.close();
    expect(await cache.healthCheck()).toBe(false);
    await expect(cache.get('k')).rejects.toMatchObject({
      code: ErrorCode.CacheConnectionFailed,
      provider: 'mock',
    });
  });
});

describe('MockCacheProvider clock and options', () => {
  it('expires entries by the injected clock', async () => {
    const clock = manualClock();
    const cache = new MockCacheProvider({ now: clock.now });
    await cache.set('k', 'v', 1_000);
    clock.advance(999);
    expect(await cache.ttl('k')).toBe(1);
    expect(text(await cache.get('k'))).toBe('v');
    clock.advance(1);
    expect(await cache.get('k')).toBeNull();
    expect(await cache.ttl('k')).toBeNull();
    expect(await cache.incr('k')).toBe(1);
    expect(await cache.ttl('k')).toBe(3_600_000);
  });

  it('incr keeps the remaining TTL of an existing entry', async () => {
    const clock = manualClock();
    const cache = new MockCacheProvider({ now: clock.now, defaultTtlMs: 10_000 });
    await cache.incr('n');
    clock.advance(4_000);
    await cache.incr('n', 10);
    expect(await cache.ttl('n')).toBe(6_000);
    expect(text(await cache.get('n'))).toBe('11');
  });

  it('deletePattern counts only live entries', async () => {
    const clock = manualClock();
    const cache = new MockCacheProvider({ now: clock.now })
      .withEntry('a:1', 'v', 100)
      .withEntry('a:2', 'v', 10_000);
    clock.advance(100);
    expect(await cache.deletePattern('a:*')).toBe(1);
  });

  it('rejects a bad incr delta with IN202', async () => {
    const cache = new MockCacheProvider();
    await expect(cache.incr('k', 1.5)).rejects.toMatchObject({
      code: ErrorCode.CacheSerializationError,
      field: 'delta',
    });
    await expect(cache.incr('k', Number.NaN)).rejects.toMatchObject({
      code: ErrorCode.CacheSerializationError,
    });
    expect(await cache.exists('k')).toBe(false);
  });

  it('rejects an incr that would leave the safe integer range', async () => {
    const cache = new MockCacheProvider().withEntry('k', String(Number.MAX_SAFE_INTEGER));
    await expect(cache.incr('k')).rejects.toMatchObject({ code: ErrorCode.CacheSerializationError });
    expect(text(await cache.get('k'))).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('validates its options', () => {
    expect(() => new MockCacheProvider({ defaultTtlMs: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidTtl }),
    );
    expect(() => new MockCacheProvider({ maxValueBytes: -1 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
    const cache = new MockCacheProvider({ prefix: 'app:', defaultTtlMs: 5_000, maxValueBytes: 10 });
    expect(cache.prefix).toBe('app:');
    expect(cache.defaultTtlMs).toBe(5_000);
    expect(cache.maxValueBytes).toBe(10);
  });
});
