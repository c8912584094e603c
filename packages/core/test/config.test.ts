import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  embeddedDefaults,
  IntegrationError,
  type IntegrationsConfig,
  isEmptyConfig,
  loadConfig,
  parseConfig,
} from '../src/index';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const read = (name: string) => readFileSync(fixture(name), 'utf8');

/** Runs `fn` and returns what it threw (failing the test when it did not throw). */
function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('parseConfig', () => {
  it('parses the example of DESIGN §5 into the camelCased config, default_ttl converted to ms', () => {
    const expected: IntegrationsConfig = {
      search: {
        provider: 'meilisearch',
        hostEnv: 'MEILISEARCH_HOST',
        apiKeyEnv: 'MEILISEARCH_API_KEY',
        indexes: {
          products: {
            searchable: ['name', 'description'],
            filterable: ['category', 'price'],
            sortable: ['price'],
          },
        },
      },
      cache: {
        backend: 'redis',
        urlEnv: 'REDIS_URL',
        prefix: 'fraiseql:cache:',
        defaultTtlMs: 3_600_000,
        cluster: false,
      },
      queues: {
        backend: 'postgresql',
        schema: '_system',
        concurrency: 5,
        pollIntervalMs: 1000,
        queues: {
          emails: {
            maxRetries: 3,
            retryDelayMs: 5000,
            timeoutMs: 30_000,
            rateLimit: { max: 10, perSeconds: 1 },
          },
        },
      },
      postgres: { urlEnv: 'DATABASE_URL', embeddedDir: '.fraiseql/pglite' },
    };
    expect(parseConfig(read('design-example.toml'))).toEqual(expected);
  });

  it('takes the typesense extras, queue defaults, dotted queue names and a resilience table', () => {
    const config = parseConfig(read('typesense.toml'));
    expect(config.search).toEqual({
      provider: 'typesense',
      hostEnv: 'TYPESENSE_HOST',
      apiKeyEnv: 'TYPESENSE_API_KEY',
      port: 8108,
      protocol: 'https',
      indexes: { books: { searchable: ['title'], primaryKey: 'isbn' } },
      collections: {
        books: {
          fields: [
            { name: 'title', type: 'string' },
            { name: 'year', type: 'int32', facet: true },
          ],
        },
      },
      resilience: { timeoutMs: 2000, breaker: { threshold: 5 } },
    });
    expect(config.cache).toEqual({
      backend: 'memory',
      maxEntries: 500,
      maxSizeBytes: 1_048_576,
      defaultTtlMs: 60_000,
    });
    expect(config.queues).toEqual({
      backend: 'rabbitmq',
      urlEnv: 'AMQP_URL',
      visibilityTimeoutMs: 60_000,
      defaults: { maxRetries: 5 },
      queues: { 'mail.send': { timeoutMs: 1000 } },
    });
  });

  it('takes the postgres search, postgres cache, redis queue and algolia keys', () => {
    const pg = parseConfig(`
      [search]
      provider = "postgresql"
      schema = "app_search"
      default_language = "simple"
      [search.tables."public.products"]
      columns = ["name", "body"]
      weights = { name = "A", body = "C" }
      language = "english"
      [cache]
      backend = "postgresql"
      table = "app.cache"
      prefix = "c:"
      max_value_bytes = 1024
      [queues]
      backend = "redis"
      url_env = "REDIS_URL"
      prefix = "jobs:"
    `);
    expect(pg).toEqual({
      search: {
        provider: 'postgresql',
        schema: 'app_search',
        defaultLanguage: 'simple',
        tables: {
          'public.products': {
            columns: ['name', 'body'],
            weights: { name: 'A', body: 'C' },
            language: 'english',
          },
        },
      },
      cache: { backend: 'postgresql', table: 'app.cache', prefix: 'c:', maxValueBytes: 1024 },
      queues: { backend: 'redis', urlEnv: 'REDIS_URL', prefix: 'jobs:' },
    });
    expect(
      parseConfig(
        '[search]\nprovider = "algolia"\napp_id_env = "ALGOLIA_APP_ID"\napi_key_env = "ALGOLIA_API_KEY"',
      ).search,
    ).toEqual({ provider: 'algolia', appIdEnv: 'ALGOLIA_APP_ID', apiKeyEnv: 'ALGOLIA_API_KEY' });
  });

  it('reports every bad path of a file in one IN002: wrong types, unknown keys, negative numbers', () => {
    const err = thrown(() => parseConfig(read('invalid.toml'), { sourceName: 'invalid.toml' }));
    expect(err.code).toBe('IN002');
    expect(err.kind).toBe('configuration');
    expect(err.issues.map((i) => i.path).sort()).toEqual(
      [
        'search.api_key_env',
        'search.api_key',
        'search.indexes.products.searchable',
        'cache.default_ttl',
        'cache.max_entrys',
        'queues.concurrency',
        'queues.queues.emails.retry_delay_ms',
        'queues.queues.emails.rate_limit.max',
      ].sort(),
    );
    expect(err.message).toContain('invalid.toml (8 problems)');
    for (const line of [
      'cache.default_ttl: expected a positive integer (got -5)',
      'cache.max_entrys: unknown key (did you mean "max_entries"?)',
      'queues.concurrency: expected a positive integer (got "five")',
      'search.indexes.products.searchable: expected an array (got "name")',
      'queues.queues.emails.retry_delay_ms: expected an integer >= 0 (got -1)',
      'queues.queues.emails.rate_limit.max: expected a positive integer (got 0)',
    ]) {
      expect(err.message).toContain(line);
    }
  });

  it('rejects an unknown provider or backend by name, and keys of another backend', () => {
    const err = thrown(() =>
      parseConfig(`
        [search]
        provider = "elastic"
        [cache]
        backend = "memory"
        url_env = "REDIS_URL"
        [queues]
        concurrency = 2
        [postgres]
        embeded_dir = "x"
        [server]
        port = 1
      `),
    );
    expect(err.code).toBe('IN002');
    expect(err.issues).toEqual([
      {
        path: 'search.provider',
        message:
          'expected one of "meilisearch", "typesense", "algolia", "elasticsearch", "postgresql" (got "elastic")',
      },
      expect.objectContaining({ path: 'cache.url_env', message: expect.stringContaining('unknown key') }),
      { path: 'queues.backend', message: 'required: one of "redis", "postgresql", "rabbitmq"' },
      { path: 'postgres.embeded_dir', message: 'unknown key (did you mean "embedded_dir"?)' },
      {
        path: 'server',
        message:
          'unknown key (expected one of: search, cache, queues, postgres, observers, schedules, flows, connectors, plugins, query_cache)',
      },
    ]);
  });

  it('checks enums, ports, names and list entries', () => {
    const err = thrown(() =>
      parseConfig(`
        [search]
        provider = "typesense"
        host_env = "TYPESENSE HOST"
        api_key_env = "K"
        port = 70000
        protocol = "ftp"
        [search.indexes."bad name"]
        searchable = ["a"]
        [search.indexes.ok]
        searchable = ["a", 3]
        [queues]
        backend = "postgresql"
        schema = "drop table"
        [queues.queues."no spaces allowed"]
        max_retries = 1
      `),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      'search.host_env':
        'expected an environment variable name (letters, digits and _) (got "TYPESENSE HOST")',
      'search.port': 'expected a port number (1-65535) (got 70000)',
      'search.protocol': 'expected one of "http", "https" (got "ftp")',
      'search.indexes."bad name"': expect.stringContaining('expected an index name'),
      'search.indexes.ok.searchable[1]': 'expected a non-empty string (got 3)',
      'queues.schema': expect.stringContaining('expected an SQL identifier'),
      'queues.queues."no spaces allowed"': expect.stringContaining('expected a queue name'),
    });
  });

  it('refuses secrets in the file and points at the *_env key to use', () => {
    const err = thrown(() =>
      parseConfig(`
        [search]
        provider = "meilisearch"
        host_env = "MEILISEARCH_HOST"
        api_key_env = "MEILISEARCH_API_KEY"
        api_key = "masterKey"
        [cache]
        backend = "redis"
        url_env = "REDIS_URL"
        url = "redis://:hunter2@cache.internal:6379"
        [postgres]
        password = "hunter2"
      `),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['search.api_key', 'cache.url', 'postgres.password']);
    expect(err.issues[0]!.message).toMatch(/never stored in the config file.*api_key_env/);
    expect(err.issues[1]!.message).toMatch(/never stored in the config file.*url_env/);
    expect(err.issues[2]!.message).toMatch(/never stored in the config file.*url_env/);
    // The rejected values never reach the error.
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('masterKey');
  });

  it('redacts a credential pasted where a variable name belongs', () => {
    const err = thrown(() =>
      parseConfig('[cache]\nbackend = "redis"\nurl_env = "redis://app:s3cretpw@cache:6379"'),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['cache.url_env']);
    expect(err.message).not.toContain('s3cretpw');
  });

  it('makes a TOML syntax error an IN002 with line and column, not a parser stack trace', () => {
    const text = '[cache]\nbackend = "memory"\ndefault_ttl = = 5\n';
    const err = thrown(() => parseConfig(text, { sourceName: 'broken.toml' }));
    expect(err.code).toBe('IN002');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ path: '', line: 3 });
    expect(err.issues[0]!.column).toBeGreaterThan(0);
    expect(err.message).toContain('broken.toml');
    expect(err.message).toMatch(/line 3, column \d+/);
    expect(err.message).not.toMatch(/^\s*at\s/m);
    expect(err.message).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  });

  it('makes a duplicate key a syntax error too', () => {
    const err = thrown(() => parseConfig('[cache]\nbackend = "memory"\nbackend = "redis"\n'));
    expect(err.code).toBe('IN002');
    expect(err.issues[0]!.line).toBe(3);
  });

  it('returns an empty config for an empty document', () => {
    const config = parseConfig('# nothing configured\n');
    expect(config).toEqual({});
    expect(isEmptyConfig(config)).toBe(true);
  });
});

