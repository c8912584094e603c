import type { CacheProvider } from '@fraiseql/core';
import { afterEach, beforeEach, describe } from 'vitest';
import type {
  CacheFactory,
  CacheFactoryOptions,
  CacheSuiteContext,
  CacheSuiteOptions,
  CacheTopicContext,
} from './cache-suite/context';
import { cacheDeleteExistsTests } from './cache-suite/delete-exists';
import { cacheDeletePatternTests } from './cache-suite/delete-pattern';
import { cacheExpiryTests } from './cache-suite/expiry';
import { cacheGetOrSetTests } from './cache-suite/get-or-set';
import { cacheGetSetTests } from './cache-suite/get-set';
import { cacheIncrTests } from './cache-suite/incr';
import { cacheJsonTests } from './cache-suite/json';
import { cacheKeyTests } from './cache-suite/keys';
import { cachePrefixTests } from './cache-suite/prefix';
import { cacheProviderTests } from './cache-suite/provider';
import { cacheTtlTests } from './cache-suite/ttl';
import { cacheValueTests } from './cache-suite/values';
import { uniqueName } from './services';

export type {
  CacheFactory,
  CacheFactoryOptions,
  CacheSuiteContext,
  CacheSuiteOptions,
} from './cache-suite/context';

/**
 * The CacheProvider contract (DESIGN §3.1) as a vitest suite: every semantic rule is at least one
 * test. Each test gets providers with unique prefixes and closes them afterwards, so suites of
 * several backends (and re-runs) can share a server. Nothing is skipped: a backend either passes
 * a rule or the rule's test fails.
 *
 * Each topic lives in `cache-suite/<topic>.ts` and registers its tests inside a `describe` named
 * after it, so a failing test's name says which part of the contract broke.
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

    const topic: CacheTopicContext = { ctx, create, expiryTimeoutMs, expiryTestTimeout };

    describe('provider', () => cacheProviderTests(topic));
    describe('get / set', () => cacheGetSetTests(topic));
    describe('JSON', () => cacheJsonTests(topic));
    describe('delete / exists', () => cacheDeleteExistsTests(topic));
    describe('ttl / expire / default TTL', () => cacheTtlTests(topic));
    describe('expiry', () => cacheExpiryTests(topic));
    describe('incr', () => cacheIncrTests(topic));
    describe('deletePattern', () => cacheDeletePatternTests(topic));
    describe('keys', () => cacheKeyTests(topic));
    describe('values', () => cacheValueTests(topic));
    describe('prefix', () => cachePrefixTests(topic));
    describe('getOrSet', () => cacheGetOrSetTests(topic));

    opts.additionalTests?.(ctx);
  });
}
