import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createIntegrations,
  IntegrationError,
  IntegrationService,
  type IntegrationsConfig,
  type ProviderImporter,
  parseConfig,
} from '../src/index';

/** A provider double that records the options its factory received and how often it closed. */
interface FakeProvider {
  name: string;
  options: Record<string, unknown>;
  closed: number;
  healthCheck(): Promise<boolean>;
  close(): Promise<void>;
}

interface Harness {
  importer: ProviderImporter;
  /** Every created provider / client, in creation order. */
  created: FakeProvider[];
  /** Every close, in order, by name. */
  closes: string[];
  loaded: string[];
}

/**
 * Fake provider packages. `fail` names factories that throw; `missing` names packages that are
 * not installed.
 */
function fakePackages(opts: { fail?: Record<string, unknown>; missing?: string[] } = {}): Harness {
  const h: Harness = { importer: async () => undefined, created: [], closes: [], loaded: [] };
  const factory = (fn: string, name: string) => async (options: Record<string, unknown>) => {
    if (opts.fail && fn in opts.fail) throw opts.fail[fn];
    const p: FakeProvider = {
      name,
      options,
      closed: 0,
      healthCheck: async () => true,
      close: async () => {
        p.closed++;
        h.closes.push(name);
      },
    };
    h.created.push(p);
    return p;
  };
  const packages: Record<string, Record<string, unknown>> = {
    '@fraiseql/postgres': { createSqlClient: factory('createSqlClient', 'sql') },
    '@fraiseql/search-meilisearch': {
      createMeilisearchSearch: factory('createMeilisearchSearch', 'meilisearch'),
    },
    '@fraiseql/search-typesense': { createTypesenseSearch: factory('createTypesenseSearch', 'typesense') },
    '@fraiseql/search-algolia': { createAlgoliaSearch: factory('createAlgoliaSearch', 'algolia') },
    '@fraiseql/search-postgres': {
      createPostgresSearch: factory('createPostgresSearch', 'search-postgresql'),
    },
    '@fraiseql/cache-redis': { createRedisCache: factory('createRedisCache', 'redis') },
    '@fraiseql/cache-memory': { createMemoryCache: factory('createMemoryCache', 'memory') },
    '@fraiseql/cache-postgres': { createPostgresCache: factory('createPostgresCache', 'cache-postgresql') },
    '@fraiseql/queue-postgres': { createPostgresQueue: factory('createPostgresQueue', 'queue-postgresql') },
    '@fraiseql/queue-redis': { createRedisQueue: factory('createRedisQueue', 'queue-redis') },
    '@fraiseql/queue-rabbitmq': { createRabbitQueue: factory('createRabbitQueue', 'rabbitmq') },
  };
  h.importer = async (spec) => {
    h.loaded.push(spec);
    if (opts.missing?.includes(spec)) return undefined;
    return packages[spec];
  };
  return h;
}

async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IntegrationError);
  return err as IntegrationError;
}

const byName = (h: Harness, name: string) => h.created.find((p) => p.name === name)!;

