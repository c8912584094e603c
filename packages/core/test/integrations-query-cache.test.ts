import { describe, expect, it } from 'vitest';
import { createIntegrations, parseConfig } from '../src/index';
import { byName, fakePackages, rejection } from './integrations-harness';

const base = `
[postgres]
url_env = "DATABASE_URL"
[cache]
backend = "memory"
`;

describe('createIntegrations: [query_cache]', () => {
  it('builds the query cache over the shared client and the [cache] provider, and closes it before the client', async () => {
    const h = fakePackages();
    const config = parseConfig(
      `${base}[query_cache]\nttl_seconds = 30\nmode = "explicit"\ninvalidation = "database"\ntables = ["orders", "app.customers"]\nprefix = "qc:"\n`,
      { env: {} },
    );
    const i = await createIntegrations(config, {
      importer: h.importer,
      env: { DATABASE_URL: 'postgres://db/app' },
    });
    const qc = byName(h, 'query-cache');
    expect(i.queryCache).toBe(qc);
    expect(qc.options).toMatchObject({
      sql: byName(h, 'sql'),
      defaultTtlMs: 30_000,
      mode: 'explicit',
      invalidation: 'database',
      prefix: 'qc:',
    });
    expect(qc.options.cache).toBe(i.cache);
    expect(qc.installed).toEqual(['orders', 'app.customers']);
    await i.close();
    expect(h.closes.slice(-2)).toEqual(['query-cache', 'sql']);
  });

  it('is off with enabled = false, and needs a [cache] section', async () => {
    const h = fakePackages();
    const config = parseConfig(`${base}[query_cache]\nenabled = false\n`, { env: {} });
    const i = await createIntegrations(config, {
      importer: h.importer,
      env: { DATABASE_URL: 'postgres://db/app' },
    });
    expect(i.queryCache).toBeUndefined();
    expect(h.loaded).not.toContain('@fraiseql/query-cache');
    await i.close();
    expect(() => parseConfig('[postgres]\nurl_env = "DATABASE_URL"\n[query_cache]\n', { env: {} })).toThrow(
      /query_cache: the query cache stores its entries in the \[cache\] backend/,
    );
    expect(() => parseConfig(`${base}[query_cache]\ntables = ["orders"]\n`, { env: {} })).toThrow(
      /invalidation = "database"/,
    );
  });

  it('refuses a [postgres] URL that is not PostgreSQL (IN002) before anything connects', async () => {
    const h = fakePackages();
    const config = parseConfig(`${base}[query_cache]\n`, { env: {} });
    for (const url of ['mysql://root@db/app', 'sqlite:///tmp/x.db', 'db.example.com:5432']) {
      const err = await rejection(
        createIntegrations(config, { importer: h.importer, env: { DATABASE_URL: url } }),
      );
      expect(err.code).toBe('IN002');
      expect(err.message).toContain('DATABASE_URL (named by postgres.url_env) is not a PostgreSQL URL');
      expect(err.message).not.toContain('root@db');
    }
    expect(h.created).toEqual([]);
  });
});
