import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegrations, type IntegrationsConfig, parseConfig } from '../src/index';
import { byName, fakePackages, rejection } from './integrations-harness';

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
