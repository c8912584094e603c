import type { Registry } from 'prom-client';
import { ConfigError, DEFAULT_EMBEDDED_DIR } from './config';
import { tieredFactory } from './config/cache-tiered';
import { createDefaultImporter, type ProviderImporter } from './config/loader';
import type { IntegrationsConfig } from './config/types';
import type { CacheProvider } from './contracts/cache';
import type { Provider } from './contracts/provider';
import type { QueueProvider } from './contracts/queue';
import type { SearchProvider } from './contracts/search';
import { ErrorCode, isIntegrationError, wrapError } from './errors';
import { envNeeds, postgresUrl, resolveEnv } from './integrations-env';
import {
  checkBackends,
  LABEL,
  POSTGRES,
  plan,
  QUERY_CACHE,
  type Section,
  usesSharedSql,
} from './integrations-plan';
import {
  type Closeable,
  closeQuietly,
  type Factory,
  loadFactory,
  wrapProvider,
} from './integrations-providers';
import { type IntegrationsTracing, loadTracing } from './integrations-tracing';
import { parseResilienceOptions } from './resilience';
import { IntegrationService } from './service';
import { SloRegistry } from './slo';

export type { ProviderImporter, ProviderModule } from './config/loader';
export { createDefaultImporter, isModuleNotFound } from './config/loader';
export type { IntegrationsTracing } from './integrations-tracing';

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
  /**
   * An OpenTelemetry `Tracer` (`trace.getTracer('my-app')`): every provider operation becomes a span
   * and job trace context travels from enqueue to process (needs `@fraiseql/tracing`, loaded on
   * demand). Default: none — nothing is wrapped, nothing is recorded.
   */
  tracer?: unknown;
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
  /**
   * With `[query_cache]`: a drop-in SqlClient (`@fraiseql/query-cache`'s QueryCache) over the shared
   * client whose reads are cached in `[cache]` and invalidated per table by writes.
   */
  queryCache?: unknown;
  /** With a `tracer`: the tracing hooks (apps/server continues a request's trace with `inbound`). */
  tracing?: IntegrationsTracing;
  /** Closes the providers, then the shared SqlClient. Idempotent. */
  close(): Promise<void>;
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
  // A bad `tracer` (or @fraiseql/tracing missing) fails here, before anything connects.
  const tracing = opts.tracer === undefined ? undefined : await loadTracing(importer, opts.tracer);

  const factories: Factory[] = [];
  for (const step of resolvedSteps) {
    factories.push(
      await loadFactory(importer, step.backend, `${LABEL[step.section]} "${step.name}"`, step.name),
    );
  }
  // A tiered cache gets its L1 and L2 built from their own sections first.
  for (const [i, step] of resolvedSteps.entries()) {
    if (step.section !== 'cache' || step.name !== 'tiered') continue;
    const load = (b: { package: string; factory: string }) =>
      loadFactory(importer, b, `Cache tier of backend "tiered"`, 'tiered');
    factories[i] = tieredFactory(factories[i]!, load, opts.registry);
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
      const raw = values.get('postgres.url_env');
      const url = raw === undefined ? undefined : postgresUrl(raw, config.postgres!.urlEnv!);
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
      // Tracing goes outermost: one span per call as the caller sees it (retries inside it).
      let wrapped = wrapProvider(step.section as Section, provider, ctx);
      if (tracing) wrapped = tracing.instrument(step.section as 'cache', wrapped);
      if (step.section === 'search') providers.search = wrapped as SearchProvider;
      else if (step.section === 'cache') providers.cache = wrapped as CacheProvider;
      else providers.queue = wrapped as QueueProvider;
    }
  } catch (err) {
    await closeQuietly([...created].reverse());
    await closeQuietly([sql]);
    throw isIntegrationError(err)
      ? err
      : wrapError(err, ErrorCode.ProviderUnavailable, 'integrations', 'start failed', secrets);
  }

  const service = new IntegrationService({ ...providers, slo });

  let queryCache: (Closeable & { installInvalidation?(tables: string[]): Promise<void> }) | undefined;
  const qc = config.queryCache;
  if (qc && qc.enabled !== false) {
    try {
      const create = await loadFactory(importer, QUERY_CACHE, 'The query cache', 'query_cache');
      queryCache = (await create({
        sql,
        cache: providers.cache,
        ...(qc.defaultTtlMs !== undefined ? { defaultTtlMs: qc.defaultTtlMs } : {}),
        ...(qc.mode ? { mode: qc.mode } : {}),
        ...(qc.invalidation ? { invalidation: qc.invalidation } : {}),
        ...(qc.prefix !== undefined ? { prefix: qc.prefix } : {}),
        ...(opts.registry ? { registry: opts.registry } : {}),
      })) as typeof queryCache;
      if (qc.invalidation === 'database' && qc.tables?.length)
        await (queryCache as { installInvalidation(tables: string[]): Promise<void> }).installInvalidation(
          qc.tables,
        );
    } catch (err) {
      await closeQuietly([queryCache, service, sql]);
      throw isIntegrationError(err)
        ? err
        : wrapError(
            err,
            ErrorCode.ProviderUnavailable,
            'query_cache',
            'the query cache failed to start',
            secrets,
          );
    }
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      let first: unknown;
      // The service closes the providers it holds; the shared client goes last because the
      // Postgres providers still use it while they shut down.
      for (const item of [service, queryCache, sql]) {
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

  return {
    ...providers,
    service,
    close,
    ...(sql ? { sql } : {}),
    ...(queryCache ? { queryCache } : {}),
    ...(tracing ? { tracing } : {}),
  };
}