describe('loadConfig', () => {
  const dirs: string[] = [];
  const cwd = process.cwd();
  afterEach(() => {
    process.chdir(cwd);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'fraiseql-config-'));
    dirs.push(d);
    return d;
  };

  it('reads and validates an explicit file', async () => {
    expect(await loadConfig(fixture('design-example.toml'))).toEqual(
      parseConfig(read('design-example.toml')),
    );
  });

  it('is IN001 when an explicit file does not exist', async () => {
    const missing = join(tempDir(), 'nope.toml');
    const err = await rejected(loadConfig(missing));
    expect(err.code).toBe('IN001');
    expect(err.message).toContain(missing);
  });

  it('names the file in an IN002', async () => {
    const err = await rejected(loadConfig(fixture('invalid.toml')));
    expect(err.code).toBe('IN002');
    expect(err.message).toContain('invalid.toml');
  });

  it('reads ./fraiseql.toml by default, and gives an empty config when there is none', async () => {
    const dir = tempDir();
    process.chdir(dir);
    expect(await loadConfig()).toEqual({});
    writeFileSync(join(dir, 'fraiseql.toml'), '[cache]\nbackend = "memory"\ndefault_ttl = 2\n');
    expect(await loadConfig()).toEqual({ cache: { backend: 'memory', defaultTtlMs: 2000 } });
  });
});

describe('embeddedDefaults', () => {
  it('is a memory cache plus search and queues on PGlite under .fraiseql/', () => {
    const d = embeddedDefaults();
    expect(d).toEqual({
      search: { provider: 'postgresql' },
      cache: { backend: 'memory' },
      queues: { backend: 'postgresql' },
      postgres: { embeddedDir: '.fraiseql/pglite' },
    });
    expect(isEmptyConfig(d)).toBe(false);
    // A fresh object each time: an app tweaking its copy cannot change another's.
    d.cache = { backend: 'redis', urlEnv: 'X' };
    expect(embeddedDefaults().cache).toEqual({ backend: 'memory' });
  });
});
