import {
  configError,
  describeError,
  ErrorCode,
  IntegrationError,
  networkErrorCode,
  redactSecrets,
  urlSecrets,
  withTimeout,
} from '@fraiseql/core';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { isReplyError, PROVIDER, toIntegrationError } from './errors';

/** The default server when neither `url`, `cluster` nodes nor `client` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface ConnectionSettings {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  maxReconnectDelayMs: number;
  redisOptions?: RedisOptions;
  clusterOptions?: ClusterOptions;
}

export interface OwnedConnection {
  client: Redis | Cluster;
  /** Passwords that must never appear in an error message. */
  secrets: string[];
  /** Where we connect, for messages, with any password masked. */
  target: string;
}

/**
 * Exponential backoff from 50 ms, capped at `capMs`, with jitter so a fleet of clients does not
 * reconnect in lockstep after an outage. Never gives up: the client heals by itself.
 */
export function reconnectDelay(attempt: number, capMs: number): number {
  const ceiling = Math.min(capMs, 50 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  return Math.max(1, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
}

const invalid = (message: string): IntegrationError => configError('redis', message);

interface ParsedNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** "host:port", "[::1]:7000", "host" or a redis:// / rediss:// URL. */
export function parseNode(spec: string): ParsedNode {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw invalid(`invalid cluster node ${JSON.stringify(spec)}`);
  const text = spec.trim();
  if (text.includes('://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid(`invalid Redis URL ${JSON.stringify(redactSecrets(text))}`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw invalid(`unsupported URL scheme ${url.protocol} in ${JSON.stringify(redactSecrets(text))}`);
    }
    const node: ParsedNode = {
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port ? Number(url.port) : 6379,
      tls: url.protocol === 'rediss:',
    };
    if (url.username) node.username = decodeURIComponent(url.username);
    if (url.password) node.password = decodeURIComponent(url.password);
    return node;
  }
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text);
  if (!m) throw invalid(`invalid cluster node ${JSON.stringify(text)}: use "host:port" or a redis:// URL`);
  const port = m[3] === undefined ? 6379 : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid(`invalid port in cluster node "${text}"`);
  return { host: (m[1] ?? m[2])!, port, tls: false };
}

function assertNoKeyPrefix(opts: { keyPrefix?: string } | undefined, where: string): void {
  if (opts?.keyPrefix) {
    // SCAN patterns are not rewritten by ioredis' keyPrefix; one prefix, applied by us, keeps
    // deletePattern exact.
    throw invalid(`${where}.keyPrefix is not supported; use the cache option \`prefix\` instead`);
  }
}

/** Builds (but does not connect) the client this provider will own and close. */
export function createOwnedClient(
  opts: { url?: string; cluster?: boolean | { nodes: string[] } },
  settings: ConnectionSettings,
): OwnedConnection {
  assertNoKeyPrefix(settings.redisOptions, 'redisOptions');
  assertNoKeyPrefix(settings.clusterOptions, 'clusterOptions');
  assertNoKeyPrefix(settings.clusterOptions?.redisOptions, 'clusterOptions.redisOptions');
  const url = opts.url ?? DEFAULT_REDIS_URL;
  const retryStrategy = (attempt: number) => reconnectDelay(attempt, settings.maxReconnectDelayMs);
  const base: RedisOptions = {
    connectTimeout: settings.connectTimeoutMs,
    // One timer per socket (armed while replies are due), not one per command: Redis answers in
    // order, so "no byte for N ms while commands wait" means the oldest command waited N ms.
    // A per-command `commandTimeout` costs a setTimeout per call — a quarter of the throughput.
    socketTimeout: settings.commandTimeoutMs,
    // A command whose connection dies fails at once instead of being replayed later: replaying
    // is unsafe for INCRBY, and callers (or the resilience layer) decide about retries.
    maxRetriesPerRequest: 0,
    // After a failover behind one DNS name the old socket may land on a replica: READONLY
    // replies mean "reconnect", which then reaches the new primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  const secrets = [...urlSecrets(url), settings.redisOptions?.password ?? ''].filter((s) => s.length > 0);

  if (opts.cluster) {
    const seeds = opts.cluster === true ? [url] : opts.cluster.nodes;
    if (!Array.isArray(seeds) || seeds.length === 0)
      throw invalid('cluster.nodes must list at least one node');
    const parsed = seeds.map(parseNode);
    const auth = parsed.find((n) => n.password !== undefined || n.username !== undefined);
    for (const n of parsed) if (n.password) secrets.push(n.password);
    const nodes: ClusterNode[] = parsed.map((n) => ({ host: n.host, port: n.port }));
    const redisOptions: RedisOptions = {
      ...base,
      ...(auth?.username ? { username: auth.username } : {}),
      ...(auth?.password ? { password: auth.password } : {}),
      ...(parsed.some((n) => n.tls) ? { tls: {} } : {}),
      ...settings.redisOptions,
      ...settings.clusterOptions?.redisOptions,
    };
    const clusterOptions: ClusterOptions = {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      scaleReads: 'master',
      clusterRetryStrategy: retryStrategy,
      ...settings.clusterOptions,
      redisOptions,
      lazyConnect: true,
    };
    const target = `cluster ${parsed.map((n) => `${n.host}:${n.port}`).join(',')}`;
    return { client: new Cluster(nodes, clusterOptions), secrets, target };
  }

  if (!/^rediss?:\/\//i.test(url)) {
    throw invalid(
      `invalid Redis URL ${JSON.stringify(redactSecrets(url, secrets))}: use redis:// or rediss://`,
    );
  }
  try {
    new URL(url);
  } catch {
    throw invalid(`invalid Redis URL ${JSON.stringify(redactSecrets(url, secrets))}`);
  }
  const client = new Redis(url, {
    ...base,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    retryStrategy,
    ...settings.redisOptions,
    lazyConnect: true,
  });
  return { client, secrets, target: redactSecrets(url, secrets) };
}

/** Waits (at most `ms`) until ioredis has written every auto-pipelined command to the socket. */
export async function drainAutoPipeline(client: Redis | Cluster, ms: number): Promise<void> {
  const queued = () => (client as { autoPipelineQueueSize?: number }).autoPipelineQueueSize ?? 0;
  const deadline = Date.now() + ms;
  while (queued() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
}

/** Connects (if needed) and PINGs within `timeoutMs`; on failure an owned client is shut down. */
export async function verify(
  close: () => Promise<void>,
  client: Redis | Cluster,
  timeoutMs: number,
  target: string,
  secrets: string[] = [],
): Promise<void> {
  const seen: unknown[] = [];
  const record = (err: unknown) => {
    if (seen.length < 20) seen.push(err);
  };
  client.on('error', record);
  // A cluster reports why its seeds failed only per node.
  if (client.isCluster) client.on('node error', record);
  try {
    const connectAndPing = async () => {
      if (client.status === 'end') throw new Error('Connection is closed.');
      if (client.status === 'wait') await client.connect();
      await client.ping();
    };
    // The handshake may stall after the socket connected (AUTH, a loading replica): bound it all.
    await withTimeout(connectAndPing(), timeoutMs + 1000, () => {
      const err = new Error(`no answer within ${timeoutMs + 1000} ms`) as Error & { code: string };
      err.code = 'ETIMEDOUT';
      return err;
    });
  } catch (err) {
    // A cluster reports "all nodes failed" last; the socket error before it says why.
    const cause = seen.find((e) => networkErrorCode(e) !== undefined) ?? seen.at(-1) ?? err;
    await close().catch(() => {});
    const context = `could not connect to ${target}`;
    // A refusal by the server itself (WRONGPASS, LOADING, …) keeps its reply-based code.
    if (isReplyError(cause))
      throw toIntegrationError(cause, context, { secrets, lastConnectionError: () => undefined });
    const code = networkErrorCode(cause) ?? networkErrorCode(err) ?? ErrorCode.CacheConnectionFailed;
    throw IntegrationError.provider(
      code,
      PROVIDER,
      `[redis] ${context}: ${describeError(cause, secrets)}`,
      cause,
    );
  } finally {
    client.off('error', record);
    if (client.isCluster) client.off('node error', record);
  }
}
