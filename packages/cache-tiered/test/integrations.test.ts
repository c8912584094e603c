import {
  ConfigError,
  createIntegrations,
  ErrorCode,
  type ProviderImporter,
  parseConfig,
} from '@fraiseql/core';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';

const redis = await checkService('redis');
const pg = await checkService('postgres');

/** Loads this package from source and every other provider normally. */
const importer: ProviderImporter = async (name) =>
  name === '@fraiseql/cache-tiered' ? await import('../src/index.ts') : await import(name);

const toml = (l2: string, extra = '') => `
[cache]
backend = "tiered"
prefix = "${uniqueName('ti')}:"
default_ttl = 60
l1_ttl_ms = 5000
grace_ms = 1000
channel = "${uniqueName('ti')}"
${extra}
[cache.l1]
backend = "memory"
max_entries = 1000
[cache.l2]
${l2}
`;

describe('[cache] backend = "tiered" in the config', () => {
  it('parses tiers, bus and timings, and hands the shared settings down to both tiers', () => {
    const config = parseConfig(toml('backend = "redis"\nurl_env = "REDIS_URL"', 'bus = "redis"'));
    expect(config.cache).toMatchObject({
      backend: 'tiered',
      bus: 'redis',
      l1TtlMs: 5000,
      graceMs: 1000,
      defaultTtlMs: 60_000,
      l1: { backend: 'memory', maxEntries: 1000, defaultTtlMs: 60_000 },
      l2: { backend: 'redis', urlEnv: 'REDIS_URL', defaultTtlMs: 60_000 },
    });
  });

  it.each([
    [
      'an L1 that is not memory',
      toml('backend = "redis"\nurl_env = "REDIS_URL"').replace('backend = "memory"', 'backend = "redis"'),
      'cache.l1',
    ],
    ['an L2 that is memory', toml('backend = "memory"'), 'cache.l2.backend'],
    ['an unknown bus', toml('backend = "redis"\nurl_env = "REDIS_URL"', 'bus = "kafka"'), 'cache.bus'],
    [
      'a Redis bus over Postgres without bus_url_env',
      toml('backend = "postgresql"', 'bus = "redis"'),
      'cache.bus_url_env',
    ],
    ['an unknown key', toml('backend = "redis"\nurl_env = "REDIS_URL"', 'l1_tll_ms = 5'), 'cache.l1_tll_ms'],
  ])('refuses %s with IN002 naming the path', (_label, text, path) => {
    let err: unknown;
    try {
      parseConfig(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ErrorCode.InvalidConfiguration);
    expect((err as ConfigError).issues.map((i) => i.path).join()).toContain(path);
  });

  it.skipIf(!redis.available)(
    'createIntegrations builds memory L1 + Redis L2 + Redis bus; health covers it',
    async () => {
      const config = parseConfig(toml('backend = "redis"\nurl_env = "REDIS_URL"', 'bus = "redis"'));
      const integrations = await createIntegrations(config, { env: { REDIS_URL: redis.url }, importer });
      try {
        const cache = integrations.cache!;
        expect(cache.name).toBe('tiered');
        await cache.setJson('k', { v: 1 });
        expect(await cache.getJson('k')).toEqual({ v: 1 });
        expect(await cache.ttl('k')).toBeLessThanOrEqual(60_000);
        expect(await integrations.service.healthCheck()).toEqual({ 'cache:tiered': true });
        const inner = (cache as unknown as { inner: { health(): Promise<unknown> } }).inner;
        expect(await inner.health()).toMatchObject({
          l1: { name: 'memory', healthy: true },
          l2: { name: 'redis', healthy: true },
          bus: { kind: 'redis', connected: true },
        });
        await cache.deletePattern('*');
      } finally {
        await integrations.close();
      }
    },
  );

  it.skipIf(!pg.available)(
    'createIntegrations builds a PostgreSQL L2 + bus on the shared [postgres] client',
    async () => {
      const schema = uniqueName('ti');
      const config = parseConfig(
        `${toml(`backend = "postgresql"\ntable = "${schema}.cache"`, 'bus = "postgresql"')}\n[postgres]\nurl_env = "DATABASE_URL"\n`.replace(
          'channel = ',
          `lease_ms = 2000\nchannel = `,
        ),
      );
      const integrations = await createIntegrations(config, { env: { DATABASE_URL: pg.url }, importer });
      try {
        const cache = integrations.cache!;
        expect(await cache.getOrSet('k', async () => 'loaded')).toBe('loaded');
        expect(await cache.getJson('k')).toBe('loaded');
        const inner = (cache as unknown as { inner: { health(): Promise<unknown> } }).inner;
        expect(await inner.health()).toMatchObject({
          l2: { name: 'postgresql', healthy: true },
          bus: { kind: 'postgresql', connected: true },
        });
      } finally {
        await integrations.close();
        const sql = integrations.sql as { exec?: (s: string) => Promise<void> } | undefined;
        void sql;
      }
      // Clean up the test's schema (and the lease table's default schema rows are per channel).
      const { createSqlClient } = await import('@fraiseql/postgres');
      const sql = await createSqlClient({ url: pg.url });
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.close();
    },
  );
});
