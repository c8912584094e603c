import { describe, expect, it } from 'vitest';
import {
  assertCacheKey,
  assertEnqueueOptions,
  assertIndexConfig,
  assertIndexName,
  assertQueueName,
  assertTtl,
  fromJson,
  globLiteralPrefix,
  globToLike,
  globToRedisPattern,
  globToRegExp,
  resolveQueueOptions,
  retryBackoffMs,
  SingleFlight,
  toBytes,
  toJson,
  toOwnedBuffer,
} from '../src/index.ts';

describe('glob', () => {
  it('matches *, ? and escapes; everything else is literal', () => {
    const re = globToRegExp('user:*:p?');
    expect(re.test('user:1:p1')).toBe(true);
    expect(re.test('user::pX')).toBe(true);
    expect(re.test('user:1:p12')).toBe(false);
    expect(globToRegExp('a\\*b').test('a*b')).toBe(true);
    expect(globToRegExp('a\\*b').test('axb')).toBe(false);
    expect(globToRegExp('[x]%_.').test('[x]%_.')).toBe(true);
    expect(globToRegExp('[x]').test('x')).toBe(false);
    expect(globToRegExp('?').test('é')).toBe(true);
    expect(globToRegExp('?').test('😀')).toBe(true);
    // Every printable ASCII character is literal outside * ? \ (a `-` once made an invalid u-mode regex).
    const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))
      .filter((c) => !'*?\\'.includes(c))
      .join('');
    expect(globToRegExp(`${ascii}*`).test(`${ascii}tail`)).toBe(true);
    expect(globToRegExp('a-b').test('a-b')).toBe(true);
  });

  it('translates to LIKE and Redis MATCH with escaping', () => {
    expect(globToLike('50%_off*')).toBe('50\\%\\_off%');
    expect(globToLike('a?\\*')).toBe('a_*');
    expect(globToRedisPattern('[a]^*')).toBe('\\[a\\]\\^*');
    expect(globToRedisPattern('x\\?y')).toBe('x\\?y');
    expect(globLiteralPrefix('user:1:*')).toBe('user:1:');
  });
});

describe('validation', () => {
  it('checks keys', () => {
    expect(() => assertCacheKey('')).toThrow(expect.objectContaining({ code: 'IN205' }));
    expect(() => assertCacheKey(42)).toThrow(expect.objectContaining({ code: 'IN205' }));
    expect(() => assertCacheKey('k'.repeat(1025))).toThrow(expect.objectContaining({ code: 'IN205' }));
    expect(() => assertCacheKey('é'.repeat(513))).toThrow(expect.objectContaining({ code: 'IN205' }));
    expect(() => assertCacheKey('k'.repeat(1024))).not.toThrow();
  });

  it('checks TTLs', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      expect(() => assertTtl(bad), String(bad)).toThrow(expect.objectContaining({ code: 'IN204' }));
    }
    expect(assertTtl(1.2)).toBe(2);
  });

  it('gives providers a buffer the caller can no longer change', () => {
    const mine = new Uint8Array([1, 2, 3]);
    const owned = toOwnedBuffer(mine);
    mine[0] = 9;
    expect([...owned]).toEqual([1, 2, 3]);
    expect(toOwnedBuffer('é').toString('utf8')).toBe('é');
    expect(() => toOwnedBuffer('abc', 2)).toThrow(expect.objectContaining({ code: 'IN203' }));
  });

  it('converts values and JSON', () => {
    expect(toBytes('é')).toEqual(new Uint8Array([0xc3, 0xa9]));
    expect(() => toBytes(5)).toThrow(expect.objectContaining({ code: 'IN202' }));
    expect(() => toBytes('abc', 2)).toThrow(expect.objectContaining({ code: 'IN203' }));
    const cyclic: any = {};
    cyclic.self = cyclic;
    expect(() => toJson(cyclic, 'IN308', 'Job data')).toThrow(expect.objectContaining({ code: 'IN308' }));
    expect(() => toJson({ n: 1n }, 'IN308', 'Job data')).toThrow(expect.objectContaining({ code: 'IN308' }));
    expect(() => toJson(undefined, 'IN202', 'Value')).toThrow(expect.objectContaining({ code: 'IN202' }));
    expect(() => fromJson(new TextEncoder().encode('{nope'), 'k')).toThrow(
      expect.objectContaining({ code: 'IN202' }),
    );
    expect(fromJson(new TextEncoder().encode('{"a":1}'), 'k')).toEqual({ a: 1 });
  });

  it('checks queue and index names', () => {
    for (const q of ['', 'a b', 'x;drop', 'q'.repeat(129), 'é'])
      expect(() => assertQueueName(q)).toThrow(expect.objectContaining({ code: 'IN307' }));
    assertQueueName('emails.high:v1-x_y');
    for (const i of ['', 'a.b', 'x'.repeat(65), '"; DROP TABLE users; --'])
      expect(() => assertIndexName(i)).toThrow(expect.objectContaining({ code: 'IN106' }));
    assertIndexName('products_v2-x');
  });

  it('checks enqueue options', () => {
    expect(() => assertEnqueueOptions({ priority: 1.5 })).toThrow(expect.objectContaining({ code: 'IN309' }));
    expect(() => assertEnqueueOptions({ delayMs: -1 })).toThrow(expect.objectContaining({ code: 'IN309' }));
    expect(() => assertEnqueueOptions({ maxRetries: -1 })).toThrow(
      expect.objectContaining({ code: 'IN309' }),
    );
    expect(() => assertEnqueueOptions({ dedupKey: '' })).toThrow(expect.objectContaining({ code: 'IN309' }));
    expect(() =>
      assertEnqueueOptions({ priority: -3, delayMs: 0, maxRetries: 0, timeoutMs: 5, dedupKey: 'k' }),
    ).not.toThrow();
  });
});

