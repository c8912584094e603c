import { ErrorCode, IntegrationError, positiveOption, type SearchCommonOptions } from '@fraiseql/core';
import { PROVIDER } from './errors';

export interface MeilisearchSearchOptions extends SearchCommonOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7700` (config `host_env`). Required. */
  host: string;
  /**
   * API key sent as `Authorization: Bearer <key>` (config `api_key_env`). It needs the actions
   * `search`, `documents.*`, `indexes.*`, `settings.*` and `tasks.get` — the default admin key or
   * the master key. `""` sends no key (a server started without a master key). Required.
   */
  apiKey: string;
  /** Timeout of every HTTP request in ms; a request that takes longer is IN102. Default 10000. */
  timeoutMs?: number;
  /**
   * How long a write waits for its Meilisearch task to finish, in ms; longer is IN102 (the task
   * itself keeps running on the server). Default 30000.
   */
  taskTimeoutMs?: number;
  /** Interval between two polls of `GET /tasks/:uid` while a write waits. Default 50 ms. */
  taskPollIntervalMs?: number;
  /**
   * `pagination.maxTotalHits` written by `configureIndex`: how many hits a query can reach and
   * count. Default: not written, the server's value stays (1000 unless changed).
   */
  maxTotalHits?: number;
  /** Documents per indexing task in `indexDocuments`. Default 1000. */
  batchSize?: number;
}

/** The checked options the provider runs with. */
export interface ResolvedOptions {
  host: string;
  apiKey: string;
  timeout: number;
  wait: { timeout: number; interval: number };
  batchSize: number;
  maxTotalHits?: number;
}

/** Checks the factory options: IN003 for a missing host or key, IN002 for a bad number. */
export function resolveOptions(opts: MeilisearchSearchOptions): ResolvedOptions {
  if (typeof opts?.host !== 'string' || opts.host.trim() === '') {
    throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[meilisearch] "host" is required');
  }
  if (typeof opts.apiKey !== 'string') {
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      '[meilisearch] "apiKey" is required (use "" for a server without a master key)',
    );
  }
  const positive = (value: unknown, name: string, fallback: number) =>
    positiveOption(value, name, fallback, PROVIDER);
  const resolved: ResolvedOptions = {
    host: opts.host,
    apiKey: opts.apiKey,
    timeout: positive(opts.timeoutMs, 'timeoutMs', 10_000),
    wait: {
      timeout: positive(opts.taskTimeoutMs, 'taskTimeoutMs', 30_000),
      interval: positive(opts.taskPollIntervalMs, 'taskPollIntervalMs', 50),
    },
    batchSize: Math.floor(positive(opts.batchSize, 'batchSize', 1000)),
  };
  if (opts.maxTotalHits !== undefined)
    resolved.maxTotalHits = Math.floor(positive(opts.maxTotalHits, 'maxTotalHits', 1));
  return resolved;
}
