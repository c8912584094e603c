import type { Client } from '@elastic/elasticsearch';
import { ErrorCode, IntegrationError, positiveOption, type SearchCommonOptions } from '@fraiseql/core';
import { PROVIDER } from './errors';

export interface ElasticsearchSearchOptions extends SearchCommonOptions {
  /**
   * URL of a node, or of several (`http://127.0.0.1:9200`; config `url_env`). Required unless
   * `client` is given.
   */
  node?: string | string[];
  /**
   * API key sent as `Authorization: ApiKey <key>` (config `api_key_env`): the encoded form
   * Elasticsearch returns as `encoded` (base64 of `id:api_key`). Default: none.
   */
  apiKey?: string;
  /** HTTP Basic credentials, when no API key is used. Default: none. */
  auth?: { username: string; password: string };
  /** An already configured client (its own auth/TLS); `node`, `apiKey` and `auth` are then ignored. */
  client?: Client;
  /** Timeout of every request in ms; a request that takes longer is IN102. Default 10000. */
  timeoutMs?: number;
  /** Retries of a request on connection errors and 502/503/504 by the client. Default 2. */
  maxRetries?: number;
  /** Documents per `_bulk` request in `indexDocuments`. Default 1000. */
  batchSize?: number;
  /**
   * Write the audit index template (and its lifecycle policy) the first time the observers'
   * `audit` action writes, with `ensureAuditTemplate`'s defaults. Default true.
   */
  auditTemplate?: boolean;
}

export interface ResolvedOptions {
  timeout: number;
  maxRetries: number;
  batchSize: number;
  auditTemplate: boolean;
  secrets: string[];
}

/** Checks the factory options: IN001 without a node, IN002 for a bad number. */
export function resolveOptions(opts: ElasticsearchSearchOptions): ResolvedOptions {
  if (!opts || typeof opts !== 'object')
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      `[${PROVIDER}] options are required`,
    );
  const nodes = Array.isArray(opts.node) ? opts.node : [opts.node];
  if (!opts.client && (nodes.length === 0 || nodes.some((n) => typeof n !== 'string' || n.trim() === ''))) {
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      `[${PROVIDER}] "node" is required (e.g. "http://127.0.0.1:9200")`,
    );
  }
  if (opts.apiKey !== undefined && (typeof opts.apiKey !== 'string' || opts.apiKey === '')) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] "apiKey" must be a non-empty string`,
    );
  }
  if (
    opts.auth !== undefined &&
    (typeof opts.auth?.username !== 'string' || typeof opts.auth?.password !== 'string')
  ) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] "auth" must be { username, password }`,
    );
  }
  const positive = (value: unknown, name: string, fallback: number) =>
    positiveOption(value, name, fallback, PROVIDER);
  const retries = opts.maxRetries ?? 2;
  if (!Number.isInteger(retries) || retries < 0)
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] "maxRetries" must be an integer ≥ 0`,
    );
  const secrets = [opts.apiKey, opts.auth?.password].filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
  // The decoded `id:key` form could also show up in a server message.
  if (opts.apiKey) {
    const decoded = Buffer.from(opts.apiKey, 'base64').toString('utf8');
    if (/^[\x20-\x7e]+$/.test(decoded) && decoded.includes(':'))
      secrets.push(decoded, decoded.split(':').slice(1).join(':'));
  }
  return {
    timeout: positive(opts.timeoutMs, 'timeoutMs', 10_000),
    maxRetries: retries,
    batchSize: Math.floor(positive(opts.batchSize, 'batchSize', 1000)),
    auditTemplate: opts.auditTemplate !== false,
    secrets,
  };
}
