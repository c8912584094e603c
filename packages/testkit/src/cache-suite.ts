import { type CacheProvider, ErrorCode, isIntegrationError } from '@fraiseql/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uniqueName } from './services';

/** What `describeCacheProvider` passes to the factory; the factory maps it onto its own options. */
export interface CacheFactoryOptions {
  /** A fresh, unique prefix per provider (e.g. `cache_k3x9…:`), so tests never collide. */
  prefix: string;
  /** Set only by tests of the default TTL; otherwise the provider's own default (1 hour) applies. */
  defaultTtlMs?: number;
  /** Set only by the oversized-value tests; otherwise the provider's own limit applies. */
  maxValueBytes?: number;
}

export type CacheFactory = (opts: CacheFactoryOptions) => Promise<CacheProvider>;

/** Handed to `additionalTests`, so backend-specific tests get the suite's lifecycle for free. */
export interface CacheSuiteContext {
  /** The provider of the running test: created before it with a unique prefix, closed after it. */
  readonly cache: CacheProvider;
  /** The prefix `cache` was created with. */
  readonly prefix: string;
  /** Another provider (unique prefix unless given), closed after the running test. */
  create(opts?: Partial<CacheFactoryOptions>): Promise<CacheProvider>;
}

export interface CacheSuiteOptions {
  /** Registers backend-specific tests inside the suite's `describe`, sharing its lifecycle. */
  additionalTests?: (ctx: CacheSuiteContext) => void;
  /**
   * Longest wait for an entry with a short TTL to disappear. Raise it for a backend whose clock
   * is coarse or remote. Default 10_000.
   */
  expiryTimeoutMs?: number;
}

const SHORT_TTL_MS = 300;
const HOUR_MS = 3_600_000;
/**
 * Slack for comparing our clock with the backend's (ms rounding, a monotonic vs a wall clock).
 * Only used in "not earlier than" checks, which load cannot break.
 */
