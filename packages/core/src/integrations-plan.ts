import { ConfigError } from './config';
import { tieredOptions, tieredUsesSql } from './config/cache-tiered';
import type {
  CacheConfig,
  IntegrationsConfig,
  QueuesConfig,
  ResilienceConfig,
  SearchConfig,
} from './config/types';
import { ErrorCode } from './errors';
import { httpUrl, typesenseNode } from './integrations-env';

/** The plan of `createIntegrations`: which package, factory and options per configured section. */

export type Section = 'search' | 'cache' | 'queue';

export interface Backend {
  package: string;
  factory: string;
  /** Uses the shared `[postgres]` SqlClient. */
  sql?: boolean;
}

export const SEARCH: Record<SearchConfig['provider'], Backend> = {
  meilisearch: { package: '@fraiseql/search-meilisearch', factory: 'createMeilisearchSearch' },
  typesense: { package: '@fraiseql/search-typesense', factory: 'createTypesenseSearch' },
  algolia: { package: '@fraiseql/search-algolia', factory: 'createAlgoliaSearch' },
  postgresql: { package: '@fraiseql/search-postgres', factory: 'createPostgresSearch', sql: true },
  elasticsearch: { package: '@fraiseql/search-elasticsearch', factory: 'createElasticsearchSearch' },
};

export const CACHE: Record<CacheConfig['backend'], Backend> = {
  redis: { package: '@fraiseql/cache-redis', factory: 'createRedisCache' },
  memory: { package: '@fraiseql/cache-memory', factory: 'createMemoryCache' },
  postgresql: { package: '@fraiseql/cache-postgres', factory: 'createPostgresCache', sql: true },
  // Its tiers are built by `tieredFactory` (config/cache-tiered.ts); `sql` serves a PostgreSQL L2 or bus.
  tiered: { package: '@fraiseql/cache-tiered', factory: 'createTieredCache', sql: true },
};

export const QUEUES: Record<QueuesConfig['backend'], Backend> = {
  postgresql: { package: '@fraiseql/queue-postgres', factory: 'createPostgresQueue', sql: true },
  redis: { package: '@fraiseql/queue-redis', factory: 'createRedisQueue' },
  rabbitmq: { package: '@fraiseql/queue-rabbitmq', factory: 'createRabbitQueue' },
};

export const POSTGRES: Backend = { package: '@fraiseql/postgres', factory: 'createSqlClient' };
export const QUERY_CACHE: Backend = { package: '@fraiseql/query-cache', factory: 'createQueryCache' };

export const LABEL: Record<Section, string> = {
  search: 'Search provider',
  cache: 'Cache backend',
  queue: 'Queue backend',
};

/** Drops undefined options so factories see only what the config set (their defaults apply). */
export function compact<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

export interface Step {
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
export function checkBackends(config: IntegrationsConfig): void {
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

export function usesSharedSql(config: IntegrationsConfig): boolean {
  return (
    config.search?.provider === 'postgresql' ||
    config.cache?.backend === 'postgresql' ||
    tieredUsesSql(config.cache) ||
    config.queues?.backend === 'postgresql' ||
    config.observers !== undefined ||
    (config.queryCache !== undefined && config.queryCache.enabled !== false)
  );
}

export function plan(config: IntegrationsConfig, env: Map<string, string>): Step[] {
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
          case 'elasticsearch':
            return compact({
              node: httpUrl(e('search.url_env')),
              apiKey: env.get('search.api_key_env'),
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
          case 'tiered':
            return tieredOptions(c, (key) => env.get(key));
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