describe('queue options', () => {
  it('layers queue over defaults over built-ins', () => {
    const r = resolveQueueOptions(
      {
        queueDefaults: { maxRetries: 5 },
        queues: { emails: { retryDelayMs: 50, rateLimit: { max: 1, perSeconds: 1 } } },
      },
      'emails',
    );
    expect(r).toEqual({
      maxRetries: 5,
      retryDelayMs: 50,
      timeoutMs: 30_000,
      rateLimit: { max: 1, perSeconds: 1 },
    });
    expect(resolveQueueOptions({}, 'x')).toEqual({ maxRetries: 3, retryDelayMs: 1000, timeoutMs: 30_000 });
  });

  it('backs off exponentially with bounded jitter', () => {
    expect(retryBackoffMs(1, 100, () => 0.5)).toBe(100);
    expect(retryBackoffMs(3, 100, () => 0.5)).toBe(400);
    expect(retryBackoffMs(3, 100, () => 0)).toBe(320);
    expect(retryBackoffMs(3, 100, () => 0.999999)).toBeLessThanOrEqual(480);
  });
});

describe('SingleFlight', () => {
  it('runs one call per key at a time and forgets settled calls', async () => {
    const sf = new SingleFlight();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const calls = Array.from({ length: 10 }, () =>
      sf.run('k', async () => {
        runs++;
        await gate;
        return runs;
      }),
    );
    release();
    expect(await Promise.all(calls)).toEqual(Array(10).fill(1));
    expect(sf.size).toBe(0);
    await expect(
      sf.run('k', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await sf.run('k', async () => 'again')).toBe('again');
  });
});

describe('assertIndexConfig', () => {
  it('returns a clean copy and names the bad setting (IN002)', () => {
    expect(
      assertIndexConfig({ searchable: ['name'], filterable: ['price'], primaryKey: 'sku', extra: 1 }),
    ).toEqual({
      searchable: ['name'],
      filterable: ['price'],
      primaryKey: 'sku',
    });
    for (const [bad, field] of [
      [null, 'config'],
      [{}, 'searchable'],
      [{ searchable: ['a b'] }, 'searchable'],
      [{ searchable: ['a'], sortable: 'price' }, 'sortable'],
      [{ searchable: ['a'], primaryKey: 'a.b' }, 'primaryKey'],
    ] as const) {
      expect(() => assertIndexConfig(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'IN002', field }),
      );
    }
  });
});