const CLOCK_SLACK_MS = 30;
const BAD_TTLS: [string, unknown][] = [
  ['0', 0],
  ['-1', -1],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ["the string '5'", '5'],
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function bytes(value: Uint8Array | null): number[] | null {
  return value === null ? null : Array.from(value);
}

function text(value: Uint8Array | null): string | null {
  return value === null ? null : decoder.decode(value);
}

/** Escapes `\`, `*` and `?` so a key can be used as a glob naming exactly itself. */
function globEscape(key: string): string {
  return key.replace(/[\\*?]/g, '\\$&');
}

/** Asserts that `call` returns a promise rejecting with an IntegrationError of `code` (a synchronous throw fails). */
async function expectCode(call: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (err) {
    expect.fail(
      `expected a promise rejecting with ${code}, but the call threw synchronously: ${String(err)}`,
    );
  }
  let value: unknown;
  try {
    value = await pending;
  } catch (err) {
    expect(isIntegrationError(err), `expected an IntegrationError ${code}, got ${String(err)}`).toBe(true);
    expect((err as { code: unknown }).code, String(err)).toBe(code);
    return;
  }
  expect.fail(`expected a rejection with ${code}, but it resolved with ${JSON.stringify(value)}`);
}

/** Polls `check` until it is true; fails (naming `what`) after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The CacheProvider contract (DESIGN §3.1) as a vitest suite: every semantic rule is at least one
 * test. Each test gets providers with unique prefixes and closes them afterwards, so suites of
 * several backends (and re-runs) can share a server. Nothing is skipped: a backend either passes
 * a rule or the rule's test fails.
 *
 * ```ts
 * describeCacheProvider('redis', (opts) => createRedisCache({ url, ...opts }));
 * ```
 */
export function describeCacheProvider(
  name: string,
  factory: CacheFactory,
  opts: CacheSuiteOptions = {},
): void {
  const expiryTimeoutMs = opts.expiryTimeoutMs ?? 10_000;
  const expiryTestTimeout = expiryTimeoutMs + 20_000;

  describe(`${name} cache provider: CacheProvider contract`, () => {
    let opened: CacheProvider[] = [];
    let current: CacheProvider | undefined;
    let currentPrefix = '';

    const create = async (o: Partial<CacheFactoryOptions> = {}): Promise<CacheProvider> => {
      const provider = await factory({ prefix: `${uniqueName('cache')}:`, ...o });
      opened.push(provider);
      return provider;
    };

    const ctx: CacheSuiteContext = {
      get cache() {
        if (!current) throw new Error('ctx.cache is only available inside a test of the suite');
        return current;
      },
      get prefix() {
        return currentPrefix;
      },
      create,
    };

    beforeEach(async () => {
      currentPrefix = `${uniqueName('cache')}:`;
      current = await create({ prefix: currentPrefix });
    });

    afterEach(async () => {
      const toClose = opened;
      opened = [];
      current = undefined;
      await Promise.all(toClose.map((p) => p.close()));
    });

    describe('provider', () => {
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
    });

    describe('get / set', () => {
      it('round-trips bytes exactly, including 0x00 and 0xff', async () => {
        const value = new Uint8Array([0, 1, 2, 127, 128, 254, 255, 0]);
        await ctx.cache.set('bin', value);
        const got = await ctx.cache.get('bin');
        expect(got).toBeInstanceOf(Uint8Array);
        expect(bytes(got)).toEqual(Array.from(value));
      });

      it('stores strings as UTF-8 and returns their bytes', async () => {
        const value = 'héllo wörld ✓ 🌍 日本語';
        await ctx.cache.set('str', value);
        const got = await ctx.cache.get('str');
        expect(bytes(got)).toEqual(Array.from(encoder.encode(value)));
        expect(text(got)).toBe(value);
      });

      it('stores an empty value as empty bytes, not as a miss', async () => {
        await ctx.cache.set('empty', '');
        expect(bytes(await ctx.cache.get('empty'))).toEqual([]);
        expect(await ctx.cache.exists('empty')).toBe(true);
      });

      it('returns null for a key that was never set', async () => {
        expect(await ctx.cache.get('never-set')).toBeNull();
      });

      it('set replaces the value and the TTL of an existing entry', async () => {
        await ctx.cache.set('k', 'first', 60_000);
        await ctx.cache.set('k', 'second');
        expect(text(await ctx.cache.get('k'))).toBe('second');
        // The second set had no TTL, so the default (1 hour) replaced the 60 s one.
        expect(await ctx.cache.ttl('k')).toBeGreaterThan(60_000);
      });

      it("keeps its own copy: mutating the caller's buffer after set, or the result of get, changes nothing", async () => {
        const value = new Uint8Array([1, 2, 3]);
        await ctx.cache.set('copy', value);
        value[0] = 99;
        const got = await ctx.cache.get('copy');
        expect(bytes(got)).toEqual([1, 2, 3]);
        got![1] = 99;
        expect(bytes(await ctx.cache.get('copy'))).toEqual([1, 2, 3]);
      });

      it('accepts a fractional TTL (a positive finite number)', async () => {
        await ctx.cache.set('frac', 'v', 60_000.5);
        const ttl = await ctx.cache.ttl('frac');
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_001);
      });
    });

    describe('JSON', () => {
      it('setJson/getJson round-trip objects, arrays, numbers, strings and booleans', async () => {
        const values: [string, unknown][] = [
          [
            'obj',
            { id: 1, name: 'Alice', tags: ['a', 'b'], nested: { ok: true, none: null }, text: 'é 🌍 "q"' },
          ],
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
        await expectCode(() => ctx.cache.getJson('notjson'), ErrorCode.CacheSerializationError);
        await ctx.cache.set('binary', new Uint8Array([0xff, 0xfe, 0x00]));
        await expectCode(() => ctx.cache.getJson('binary'), ErrorCode.CacheSerializationError);
      });

      it('setJson rejects values JSON cannot represent (BigInt, cycles, undefined) with IN202 and stores nothing', async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await expectCode(() => ctx.cache.setJson('big', { n: 10n }), ErrorCode.CacheSerializationError);
        await expectCode(() => ctx.cache.setJson('cyc', cyclic), ErrorCode.CacheSerializationError);
        await expectCode(() => ctx.cache.setJson('undef', undefined), ErrorCode.CacheSerializationError);
        for (const key of ['big', 'cyc', 'undef']) expect(await ctx.cache.exists(key), key).toBe(false);
      });
    });

    describe('delete / exists', () => {
      it('delete returns true when it removed a live entry and false when there was none', async () => {
        await ctx.cache.set('d', 'v');
        expect(await ctx.cache.delete('d')).toBe(true);
        expect(await ctx.cache.get('d')).toBeNull();
        expect(await ctx.cache.delete('d')).toBe(false);
        expect(await ctx.cache.delete('never-set')).toBe(false);
      });

      it('exists is true for a live entry and false otherwise', async () => {
        expect(await ctx.cache.exists('e')).toBe(false);
        await ctx.cache.set('e', 'v');
        expect(await ctx.cache.exists('e')).toBe(true);
        await ctx.cache.delete('e');
        expect(await ctx.cache.exists('e')).toBe(false);
      });
    });

    describe('ttl / expire / default TTL', () => {
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
          await waitUntil(
            'the entry expired',
            async () => (await cache.get('short')) === null,
            expiryTimeoutMs,
          );
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
          await expectCode(() => ctx.cache.set('s', 'v', bad as number), ErrorCode.InvalidTtl);
          await expectCode(() => ctx.cache.setJson('j', { v: 1 }, bad as number), ErrorCode.InvalidTtl);
          await ctx.cache.set('live', 'v', 60_000);
          await expectCode(() => ctx.cache.expire('live', bad as number), ErrorCode.InvalidTtl);
          let loads = 0;
          await expectCode(
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
    });

    describe('expiry', () => {
      it(
        'an entry expires after its TTL, not before',
        async () => {
          const started = Date.now();
          await ctx.cache.set('e', 'v', SHORT_TTL_MS);
          await waitUntil(
            'the entry expired',
            async () => (await ctx.cache.get('e')) === null,
            expiryTimeoutMs,
          );
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
          await waitUntil(
            'the entry expired',
            async () => !(await ctx.cache.exists('short')),
            expiryTimeoutMs,
          );
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
              !(await ctx.cache.exists('a')) &&
              !(await ctx.cache.exists('b')) &&
              !(await ctx.cache.exists('c')),
            expiryTimeoutMs,
          );
          expect(await ctx.cache.delete('a')).toBe(false);
          expect(await ctx.cache.expire('b', 60_000)).toBe(false);
          expect(await ctx.cache.exists('b')).toBe(false);
          expect(await ctx.cache.getOrSet('c', async () => 'new')).toBe('new');
        },
        expiryTestTimeout,
      );
    });

    describe('incr', () => {
      it('starts a new key from 0 with a default delta of 1', async () => {
        expect(await ctx.cache.incr('c')).toBe(1);
        expect(await ctx.cache.incr('c')).toBe(2);
      });

      it('adds positive and negative deltas, and may go below zero', async () => {
        expect(await ctx.cache.incr('c', 5)).toBe(5);
        expect(await ctx.cache.incr('c', -3)).toBe(2);
        expect(await ctx.cache.incr('c', -10)).toBe(-8);
        expect(await ctx.cache.incr('c', 0)).toBe(-8);
      });

      it('keeps the counter as a decimal string that get and set share', async () => {
        await ctx.cache.incr('c', -4);
        expect(text(await ctx.cache.get('c'))).toBe('-4');
        await ctx.cache.set('d', '41');
        expect(await ctx.cache.incr('d')).toBe(42);
        expect(text(await ctx.cache.get('d'))).toBe('42');
      });

      it('gives a new key the default TTL', async () => {
        const cache = await create({ defaultTtlMs: 60_000 });
        await cache.incr('c');
        const ttl = await cache.ttl('c');
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      });

      it('keeps the remaining TTL of an existing key', async () => {
        await ctx.cache.set('short', '1', 5_000);
        await ctx.cache.set('long', '1', 2 * HOUR_MS);
        expect(await ctx.cache.incr('short')).toBe(2);
        expect(await ctx.cache.incr('long', 3)).toBe(4);
        const short = await ctx.cache.ttl('short');
        expect(short).toBeGreaterThan(0);
        expect(short).toBeLessThanOrEqual(5_000);
        // Longer than the 1 hour default: incr did not reset it.
        expect(await ctx.cache.ttl('long')).toBeGreaterThan(HOUR_MS);
      });

      it('is atomic: 50 concurrent increments each get a distinct result and none is lost', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, () => ctx.cache.incr('c')));
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(text(await ctx.cache.get('c'))).toBe('50');
      });

      it('rejects a value that is not an integer with IN202 and leaves it unchanged', async () => {
        const values = ['abc', '1.5', '', '{"n":1}', '12abc', '1e3'];
        for (const [i, value] of values.entries()) {
          await ctx.cache.set(`v${i}`, value);
          await expectCode(() => ctx.cache.incr(`v${i}`), ErrorCode.CacheSerializationError);
          expect(text(await ctx.cache.get(`v${i}`)), JSON.stringify(value)).toBe(value);
        }
      });
    });

    describe('deletePattern', () => {
      const seed = (cache: CacheProvider, keys: string[]) =>
        Promise.all(keys.map((k) => cache.set(k, `v:${k}`)));
      const present = async (cache: CacheProvider, keys: string[]) => {
        const found: string[] = [];
        for (const k of keys) if (await cache.exists(k)) found.push(k);
        return found;
      };

      it('`*` matches any run of characters (none included), and the whole key must match', async () => {
        const keys = [
          'user:1:profile',
          'user:1:settings',
          'user:1:',
          'user:2:profile',
          'user:10:profile',
          'xuser:1:a',
        ];
        await seed(ctx.cache, keys);
        expect(await ctx.cache.deletePattern('user:1:*')).toBe(3);
        expect(await present(ctx.cache, keys)).toEqual(['user:2:profile', 'user:10:profile', 'xuser:1:a']);
        expect(await ctx.cache.deletePattern('*profile')).toBe(2);
        expect(await present(ctx.cache, keys)).toEqual(['xuser:1:a']);
        expect(await ctx.cache.deletePattern('user')).toBe(0);
        expect(await ctx.cache.deletePattern('*')).toBe(1);
        expect(await present(ctx.cache, keys)).toEqual([]);
      });

      it('`?` matches exactly one character, also a non-ASCII one', async () => {
        const keys = ['u:1:p', 'u:2:p', 'u:10:p', 'u::p', 'u:é:p', 'u:🌍:p'];
        await seed(ctx.cache, keys);
        expect(await ctx.cache.deletePattern('u:?:p')).toBe(4);
        expect(await present(ctx.cache, keys)).toEqual(['u:10:p', 'u::p']);
      });

      it('a backslash escapes `*`, `?` and itself', async () => {
        const keys = ['a*b', 'axb', 'a?b', 'ayb', 'a\\b'];
        await seed(ctx.cache, keys);
        expect(await ctx.cache.deletePattern('a\\*b')).toBe(1);
        expect(await ctx.cache.deletePattern('a\\?b')).toBe(1);
        expect(await ctx.cache.deletePattern('a\\\\b')).toBe(1);
        expect(await present(ctx.cache, keys)).toEqual(['axb', 'ayb']);
      });

      it('`[`, `]`, `^`, `%` and `_` are literal characters', async () => {
        const keys = ['k[ab]', 'ka', 'kb', 'k[^a]', 'kc', '100%', '1000', 'a_b', 'axb'];
        await seed(ctx.cache, keys);
        expect(await ctx.cache.deletePattern('k[ab]')).toBe(1);
        expect(await ctx.cache.deletePattern('k[^a]')).toBe(1);
        expect(await ctx.cache.deletePattern('100%')).toBe(1);
        expect(await ctx.cache.deletePattern('a_b')).toBe(1);
        expect(await present(ctx.cache, keys)).toEqual(['ka', 'kb', 'kc', '1000', 'axb']);
        expect(await ctx.cache.deletePattern('*[*')).toBe(0);
        expect(await ctx.cache.deletePattern('?_?')).toBe(0);
        expect(await ctx.cache.deletePattern('%')).toBe(0);
      });

      it('returns 0 and deletes nothing when nothing matches', async () => {
        await seed(ctx.cache, ['a', 'b']);
        expect(await ctx.cache.deletePattern('c*')).toBe(0);
        expect(await present(ctx.cache, ['a', 'b'])).toEqual(['a', 'b']);
      });

      it('deletes many keys and counts each once', async () => {
        const keys = Array.from({ length: 250 }, (_, i) => `bulk:${i}`);
        await seed(ctx.cache, [...keys, 'other:1']);
        expect(await ctx.cache.deletePattern('bulk:*')).toBe(250);
        expect(await ctx.cache.exists('bulk:0')).toBe(false);
        expect(await ctx.cache.exists('bulk:249')).toBe(false);
        expect(await ctx.cache.exists('other:1')).toBe(true);
      });
    });

    describe('keys', () => {
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
        [
          'getOrSet',
          (c, k) => c.getOrSet(k, async () => expect.fail('load must not run for an invalid key')),
        ],
      ];

      it('rejects an empty or non-string key with IN205 on every operation', async () => {
        for (const [op, call] of keyOps) {
          for (const bad of ['', undefined, 42]) {
            await expectCode(() => call(ctx.cache, bad as string), ErrorCode.InvalidCacheKey).catch((err) => {
              throw new Error(`${op}(${JSON.stringify(bad)}): ${(err as Error).message}`);
            });
          }
        }
      });

      it('rejects a key over 1024 UTF-8 bytes with IN205 on every operation', async () => {
        for (const [op, call] of keyOps) {
          for (const bad of ['k'.repeat(1025), 'é'.repeat(513), '🌍'.repeat(257)]) {
            await expectCode(() => call(ctx.cache, bad), ErrorCode.InvalidCacheKey).catch((err) => {
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
    });

    describe('values', () => {
      it('rejects a value over maxValueBytes with IN203 and stores nothing (set, setJson, getOrSet)', async () => {
        const cache = await create({ maxValueBytes: 1024 });
        await expectCode(() => cache.set('big', new Uint8Array(1025)), ErrorCode.CacheCapacityExceeded);
        await expectCode(() => cache.set('big', 'x'.repeat(1025)), ErrorCode.CacheCapacityExceeded);
        await expectCode(
          () => cache.setJson('big', { s: 'x'.repeat(1024) }),
          ErrorCode.CacheCapacityExceeded,
        );
        await expectCode(
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
        await expectCode(() => cache.set('over', 'é'.repeat(513)), ErrorCode.CacheCapacityExceeded);
        expect(text(await cache.get('ok'))).toBe('é'.repeat(512));
        expect(await cache.exists('over')).toBe(false);
      });
    });

    describe('prefix', () => {
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
    });

    describe('getOrSet', () => {
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
        await expectCode(
          () => ctx.cache.getOrSet('raw', async () => expect.fail('load must not run on a hit')),
          ErrorCode.CacheSerializationError,
        );
      });
    });

    opts.additionalTests?.(ctx);
  });
}
