import type { Registry } from 'prom-client';
import { ConfigError, DEFAULT_EMBEDDED_DIR } from './config';
import { createDefaultImporter, type ProviderImporter, type ProviderModule } from './config/loader';
import type { ConfigIssue } from './config/schema';
import type {
  CacheConfig,
  IntegrationsConfig,
  QueuesConfig,
  ResilienceConfig,
  SearchConfig,
  TypesenseConfig,
} from './config/types';
import type { CacheProvider } from './contracts/cache';
import type { Provider } from './contracts/provider';
import type { QueueProvider } from './contracts/queue';
import type { SearchProvider } from './contracts/search';
import { ErrorCode, IntegrationError, isIntegrationError, wrapError } from './errors';
import { parseResilienceOptions, type ResilienceOptions } from './resilience';
import { withResilience } from './resilient-providers';
import { IntegrationService } from './service';
import { SloRegistry } from './slo';

export type { ProviderImporter, ProviderModule } from './config/loader';
export { createDefaultImporter, isModuleNotFound } from './config/loader';

export interface CreateIntegrationsOptions {
  /** Registry for the service's metrics. Default: a private registry (never prom-client's global one). */
  registry?: Registry;
  /** Where `*_env` keys are looked up. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory the application's packages are resolved from. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Replaces how provider packages are loaded (tests, bundled apps). Resolves `undefined` for a
   * package that is not installed. Default: dynamic `import()` from core, then from the app.
   */
  importer?: ProviderImporter;
}

/** What `createIntegrations` returns: the configured providers, a service over them, one `close()`. */
export interface Integrations {
  search?: SearchProvider;
  cache?: CacheProvider;
  queue?: QueueProvider;
  service: IntegrationService;
  /**
   * The shared `[postgres]` client (`@fraiseql/postgres`'s SqlClient) when a PostgreSQL backend or
   * `[observers]` is configured — typed loosely because core depends on no backend client. The
   * observer runtime reads its change log through it (on embedded PGlite, the only handle there is).
   */
  sql?: unknown;
  /** Closes the providers, then the shared SqlClient. Idempotent. */
  close(): Promise<void>;
}

type Section = 'search' | 'cache' | 'queue';

/** Only what core needs of `@fraiseql/postgres`'s SqlClient (core depends on no backend client). */
interface Closeable {
  close(): Promise<void>;
}

interface Backend {
  package: string;
  factory: string;
  /** Uses the shared `[postgres]` SqlClient. */
  sql?: boolean;
}

const SEARCH: Record<SearchConfig['provider'], Backend> = {
  meilisearch: { package: '@fraiseql/search-meilisearch', factory: 'createMeilisearchSearch' },
  typesense: { package: '@fraiseql/search-typesense', factory: 'createTypesenseSearch' },
  algolia: { package: '@fraiseql/search-algolia', factory: 'createAlgoliaSearch' },
  postgresql: { package: '@fraiseql/search-postgres', factory: 'createPostgresSearch', sql: true },
};

const CACHE: Record<CacheConfig['backend'], Backend> = {
  redis: { package: '@fraiseql/cache-redis', factory: 'createRedisCache' },
  memory: { package: '@fraiseql/cache-memory', factory: 'createMemoryCache' },
  postgresql: { package: '@fraiseql/cache-postgres', factory: 'createPostgresCache', sql: true },
};

const QUEUES: Record<QueuesConfig['backend'], Backend> = {
  postgresql: { package: '@fraiseql/queue-postgres', factory: 'createPostgresQueue', sql: true },
  redis: { package: '@fraiseql/queue-redis', factory: 'createRedisQueue' },
  rabbitmq: { package: '@fraiseql/queue-rabbitmq', factory: 'createRabbitQueue' },
};

const POSTGRES: Backend = { package: '@fraiseql/postgres', factory: 'createSqlClient' };

const LABEL: Record<Section, string> = {
  search: 'Search provider',
  cache: 'Cache backend',
  queue: 'Queue backend',
};

/** Drops undefined options so factories see only what the config set (their defaults apply). */
function compact<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// Environment

interface EnvNeed {
  /** Config path of the `*_env` key, in the file's words. */
  key: string;
  variable: string;
}