describe('createIntegrations: environment', () => {
  it('is IN003 naming the missing variable and the key that names it', async () => {
    const h = fakePackages();
    const config: IntegrationsConfig = { cache: { backend: 'redis', urlEnv: 'APP_REDIS_URL_MISSING' } };
    const err = await rejection(createIntegrations(config, { env: {}, importer: h.importer }));
    expect(err.code).toBe('IN003');
    expect(err.message).toContain('APP_REDIS_URL_MISSING');
    expect(err.message).toContain('cache.url_env');
    // Nothing was loaded or started.
    expect(h.loaded).toEqual([]);
  });

  it('lists every missing variable at once; an empty value counts as missing', async () => {
    const config = parseConfig(`
      [search]
      provider = "meilisearch"
      host_env = "MEILI_HOST_T1"
      api_key_env = "MEILI_KEY_T1"
      [queues]
      backend = "rabbitmq"
      url_env = "AMQP_URL_T1"
    `);
    const err = await rejection(
      createIntegrations(config, {
        env: { MEILI_HOST_T1: 'http://x', MEILI_KEY_T1: '  ' },
        importer: fakePackages().importer,
      }),
    );
    expect(err.code).toBe('IN003');
    expect(err.message).toContain('MEILI_KEY_T1');
    expect(err.message).toContain('AMQP_URL_T1');
    expect(err.message).not.toContain('MEILI_HOST_T1');
  });

  it('reads process.env when no env is given', async () => {
    const h = fakePackages();
    const variable = `FRAISEQL_TEST_REDIS_${process.pid}`;
    process.env[variable] = 'redis://127.0.0.1:6379';
    try {
      const out = await createIntegrations(
        { cache: { backend: 'redis', urlEnv: variable } },
        { importer: h.importer },
      );
      expect(byName(h, 'redis').options.url).toBe('redis://127.0.0.1:6379');
      await out.close();
    } finally {
      delete process.env[variable];
    }
  });

  it('does not ask for DATABASE_URL when no postgresql backend is configured', async () => {
    const h = fakePackages();
    const out = await createIntegrations(
      { cache: { backend: 'memory' }, postgres: { urlEnv: 'UNSET_DATABASE_URL' } },
      { env: {}, importer: h.importer },
    );
    expect(h.loaded).toEqual(['@fraiseql/cache-memory']);
    await out.close();
  });
});

