import {
  configError,
  ErrorCode,
  IntegrationError,
  positiveOption,
  type SearchCommonOptions,
  type SearchProvider,
} from '@fraiseql/core';
import { PROVIDER } from './errors';

export interface AlgoliaSearchOptions extends SearchCommonOptions {
  /** Algolia application id. Required. */
  appId: string;
  /**
   * API key with the `search`, `addObject`, `deleteObject`, `deleteIndex`, `settings`,
   * `editSettings` and `listIndexes` ACLs (an admin key, or a key scoped to your indexes).
   * Required; never included in error messages.
   */
  apiKey: string;
  /**
   * Hosts to call instead of Algolia's (`<appId>-dsn.algolia.net` for reads, `<appId>.algolia.net`
   * for writes, then `<appId>-1…3.algolianet.com` as fallbacks). Each is `host`, `host:port`
   * (HTTPS) or a URL `http(s)://host:port`. Default: Algolia's hosts.
   */
  hosts?: string[];
  /**
   * Deadline of one API call, in ms, including the client's retries across hosts; past it the
   * call fails with IN102. Default 5000.
   */
  timeoutMs?: number;
  /** How long a write waits for its task to be published before failing with IN105, in ms. Default 30000. */
  taskTimeoutMs?: number;
  /** Records per batch request. Default 1000 (Algolia recommends batches of about 1000 records / 10 MB). */
  batchSize?: number;
}

/** The Algolia provider: the SearchProvider contract plus `dropIndex`. */
export interface AlgoliaSearchProvider extends SearchProvider {
  readonly name: 'algolia';
  /** Deletes an index and the sort replicas the provider created for it (missing indexes are fine). */
  dropIndex(index: string): Promise<void>;
}

export interface AlgoliaHost {
  url: string;
  port?: number;
  protocol: 'http' | 'https';
  accept: 'readWrite';
}

/** The checked options the provider runs with. */
export interface ResolvedOptions {
  appId: string;
  apiKey: string;
  timeoutMs: number;
  taskTimeoutMs: number;
  batchSize: number;
  hosts?: AlgoliaHost[];
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_TASK_TIMEOUT_MS = 30_000;
const DEFAULT_BATCH_SIZE = 1_000;

function parseHost(raw: string): AlgoliaHost {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw configError(PROVIDER, 'hosts entries must be non-empty strings', 'hosts');
  const m = /^(https?):\/\/(.*)$/i.exec(raw.trim());
  const protocol = (m ? m[1]!.toLowerCase() : 'https') as 'http' | 'https';
  let u: URL;
  try {
    u = new URL(`${protocol}://${(m ? m[2]! : raw.trim()).replace(/\/+$/, '')}`);
  } catch {
    throw configError(PROVIDER, `invalid host ${JSON.stringify(raw)}`, 'hosts');
  }
  if (u.pathname !== '/' || u.search)
    throw configError(PROVIDER, `a host cannot carry a path: ${JSON.stringify(raw)}`, 'hosts');
  return { url: u.hostname, ...(u.port ? { port: Number(u.port) } : {}), protocol, accept: 'readWrite' };
}

/** Checks the factory options: IN003 for a missing app id or key, IN002 for a bad value. */
export function resolveOptions(opts: AlgoliaSearchOptions): ResolvedOptions {
  if (typeof opts?.appId !== 'string' || opts.appId.trim() === '') {
    throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[algolia] appId is required');
  }
  if (typeof opts.apiKey !== 'string' || opts.apiKey === '') {
    throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[algolia] apiKey is required');
  }
  const ms = (value: unknown, name: string, fallback: number) =>
    positiveOption(value, name, fallback, PROVIDER, 'milliseconds');
  const resolved: ResolvedOptions = {
    appId: opts.appId,
    apiKey: opts.apiKey,
    timeoutMs: ms(opts.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS),
    taskTimeoutMs: ms(opts.taskTimeoutMs, 'taskTimeoutMs', DEFAULT_TASK_TIMEOUT_MS),
    batchSize: Math.floor(positiveOption(opts.batchSize, 'batchSize', DEFAULT_BATCH_SIZE, PROVIDER)),
  };
  if (opts.hosts !== undefined && (!Array.isArray(opts.hosts) || opts.hosts.length === 0)) {
    throw configError(PROVIDER, 'hosts must be a non-empty array', 'hosts');
  }
  if (opts.hosts) resolved.hosts = opts.hosts.map(parseHost);
  return resolved;
}
