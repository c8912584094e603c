import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import {
  configError,
  ErrorCode,
  IntegrationError,
  isPlainObject,
  positiveOption,
  type SearchCommonOptions,
} from '@fraiseql/core';
import type { ConfigurationOptions } from 'typesense';
import { PROVIDER } from './errors';
import type { TypesenseCollectionSchema } from './schema';

export interface TypesenseNode {
  host: string;
  port: number;
  /** `"http"` or `"https"`. */
  protocol: string;
  /** Path prefix when Typesense sits behind a proxy. Default `""`. */
  path?: string;
}

export interface TypesenseSearchOptions extends SearchCommonOptions {
  /** The cluster's nodes; the client rotates over them and retries on another node on failure. */
  nodes: TypesenseNode[];
  /** An API key allowed to manage collections and documents (sent as `X-TYPESENSE-API-KEY`). */
  apiKey: string;
  /**
   * Collections declared with their exact Typesense fields (types, facets, sort flags) instead of
   * being derived from an IndexConfig. An index listed here and in `indexes` uses these fields and
   * the IndexConfig for what is searchable/filterable/sortable. Default: none.
   */
  collections?: Record<string, TypesenseCollectionSchema>;
  /** Timeout (ms) of one HTTP request (a search, a schema call). Default 5000. */
  connectionTimeoutMs?: number;
  /** Deadline (ms) of one document import request (the client sets none). Default 60000. */
  importTimeoutMs?: number;
  /** Timeout (ms) of `healthCheck()` and of the start-up health check. Default 2000. */
  healthCheckTimeoutMs?: number;
  /** Retries of a request that failed on the network or with a 5xx, on the next node. Default: number of nodes. */
  numRetries?: number;
  /** Pause (ms) between those retries. Default 100. */
  retryIntervalMs?: number;
  /** Values returned per facet (Typesense's `max_facet_values`). Default 100. */
  maxFacetValues?: number;
  /** Documents per import request. Default 1000. */
  importBatchSize?: number;
}

/** Checks the factory options: IN003 without an API key, IN002 for bad nodes or timeouts. */
export function checkOptions(opts: TypesenseSearchOptions): void {
  const bad = (message: string) => configError(PROVIDER, message);
  if (!isPlainObject(opts)) throw bad('options are required');
  if (typeof opts.apiKey !== 'string' || opts.apiKey === '') {
    throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[typesense] apiKey is required');
  }
  if (!Array.isArray(opts.nodes) || opts.nodes.length === 0) throw bad('nodes must list at least one node');
  for (const n of opts.nodes) {
    if (!n || typeof n.host !== 'string' || n.host === '') throw bad('every node needs a host');
    if (!Number.isInteger(n.port) || n.port <= 0 || n.port > 65535)
      throw bad(`node ${n.host} has an invalid port`);
    if (n.protocol !== 'http' && n.protocol !== 'https')
      throw bad(`node ${n.host} must use protocol "http" or "https"`);
  }
  for (const key of ['connectionTimeoutMs', 'importTimeoutMs', 'healthCheckTimeoutMs'] as const) {
    positiveOption(opts[key], key, undefined, PROVIDER, 'milliseconds');
  }
}

const noop = () => {};
/** The client logs through loglevel's global logger and sets its level; this one keeps it quiet and local. */
const SILENT_LOGGER = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  log: noop,
  setLevel: noop,
  getLevel: () => 5,
  setDefaultLevel: noop,
  resetLevel: noop,
  enableAll: noop,
  disableAll: noop,
  rebuild: noop,
  methodFactory: () => noop,
  levels: { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, SILENT: 5 },
} as unknown as NonNullable<ConfigurationOptions['logger']>;

/** The client configuration of the provider's requests, on the given keep-alive agents. */
export function clientConfig(
  opts: TypesenseSearchOptions,
  httpAgent: HttpAgent,
  httpsAgent: HttpsAgent,
): ConfigurationOptions {
  return {
    nodes: opts.nodes.map((n) => ({
      host: n.host,
      port: n.port,
      protocol: n.protocol,
      path: n.path ?? '',
    })),
    apiKey: opts.apiKey,
    connectionTimeoutSeconds: (opts.connectionTimeoutMs ?? 5000) / 1000,
    numRetries: opts.numRetries ?? opts.nodes.length,
    retryIntervalSeconds: (opts.retryIntervalMs ?? 100) / 1000,
    logger: SILENT_LOGGER,
    httpAgent,
    httpsAgent,
  };
}