describe('createIntegrations: provider packages', () => {
  const cwd = process.cwd();
  const dirs: string[] = [];
  afterEach(() => {
    process.chdir(cwd);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is IN004 naming the exact pnpm add when the package is not installed (real import)', async () => {
    const err = await rejection(
      createIntegrations(
        { cache: { backend: 'redis', urlEnv: 'REDIS_URL' } },
        { env: { REDIS_URL: 'redis://127.0.0.1:6379' } },
      ),
    );
    expect(err.code).toBe('IN004');
    expect(err.message).toBe(
      'Cache backend "redis" needs @fraiseql/cache-redis: run `pnpm add @fraiseql/cache-redis`',
    );
    expect(err.provider).toBe('redis');
  });

  it('is IN004 for the shared @fraiseql/postgres client too, before any provider starts', async () => {
    const h = fakePackages({ missing: ['@fraiseql/postgres'] });
    const err = await rejection(
      createIntegrations(
        { cache: { backend: 'postgresql' }, search: { provider: 'algolia', appIdEnv: 'A', apiKeyEnv: 'K' } },
        {
          env: { A: 'app', K: 'key' },
          importer: h.importer,
        },
      ),
    );
    expect(err.code).toBe('IN004');
    expect(err.message).toContain('`pnpm add @fraiseql/postgres`');
    expect(h.created).toEqual([]);
  });

  it('loads a provider installed in the application, not next to core (pnpm strict node_modules)', async () => {
    const app = mkdtempSync(join(tmpdir(), 'fraiseql-app-'));
    dirs.push(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const pkg = join(app, 'node_modules', '@fraiseql', 'cache-memory');
    mkdirSync(pkg, { recursive: true });
    // ESM only: no "require" condition, so require.resolve alone cannot find it.
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: '@fraiseql/cache-memory',
        type: 'module',
        exports: { '.': { import: './index.js' } },
      }),
    );
    writeFileSync(
      join(pkg, 'index.js'),
      `export async function createMemoryCache(options) {
        let closed = 0;
        return { name: 'memory', options, get closed() { return closed; }, async healthCheck() { return true; }, async close() { closed++; } };
      }\n`,
    );
    process.chdir(app);
    const out = await createIntegrations(
      { cache: { backend: 'memory', maxEntries: 7, defaultTtlMs: 5000 } },
      { env: {} },
    );
    const cache = (out.cache as unknown as { inner: { name: string; options: unknown; closed: number } })
      .inner;
    expect(cache.name).toBe('memory');
    expect(cache.options).toEqual({ maxEntries: 7, defaultTtlMs: 5000 });
    await out.close();
    expect(cache.closed).toBe(1);
  });

  it('finds @fraiseql/postgres beside the provider that depends on it (pnpm layout)', async () => {
    const app = mkdtempSync(join(tmpdir(), 'fraiseql-app-'));
    dirs.push(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    // node_modules/.pnpm/<id>/node_modules holds the provider and its own dependencies; the app
    // only has a symlink to the provider.
    const store = join(app, 'node_modules', '.pnpm', 'cache-postgres@1', 'node_modules', '@fraiseql');
    const writePkg = (dir: string, name: string, source: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name, type: 'module', exports: { '.': { import: { default: './index.js' } } } }),
      );
      writeFileSync(join(dir, 'index.js'), source);
    };
    writePkg(
      join(store, 'cache-postgres'),
      '@fraiseql/cache-postgres',
      `export async function createPostgresCache(options) {
        return { name: 'postgresql', options, async healthCheck() { return true; }, async close() {} };
      }\n`,
    );
    writePkg(
      join(store, 'postgres'),
      '@fraiseql/postgres',
      `export async function createSqlClient(target) {
        return { fake: 'sql', target, closed: 0, async close() { this.closed++; } };
      }\n`,
    );
    mkdirSync(join(app, 'node_modules', '@fraiseql'), { recursive: true });
    symlinkSync(
      join(store, 'cache-postgres'),
      join(app, 'node_modules', '@fraiseql', 'cache-postgres'),
      'dir',
    );

    const out = await createIntegrations(
      { cache: { backend: 'postgresql', prefix: 'p:' } },
      { env: {}, cwd: app },
    );
    const options = (
      out.cache as unknown as {
        inner: { options: { sql: { fake: string; target: unknown; closed: number } } };
      }
    ).inner.options;
    expect(options).toMatchObject({
      prefix: 'p:',
      sql: { fake: 'sql', target: { embeddedDir: '.fraiseql/pglite' } },
    });
    await out.close();
    expect(options.sql.closed).toBe(1);
  });

  it('does not disguise a broken package as "not installed"', async () => {
    const app = mkdtempSync(join(tmpdir(), 'fraiseql-app-'));
    dirs.push(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    const pkg = join(app, 'node_modules', '@fraiseql', 'cache-memory');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: '@fraiseql/cache-memory', type: 'module', main: 'index.js' }),
    );
    // Installed, but its own dependency is not.
    writeFileSync(
      join(pkg, 'index.js'),
      `import 'fraiseql-dependency-that-is-not-installed';\nexport const x = 1;\n`,
    );
    const err = await rejection(createIntegrations({ cache: { backend: 'memory' } }, { env: {}, cwd: app }));
    expect(err.code).not.toBe('IN004');
    expect(err.message).toContain('@fraiseql/cache-memory');
    expect(err.message).toContain('fraiseql-dependency-that-is-not-installed');
    expect(err.cause).toBeDefined();
  });

  it('treats a package without the factory as unusable, not as missing', async () => {
    const err = await rejection(
      createIntegrations(
        { cache: { backend: 'memory' } },
        { env: {}, importer: async () => ({ somethingElse: () => 1 }) },
      ),
    );
    expect(err.code).toBe('IN502');
    expect(err.message).toContain('createMemoryCache');
  });

  it('rejects a backend name it does not know (configs built in code) with IN002', async () => {
    const h = fakePackages();
    const config = { cache: { backend: 'mongo' } } as unknown as IntegrationsConfig;
    const err = await rejection(createIntegrations(config, { env: {}, importer: h.importer }));
    expect(err.code).toBe('IN002');
    expect(err.message).toContain('cache.backend');
    expect(h.loaded).toEqual([]);
  });
});

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