function envNeeds(config: IntegrationsConfig, usesSql: boolean): EnvNeed[] {
  const needs: EnvNeed[] = [];
  const s = config.search;
  if (s?.provider === 'meilisearch' || s?.provider === 'typesense') {
    needs.push({ key: 'search.host_env', variable: s.hostEnv });
  }
  if (s?.provider === 'algolia') needs.push({ key: 'search.app_id_env', variable: s.appIdEnv });
  if (s && s.provider !== 'postgresql') needs.push({ key: 'search.api_key_env', variable: s.apiKeyEnv });
  if (config.cache?.backend === 'redis') needs.push({ key: 'cache.url_env', variable: config.cache.urlEnv });
  const q = config.queues;
  if (q?.backend === 'redis' || q?.backend === 'rabbitmq')
    needs.push({ key: 'queues.url_env', variable: q.urlEnv });
  if (usesSql && config.postgres?.urlEnv)
    needs.push({ key: 'postgres.url_env', variable: config.postgres.urlEnv });
  return needs;
}

/** Every missing variable at once: fixing them one run at a time is tedious. */
function resolveEnv(needs: EnvNeed[], env: Record<string, string | undefined>): Map<string, string> {
  const values = new Map<string, string>();
  const missing: ConfigIssue[] = [];
  for (const need of needs) {
    const value = env[need.variable]?.trim();
    if (value) values.set(need.key, value);
    else {
      missing.push({
        path: need.key,
        message: `Missing environment variable ${need.variable} (named by ${need.key})`,
      });
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(ErrorCode.MissingEnvVar, missing.map((m) => m.message).join('; '), missing);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Hosts

function badEnvValue(key: string, variable: string, why: string): ConfigError {
  const message = `Environment variable ${variable} (named by ${key}) ${why}`;
  return new ConfigError(ErrorCode.InvalidConfiguration, message, [{ path: key, message }]);
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Meilisearch takes a URL; `localhost:7700` is taken to mean `http://localhost:7700`. */
function httpUrl(raw: string): string {
  return HAS_SCHEME.test(raw) ? raw : `http://${raw}`;
}

/**
 * Typesense wants `{ host, port, protocol }`. The variable may hold a URL
 * (`https://xyz.typesense.net`) or a hostname (`localhost`, `localhost:8108`); a URL without a
 * port uses `port` (default 8108; 443 for an https URL).
 */
function typesenseNode(
  raw: string,
  cfg: Pick<TypesenseConfig, 'port' | 'protocol' | 'hostEnv'>,
): { host: string; port: number; protocol: 'http' | 'https' } {
  const fail = (why: string) => badEnvValue('search.host_env', cfg.hostEnv, why);
  if (HAS_SCHEME.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw fail('is not a valid URL');
    }
    const protocol = url.protocol.slice(0, -1);
    if (protocol !== 'http' && protocol !== 'https')
      throw fail(`uses ${protocol}:, expected http: or https:`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : (cfg.port ?? (protocol === 'https' ? 443 : 8108));
    return { host, port, protocol };
  }
  const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (!m) throw fail('is neither a URL nor host[:port]');
  const port = m[2] ? Number(m[2]) : (cfg.port ?? 8108);
  if (port < 1 || port > 65535) throw fail('has a port outside 1-65535');
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port, protocol: cfg.protocol ?? 'http' };
}

// ---------------------------------------------------------------------------------------------
// Plan: which package + factory + options per configured section.

interface Step {
  section: Section;
  name: string;
  backend: Backend;
  resilience?: ResilienceConfig;
  /** Factory options; the shared `sql` client is added at creation when `backend.sql`. */
  options: Record<string, unknown>;
}

function unknownBackend(path: string, value: unknown, table: Record<string, Backend>): ConfigError {
  const message = `expected one of ${Object.keys(table)
    .map((k) => JSON.stringify(k))
    .join(', ')} (got ${JSON.stringify(value) ?? 'nothing'})`;
  return new ConfigError(ErrorCode.InvalidConfiguration, `Invalid configuration: ${path}: ${message}`, [
    { path, message },
  ]);
}

/** IN002 for a backend name the config schema would have refused (configs built in code). */
function checkBackends(config: IntegrationsConfig): void {
  const checks: [string, unknown, Record<string, Backend>][] = [
    ['search.provider', config.search?.provider, SEARCH],
    ['cache.backend', config.cache?.backend, CACHE],
    ['queues.backend', config.queues?.backend, QUEUES],
  ];
  const sections = [config.search, config.cache, config.queues];
  for (const [i, [path, value, table]] of checks.entries()) {
    if (sections[i] && !(typeof value === 'string' && Object.hasOwn(table, value))) {
      throw unknownBackend(path, value, table);
    }
  }
}

function usesSharedSql(config: IntegrationsConfig): boolean {
  return (
    config.search?.provider === 'postgresql' ||
    config.cache?.backend === 'postgresql' ||
    config.queues?.backend === 'postgresql' ||
    config.observers !== undefined
  );
}

function plan(config: IntegrationsConfig, env: Map<string, string>): Step[] {
  const steps: Step[] = [];
  const e = (key: string) => env.get(key)!;
  const s = config.search;
  if (s) {
    steps.push({
      section: 'search',
      name: s.provider,
      backend: SEARCH[s.provider],
      ...(s.resilience ? { resilience: s.resilience } : {}),
      options: (() => {
        switch (s.provider) {
          case 'meilisearch':
            return compact({
              host: httpUrl(e('search.host_env')),
              apiKey: e('search.api_key_env'),
              indexes: s.indexes,
            });
          case 'typesense':
            return compact({
              nodes: [typesenseNode(e('search.host_env'), s)],
              apiKey: e('search.api_key_env'),
              indexes: s.indexes,
              collections: s.collections,
            });
          case 'algolia':
            return compact({
              appId: e('search.app_id_env'),
              apiKey: e('search.api_key_env'),
              indexes: s.indexes,
            });
          case 'postgresql':
            return compact({
              schema: s.schema,
              defaultLanguage: s.defaultLanguage,
              tables: s.tables,
              indexes: s.indexes,
            });
        }
      })(),
    });
  }
  const c = config.cache;
  if (c) {
    steps.push({
      section: 'cache',
      name: c.backend,
      backend: CACHE[c.backend],
      ...(c.resilience ? { resilience: c.resilience } : {}),
      options: (() => {
        const common = { prefix: c.prefix, defaultTtlMs: c.defaultTtlMs, maxValueBytes: c.maxValueBytes };
        switch (c.backend) {
          case 'redis':
            return compact({ url: e('cache.url_env'), ...common, cluster: c.cluster });
          case 'memory':
            return compact({ maxEntries: c.maxEntries, maxSizeBytes: c.maxSizeBytes, ...common });
          case 'postgresql':
            return compact({ table: c.table, ...common });
        }
      })(),
    });
  }
  const q = config.queues;
  if (q) {
    steps.push({
      section: 'queue',
      name: q.backend,
      backend: QUEUES[q.backend],
      ...(q.resilience ? { resilience: q.resilience } : {}),
      options: (() => {
        const common = {
          concurrency: q.concurrency,
          queues: q.queues,
          queueDefaults: q.defaults,
          visibilityTimeoutMs: q.visibilityTimeoutMs,
        };
        switch (q.backend) {
          case 'postgresql':
            return compact({ schema: q.schema, pollIntervalMs: q.pollIntervalMs, ...common });
          case 'redis':
            return compact({ url: e('queues.url_env'), prefix: q.prefix, ...common });
          case 'rabbitmq':
            return compact({ url: e('queues.url_env'), ...common });
        }
      })(),
    });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Loading

type Factory = (opts: Record<string, unknown>) => Promise<unknown>;

async function loadFactory(
  importer: ProviderImporter,
  backend: Backend,
  who: string,
  provider: string,
): Promise<Factory> {
  let mod: ProviderModule | undefined;
  try {
    mod = await importer(backend.package);
  } catch (err) {
    // Installed but broken (syntax error, missing dependency of its own, …): say so, never
    // pretend it is not installed.
    throw wrapError(err, ErrorCode.ProviderUnavailable, provider, `${who} could not load ${backend.package}`);
  }
  if (mod === undefined) {
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `${who} needs ${backend.package}: run \`pnpm add ${backend.package}\``,
      { kind: 'configuration', provider },
    );
  }
  // A CommonJS build imported from ESM may only expose its exports under `default`.
  const fn = mod[backend.factory] ?? (mod.default as ProviderModule | undefined)?.[backend.factory];
  if (typeof fn !== 'function') {
    throw IntegrationError.provider(
      ErrorCode.ProviderUnavailable,
      provider,
      `${backend.package} does not export ${backend.factory}(); install a version matching @fraiseql/core`,
    );
  }
  return fn as Factory;
}

/**
 * Every provider `createIntegrations` returns is wrapped: SLO timing + metrics on the shared
 * SloRegistry, a timeout, a circuit breaker and retries of idempotent reads (`[<section>.resilience]`).
 */
function wrapProvider<P extends Provider>(
  section: Section,
  provider: P,
  ctx: {
    registry?: Registry;
    resilience?: ResilienceConfig;
    slo: SloRegistry;
    labelQueues?: readonly string[];
  },
): P {
  return withResilience(section as 'cache', provider as unknown as CacheProvider, {
    slo: ctx.slo,
    ...(ctx.registry ? { registry: ctx.registry } : {}),
    ...(ctx.resilience ? { resilience: ctx.resilience as ResilienceOptions } : {}),
    ...(ctx.labelQueues ? { labelQueues: ctx.labelQueues } : {}),
  }) as unknown as P;
}

async function closeQuietly(items: (Closeable | undefined)[]): Promise<void> {
  // Cleanup after a failed start: the start error is what the caller must see.
  for (const item of items) {
    try {
      await item?.close();
    } catch {
      // ignored on purpose, see above
    }
  }
}

/**
 * Builds the providers of the configured sections (an absent section is not built; the apps
 * decide embedded defaults with `embeddedDefaults()`), loading each provider package by dynamic
 * import. Errors: IN003 for a missing environment variable, IN004 naming the package to add when
 * a provider package is not installed; a factory that fails closes everything created before it.
 */
export async function createIntegrations(
  config: IntegrationsConfig,
  opts: CreateIntegrationsOptions = {},
): Promise<Integrations> {
  if (config === null || typeof config !== 'object') {
    throw new ConfigError(ErrorCode.InvalidConfiguration, 'Invalid configuration: expected a config object', [
      { path: '', message: 'expected a config object' },
    ]);
  }
  const env = opts.env ?? process.env;
  const importer = opts.importer ?? createDefaultImporter(opts.cwd ?? process.cwd());

  // Every check that needs no I/O runs before anything connects, so a typo never leaves a
  // half-started set of connections behind: backend names, then env vars, then host values.
  checkBackends(config);
  const usesSql = usesSharedSql(config);
  const values = resolveEnv(envNeeds(config, usesSql), env);
  const secrets = [...values.values()];
  const resolvedSteps = plan(config, values);

  const factories: Factory[] = [];
  for (const step of resolvedSteps) {
    factories.push(
      await loadFactory(importer, step.backend, `${LABEL[step.section]} "${step.name}"`, step.name),
    );
  }
  const createSqlClient = usesSql
    ? await loadFactory(importer, POSTGRES, 'The PostgreSQL backends', 'postgresql')
    : undefined;

  // Resilience settings are checked before anything connects, like the rest of the config.
  for (const step of resolvedSteps) parseResilienceOptions(step.section as Section, step.resilience ?? {});
  const slo = new SloRegistry(opts.registry ? { registry: opts.registry } : {});

  let sql: Closeable | undefined;
  const created: Provider[] = [];
  const providers: { search?: SearchProvider; cache?: CacheProvider; queue?: QueueProvider } = {};
  try {
    if (createSqlClient) {
      const url = values.get('postgres.url_env');
      const target = url ? { url } : { embeddedDir: config.postgres?.embeddedDir ?? DEFAULT_EMBEDDED_DIR };
      try {
        sql = (await createSqlClient(target)) as Closeable;
      } catch (err) {
        throw wrapError(
          err,
          ErrorCode.PostgresError,
          'postgresql',
          'opening the shared PostgreSQL client failed',
          secrets,
        );
      }
    }
    for (const [i, step] of resolvedSteps.entries()) {
      let provider: Provider;
      try {
        const options = step.backend.sql ? { sql, ...step.options } : step.options;
        provider = (await factories[i]!(options)) as Provider;
      } catch (err) {
        throw wrapError(
          err,
          ErrorCode.ProviderUnavailable,
          step.name,
          `${LABEL[step.section]} "${step.name}" failed to start`,
          secrets,
        );
      }
      created.push(provider);
      const ctx = {
        slo,
        ...(opts.registry ? { registry: opts.registry } : {}),
        ...(step.resilience ? { resilience: step.resilience } : {}),
        ...(step.section === 'queue' ? { labelQueues: Object.keys(config.queues?.queues ?? {}) } : {}),
      };
      if (step.section === 'search')
        providers.search = wrapProvider('search', provider as SearchProvider, ctx);
      else if (step.section === 'cache')
        providers.cache = wrapProvider('cache', provider as CacheProvider, ctx);
      else providers.queue = wrapProvider('queue', provider as QueueProvider, ctx);
    }
  } catch (err) {
    await closeQuietly([...created].reverse());
    await closeQuietly([sql]);
    throw isIntegrationError(err)
      ? err
      : wrapError(err, ErrorCode.ProviderUnavailable, 'integrations', 'start failed', secrets);
  }

  const service = new IntegrationService({ ...providers, slo });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      let first: unknown;
      // The service closes the providers it holds; the shared client goes last because the
      // Postgres providers still use it while they shut down.
      for (const item of [service, sql]) {
        try {
          await item?.close();
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) {
        throw wrapError(first, ErrorCode.ProviderUnavailable, 'integrations', 'close failed', secrets);
      }
    })();
    return closing;
  };

  return { ...providers, service, close, ...(sql ? { sql } : {}) };
}
