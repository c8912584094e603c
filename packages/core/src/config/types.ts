import type { QueueOptions } from '../contracts/queue';
import type { IndexConfig } from '../contracts/search';
import type { TieredCacheConfig } from './cache-tiered';

/**
 * `[<section>.resilience]`: accepted as an open table (keys camelCased) so configs written for a
 * later release still load; its keys are validated where resilience is applied.
 */
export type ResilienceConfig = Record<string, unknown>;

interface SearchConfigBase {
  /** `[search.indexes.<name>]`: indexes configured when the provider starts. */
  indexes?: Record<string, IndexConfig>;
  resilience?: ResilienceConfig;
}

/** `[search] provider = "meilisearch"`. */
export interface MeilisearchConfig extends SearchConfigBase {
  provider: 'meilisearch';
  /** Environment variable holding the server URL (`http://127.0.0.1:7700`); a bare `host:port` gets `http://`. */
  hostEnv: string;
  /** Environment variable holding the API key. */
  apiKeyEnv: string;
}

/** A field of a Typesense collection schema (`[[search.collections.<name>.fields]]`). */
export interface TypesenseFieldConfig {
  name: string;
  /** Typesense field type: `string`, `int32`, `float`, `string[]`, `auto`, … */
  type: string;
  facet?: boolean;
  index?: boolean;
  optional?: boolean;
  sort?: boolean;
}

/** `[search.collections.<name>]`: an explicit Typesense collection schema. */
export interface TypesenseCollectionConfig {
  fields: TypesenseFieldConfig[];
  defaultSortingField?: string;
}

/** `[search] provider = "typesense"`. */
export interface TypesenseConfig extends SearchConfigBase {
  provider: 'typesense';
  /** Environment variable holding the node: a URL (`https://ts.example.com:443`) or a bare hostname. */
  hostEnv: string;
  apiKeyEnv: string;
  /** Used when the host carries no port. Default 8108. */
  port?: number;
  /** Used when the host is not a URL. Default `"http"`. */
  protocol?: 'http' | 'https';
  collections?: Record<string, TypesenseCollectionConfig>;
}

/** `[search] provider = "algolia"`. */
export interface AlgoliaConfig extends SearchConfigBase {
  provider: 'algolia';
  appIdEnv: string;
  apiKeyEnv: string;
}

/** `[search.tables.<table>]`: full-text search attached to an existing table. */
export interface PostgresFtsTableConfig {
  /** Columns that feed the tsvector. */
  columns: string[];
  /** Weight per column (`A` highest … `D`). Default: every column `D`. */
  weights?: Record<string, 'A' | 'B' | 'C' | 'D'>;
  /** Text search configuration. Default: `defaultLanguage`. */
  language?: string;
}

/** `[search] provider = "postgresql"` (uses the shared `[postgres]` client). */
export interface PostgresSearchConfig extends SearchConfigBase {
  provider: 'postgresql';
  /** Schema holding the `search_<index>` tables. Default: the provider's (`_system`). */
  schema?: string;
  /** Text search configuration (`english`, `simple`, …). Default: the provider's (`english`). */
  defaultLanguage?: string;
  tables?: Record<string, PostgresFtsTableConfig>;
}

/** `[search] provider = "elasticsearch"` (`@fraiseql/search-elasticsearch`). */
export interface ElasticsearchConfig extends SearchConfigBase {
  provider: 'elasticsearch';
  /** Environment variable holding the node URL (`http://127.0.0.1:9200`); a bare `host:port` gets `http://`. */
  urlEnv: string;
  /** Environment variable holding the encoded API key. Default: none (a cluster without security). */
  apiKeyEnv?: string;
}

export type SearchConfig =
  | MeilisearchConfig
  | TypesenseConfig
  | AlgoliaConfig
  | PostgresSearchConfig
  | ElasticsearchConfig;
export type SearchProviderName = SearchConfig['provider'];

interface CacheConfigBase {
  /** Prepended to every key. Default: the backend's (`""` memory, `"fraiseql:cache:"` elsewhere). */
  prefix?: string;
  /**
   * TTL of entries written without one, in **milliseconds** (TOML `default_ttl` is in seconds and
   * is converted here). Default: the backend's (3_600_000).
   */
  defaultTtlMs?: number;
  /** Largest value accepted, in bytes. Default: the backend's. */
  maxValueBytes?: number;
  resilience?: ResilienceConfig;
}

