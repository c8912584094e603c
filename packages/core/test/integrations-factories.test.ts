import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIntegrations, IntegrationError, IntegrationService, parseConfig } from '../src/index';
import { byName, fakePackages, rejection } from './integrations-harness';

describe('createIntegrations: factories', () => {
  it('maps the TOML onto factory options (ms units) and shares one SqlClient', async () => {
    const h = fakePackages();
    const config = parseConfig(`
      [search]
      provider = "postgresql"
      default_language = "simple"
      [search.indexes.products]
      searchable = ["name"]
      [cache]
      backend = "postgresql"
      prefix = "c:"
      default_ttl = 90
      [queues]
      backend = "postgresql"
      schema = "jobs"
      concurrency = 3
      poll_interval_ms = 250
      visibility_timeout_ms = 10000
      [queues.defaults]
      max_retries = 1
      [queues.queues.emails]
      retry_delay_ms = 5000
      rate_limit = { max = 10, per_seconds = 1 }
      [postgres]
      url_env = "TEST_DATABASE_URL"
    `);
    const url = 'postgres://postgres@127.0.0.1:5432/test';
    const out = await createIntegrations(config, { env: { TEST_DATABASE_URL: url }, importer: h.importer });
    const sql = byName(h, 'sql');
    expect(h.created.filter((p) => p.name === 'sql')).toHaveLength(1);
    expect(sql.options).toEqual({ url });
    expect(byName(h, 'search-postgresql').options).toEqual({
      sql,
      defaultLanguage: 'simple',
      indexes: { products: { searchable: ['name'] } },
    });
    expect(byName(h, 'cache-postgresql').options).toEqual({ sql, prefix: 'c:', defaultTtlMs: 90_000 });
    expect(byName(h, 'queue-postgresql').options).toEqual({
      sql,
      schema: 'jobs',
      concurrency: 3,
      pollIntervalMs: 250,
      visibilityTimeoutMs: 10_000,
      queueDefaults: { maxRetries: 1 },
      queues: { emails: { retryDelayMs: 5000, rateLimit: { max: 10, perSeconds: 1 } } },
    });
    // Each provider comes back wrapped (SLO timing, timeout, breaker, retries); `inner` is the backend's own.
    expect((out.search as any).inner).toBe(byName(h, 'search-postgresql'));
    expect((out.cache as any).inner).toBe(byName(h, 'cache-postgresql'));
    expect((out.queue as any).inner).toBe(byName(h, 'queue-postgresql'));
    await out.close();
    // Providers first, the client they share last.
    expect(h.closes.at(-1)).toBe('sql');
    expect(h.closes.sort()).toEqual(['cache-postgresql', 'queue-postgresql', 'search-postgresql', 'sql']);
  });

  it('uses embedded PGlite under .fraiseql/pglite when [postgres] names no database', async () => {
    const h = fakePackages();
    const out = await createIntegrations(
      { queues: { backend: 'postgresql' } },
      { env: {}, importer: h.importer },
    );
    expect(byName(h, 'sql').options).toEqual({ embeddedDir: '.fraiseql/pglite' });
    await out.close();
    const h2 = fakePackages();
    const out2 = await createIntegrations(
      { queues: { backend: 'postgresql' }, postgres: { embeddedDir: '/tmp/elsewhere' } },
      { env: {}, importer: h2.importer },
    );
    expect(byName(h2, 'sql').options).toEqual({ embeddedDir: '/tmp/elsewhere' });
    await out2.close();
  });

  it('passes the search engines their hosts and keys from the environment', async () => {
    const env = {
      MEILI_HOST: 'localhost:7700',
      MEILI_KEY: 'mk',
      ALGOLIA_APP: 'APPID',
      ALGOLIA_KEY: 'ak',
      REDIS_URL_T: 'redis://127.0.0.1:6379/2',
      AMQP_URL_T: 'amqp://guest:guest@127.0.0.1:5672',
    };
    const h = fakePackages();
    const a = await createIntegrations(
      parseConfig(`
        [search]
        provider = "meilisearch"
        host_env = "MEILI_HOST"
        api_key_env = "MEILI_KEY"
        [cache]
        backend = "redis"
        url_env = "REDIS_URL_T"
        cluster = true
        default_ttl = 1
        [queues]
        backend = "rabbitmq"
        url_env = "AMQP_URL_T"
        concurrency = 4
      `),
      { env, importer: h.importer },
    );
    expect(byName(h, 'meilisearch').options).toEqual({ host: 'http://localhost:7700', apiKey: 'mk' });
    expect(byName(h, 'redis').options).toEqual({ url: env.REDIS_URL_T, cluster: true, defaultTtlMs: 1000 });
    expect(byName(h, 'rabbitmq').options).toEqual({ url: env.AMQP_URL_T, concurrency: 4 });
    await a.close();

    const b = await createIntegrations(
      {
        search: {
          provider: 'algolia',
          appIdEnv: 'ALGOLIA_APP',
          apiKeyEnv: 'ALGOLIA_KEY',
          indexes: { p: { searchable: ['n'] } },
        },
      },
      { env, importer: h.importer },
    );
    expect(byName(h, 'algolia').options).toEqual({
      appId: 'APPID',
      apiKey: 'ak',
      indexes: { p: { searchable: ['n'] } },
    });
    await b.close();
  });

  it.each([
    ['localhost', {}, { host: 'localhost', port: 8108, protocol: 'http' }],
    ['localhost:9108', {}, { host: 'localhost', port: 9108, protocol: 'http' }],
    [
      'ts.internal',
      { port: 443, protocol: 'https' as const },
      { host: 'ts.internal', port: 443, protocol: 'https' },
    ],
    ['https://xyz.a1.typesense.net', {}, { host: 'xyz.a1.typesense.net', port: 443, protocol: 'https' }],
    ['http://127.0.0.1:8109/', { port: 1 }, { host: '127.0.0.1', port: 8109, protocol: 'http' }],
    ['http://[::1]', {}, { host: '::1', port: 8108, protocol: 'http' }],
  ])('gives Typesense a node for host %s', async (host, extra, node) => {
    const h = fakePackages();
    const out = await createIntegrations(
      { search: { provider: 'typesense', hostEnv: 'TS_HOST', apiKeyEnv: 'TS_KEY', ...extra } },
      { env: { TS_HOST: host, TS_KEY: 'tk' }, importer: h.importer },
    );
    expect(byName(h, 'typesense').options).toEqual({ nodes: [node], apiKey: 'tk' });
    await out.close();
  });

  it('gives Elasticsearch its node and the optional API key from the environment', async () => {
    const h = fakePackages();
    const withKey = await createIntegrations(
      parseConfig(`
        [search]
        provider = "elasticsearch"
        url_env = "ES_URL"
        api_key_env = "ES_KEY"
        [search.indexes.products]
        searchable = ["name"]
        filterable = ["category"]
      `),
      { env: { ES_URL: 'localhost:9200', ES_KEY: 'ZXM6a2V5' }, importer: h.importer },
    );
    expect(byName(h, 'elasticsearch').options).toEqual({
      node: 'http://localhost:9200',
      apiKey: 'ZXM6a2V5',
      indexes: { products: { searchable: ['name'], filterable: ['category'] } },
    });
    await withKey.close();
    const h2 = fakePackages();
    const noKey = await createIntegrations(
      { search: { provider: 'elasticsearch', urlEnv: 'ES_URL' } },
      { env: { ES_URL: 'https://es.internal:9243' }, importer: h2.importer },
    );
    expect(byName(h2, 'elasticsearch').options).toEqual({ node: 'https://es.internal:9243' });
    await noKey.close();
    const missing = await rejection(
      createIntegrations(
        { search: { provider: 'elasticsearch', urlEnv: 'ES_URL', apiKeyEnv: 'ES_KEY' } },
        { env: { ES_URL: 'http://x:9200' }, importer: fakePackages().importer },
      ),
    );
    expect(missing.code).toBe('IN003');
    expect(missing.message).toContain('ES_KEY');
  });

  it('is IN002 naming the variable when the Typesense host is not usable', async () => {
    const h = fakePackages();
    const err = await rejection(
      createIntegrations(
        { search: { provider: 'typesense', hostEnv: 'TS_HOST', apiKeyEnv: 'TS_KEY' } },
        { env: { TS_HOST: 'ftp://files', TS_KEY: 'tk' }, importer: h.importer },
      ),
    );
    expect(err.code).toBe('IN002');
    expect(err.message).toContain('TS_HOST');
    expect(h.created).toEqual([]);
  });

  it('closes what it created when a later factory fails, and rethrows an IntegrationError', async () => {
    const h = fakePackages({ fail: { createPostgresQueue: new Error('boom: password=hunter2 rejected') } });
    const err = await rejection(
      createIntegrations(
        { cache: { backend: 'memory' }, queues: { backend: 'postgresql' } },
        { env: {}, importer: h.importer },
      ),
    );
    expect(err.code).toBe('IN502');
    expect(err.message).toContain('boom');
    expect(err.message).not.toContain('hunter2');
    expect((err.cause as Error).message).toContain('boom');
    expect(byName(h, 'memory').closed).toBe(1);
    expect(byName(h, 'sql').closed).toBe(1);
  });

  it('passes an IntegrationError from a factory through unchanged', async () => {
    const original = new IntegrationError('IN403', 'redis said no', { provider: 'redis' });
    const h = fakePackages({ fail: { createRedisCache: original } });
    const err = await rejection(
      createIntegrations(
        { cache: { backend: 'redis', urlEnv: 'R' } },
        { env: { R: 'redis://x' }, importer: h.importer },
      ),
    );
    expect(err).toBe(original);
  });

  it('closes the SqlClient when the first provider fails', async () => {
    const h = fakePackages({ fail: { createPostgresSearch: new Error('no tsvector') } });
    await rejection(
      createIntegrations({ search: { provider: 'postgresql' } }, { env: {}, importer: h.importer }),
    );
    expect(byName(h, 'sql').closed).toBe(1);
  });

  it('builds an IntegrationService over the providers, on the given registry; close() is idempotent', async () => {
    const h = fakePackages();
    const registry = new Registry();
    const out = await createIntegrations(
      { cache: { backend: 'memory' }, queues: { backend: 'postgresql' } },
      { env: {}, importer: h.importer, registry },
    );
    expect(out.service).toBeInstanceOf(IntegrationService);
    expect(out.search).toBeUndefined();
    expect(await out.service.healthCheck()).toEqual({ 'cache:memory': true, 'queue:queue-postgresql': true });
    expect((await registry.getMetricsAsJSON()).length).toBeGreaterThan(0);
    await Promise.all([out.close(), out.close()]);
    await out.close();
    expect(h.created.map((p) => [p.name, p.closed])).toEqual([
      ['sql', 1],
      ['memory', 1],
      ['queue-postgresql', 1],
    ]);
  });

  it('builds nothing for an empty config', async () => {
    const h = fakePackages();
    const out = await createIntegrations({}, { env: {}, importer: h.importer });
    expect(h.loaded).toEqual([]);
    expect(await out.service.healthCheck()).toEqual({});
    await out.close();
  });
});