/** `[cache] backend = "redis"`. */
export interface RedisCacheConfig extends CacheConfigBase {
  backend: 'redis';
  /** Environment variable holding `redis://…` (the first node's URL in cluster mode). */
  urlEnv: string;
  /** Redis Cluster mode. Default false. */
  cluster?: boolean;
}

/** `[cache] backend = "memory"`. */
export interface MemoryCacheConfig extends CacheConfigBase {
  backend: 'memory';
  /** Most entries kept (least recently used evicted). Default: the backend's (10_000). */
  maxEntries?: number;
  /** Optional bound on the total size of values, in bytes. Default: unbounded. */
  maxSizeBytes?: number;
}

/** `[cache] backend = "postgresql"` (uses the shared `[postgres]` client). */
export interface PostgresCacheConfig extends CacheConfigBase {
  backend: 'postgresql';
  /** `table` or `schema.table`. Default: the backend's (`_system.cache`). */
  table?: string;
}

export type CacheConfig = RedisCacheConfig | MemoryCacheConfig | PostgresCacheConfig | TieredCacheConfig;
export type { TieredCacheConfig };
export type CacheBackendName = CacheConfig['backend'];

interface QueuesConfigBase {
  /** Jobs run at once per worker. Default: the backend's. */
  concurrency?: number;
  /** Lease of a taken job, renewed while its handler runs. Default: the backend's (30_000). */
  visibilityTimeoutMs?: number;
  /** `[queues.defaults]`: options of every queue not listed in `queues` (the factories' `queueDefaults`). */
  defaults?: QueueOptions;
  /** `[queues.queues.<name>]`: per-queue options. */
  queues?: Record<string, QueueOptions>;
  resilience?: ResilienceConfig;
}

/** `[queues] backend = "postgresql"` (uses the shared `[postgres]` client). */
export interface PostgresQueueConfig extends QueuesConfigBase {
  backend: 'postgresql';
  /** Schema of the queue tables. Default: the backend's (`_system`). */
  schema?: string;
  /** Fallback poll when no LISTEN/NOTIFY wake-up arrives. Default: the backend's (1000). */
  pollIntervalMs?: number;
}

/** `[queues] backend = "redis"`. */
export interface RedisQueueConfig extends QueuesConfigBase {
  backend: 'redis';
  urlEnv: string;
  /** Key prefix of the queues. Default: the backend's. */
  prefix?: string;
}

/** `[queues] backend = "rabbitmq"`. */
export interface RabbitQueueConfig extends QueuesConfigBase {
  backend: 'rabbitmq';
  /** Environment variable holding `amqp://…`. */
  urlEnv: string;
}

export type QueuesConfig = PostgresQueueConfig | RedisQueueConfig | RabbitQueueConfig;
export type QueueBackendName = QueuesConfig['backend'];

/** `[postgres]`: the one database every `postgresql` backend shares. */
export interface PostgresConfig {
  /** Environment variable holding `postgres://…`. When absent, PGlite runs in-process. */
  urlEnv?: string;
  /** PGlite data directory when no `urlEnv` is set. Default `.fraiseql/pglite`. */
  embeddedDir?: string;
}

/** `[[observers.observer]]`: one observer; actions keep their own keys, camelCased (`url_env` → `urlEnv`). */
export interface ObserverConfig {
  name: string;
  entity: string;
  events?: ('INSERT' | 'UPDATE' | 'DELETE' | 'created' | 'updated' | 'deleted')[];
  /** An expression (`"total >= 1000 and status == 'new'"`) or a portable Filter table. */
  condition?: unknown;
  actions: ({ type: string } & Record<string, unknown>)[];
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number; multiplier?: number };
}

/** `[observers]` (DESIGN §8.5); the runtime's defaults apply to absent keys. */
export interface ObserversConfig {
  group?: string;
  listenerId?: string;
  changeLog?: string;
  schema?: string;
  batchSize?: number;
  pollIntervalMs?: number;
  maxParallelism?: number;
  actionTimeoutMs?: number;
  retentionDays?: number;
  source?: string;
  failover?: { healthCheckIntervalMs?: number; failoverThresholdMs?: number };
  breaker?: {
    failureRateThreshold?: number;
    minimumRequests?: number;
    windowMs?: number;
    halfOpenAfterMs?: number;
  };
  /** Stored in the `[cache]` backend; TOML `window_seconds` becomes `windowMs`. */
  dedup?: { enabled?: boolean; windowMs?: number; key?: 'content' | 'id' };
  /** Stored in the `[cache]` backend; TOML `ttl_seconds` becomes `ttlMs`. */
  actionCache?: { enabled?: boolean; ttlMs?: number };
  /** Default `"postgres"` (in-process). */
  transport?: 'postgres' | 'nats';
  role?: 'all' | 'listener' | 'worker';
  /** `[observers.nats]`: options of `createNatsTransport` (`@fraiseql/observers-nats`). */
  nats?: {
    /** Environment variable holding the server URL(s), comma-separated (`nats://127.0.0.1:4222`). */
    serversEnv?: string;
    /** Server URL(s) written in the file (no credentials: use `servers_env` for those). */
    servers?: string | string[];
    stream?: string;
    subjectPrefix?: string;
    durable?: string;
    ackWaitMs?: number;
    maxDeliver?: number;
    maxInFlight?: number;
  };
  observer?: ObserverConfig[];
}

/** `[query_cache]` (DESIGN §9): SQL reads through `integrations.queryCache`, cached in `[cache]`. */
export interface QueryCacheConfig {
  /** Default true when the section is present. */
  enabled?: boolean;
  /** TOML `ttl_seconds`. Default: the query cache's (3_600_000). */
  defaultTtlMs?: number;
  /** `'all'` caches every cacheable read; `'explicit'` only `{ cache: true }`. Default `'all'`. */
  mode?: 'all' | 'explicit';
  /** `'database'` also sees writes of other processes (triggers + NOTIFY on `tables`). Default `'writes'`. */
  invalidation?: 'writes' | 'database';
  /** Tables that get invalidation triggers in `'database'` mode (`table` or `schema.table`). */
  tables?: string[];
  /** Key prefix. Default `'fraiseql:qc:'`. */
  prefix?: string;
}

/** `[[schedules]]` (DESIGN §14.1): one recurring job, the input of `@fraiseql/scheduler`'s `upsert`. */
export interface ScheduleConfig {
  id: string;
  /** Cron pattern (5 fields, or 6 with seconds first); one of `cron` / `everyMs`. */
  cron?: string;
  /** `every_ms`: fixed interval in milliseconds (≥ 100). */
  everyMs?: number;
  /** IANA time zone of `cron`. Default `"UTC"`. */
  tz?: string;
  queue: string;
  /** Job data template, exactly as written. Default `{}`. */
  data?: unknown;
  /** `backfill_ms`: ticks missed while every scheduler was down are enqueued inside this window. Default 0. */
  backfillMs?: number;
  limit?: number;
  startAt?: Date;
  endAt?: Date;
  /** From `priority`, `max_retries`, `timeout_ms`. */
  opts?: { priority?: number; maxRetries?: number; timeoutMs?: number };
}

/** The validated, camelCased form of `fraiseql.toml`. Absent sections are not built. */
export interface IntegrationsConfig {
  search?: SearchConfig;
  cache?: CacheConfig;
  queues?: QueuesConfig;
  postgres?: PostgresConfig;
  observers?: ObserversConfig;
  /** `[[schedules]]`: run by `serve` and the worker through `@fraiseql/scheduler`. */
  schedules?: ScheduleConfig[];
  queryCache?: QueryCacheConfig;
  /** `[flows.<name>]` as written (snake_case): read by `@fraiseql/flows`' `flowsFromConfig` (§10). */
  flows?: Record<string, Record<string, unknown>>;
  /** `[connectors.<name>]` as written: `type` plus the connector's options (`*_env` for secrets). */
  connectors?: Record<string, Record<string, unknown>>;
  /** `[plugins.<name>]` as written: `module` plus the plugin's options. */
  plugins?: Record<string, Record<string, unknown>>;
}
