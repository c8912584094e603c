import {
  assertConcurrency,
  configError,
  DEFAULT_MAX_JOB_BYTES,
  ErrorCode,
  IntegrationError,
  positiveIntOption,
  positiveOption,
  type QueueCommonOptions,
  type QueueOptions,
  redactSecrets,
  urlSecrets,
} from '@fraiseql/core';
import { DEFAULT_MAX_PRIORITY, MAX_PRIORITY_LIMIT } from './topology';

/** Settings of one queue (`queues.<name>` or `queueDefaults`): the common ones plus RabbitMQ's. */
export interface RabbitQueueSettings extends QueueOptions {
  /**
   * Priority levels of the queue's jobs queue (`x-max-priority`), 0-255. RabbitMQ keeps one
   * internal queue per level, so fewer levels are faster. Priorities map onto levels by magnitude
   * (with 10: 0 | 1 | 2–3 | 4–7 | 8–15 | 16+, mirrored below 0; see `priorityLevel`); within a
   * level jobs run oldest first. `0` declares a plain queue — the broker's fastest path — and then an
   * `enqueue` with a non-zero `priority` on that queue throws IN005. Fixed when the queue is first
   * declared (RabbitMQ cannot change it; a queue declared by 0.x keeps its 20 levels).
   * Default 10 (RabbitMQ's guidance).
   */
  maxPriority?: number;
}

/** Options of {@link createRabbitQueue}, on top of the options every queue factory takes. */
export interface RabbitQueueOptions extends QueueCommonOptions {
  /** Settings for queues not listed in `queues` (see {@link RabbitQueueSettings}). */
  queueDefaults?: RabbitQueueSettings;
  /** Settings per queue name (see {@link RabbitQueueSettings}). */
  queues?: Record<string, RabbitQueueSettings>;
  /**
   * AMQP URL, e.g. `amqp://user:pass@host:5672/vhost` (`amqps://` for TLS). Query parameters
   * (`heartbeat`, `frameMax`, …) pass through to amqplib; without `heartbeat` it is derived from
   * `visibilityTimeoutMs`. Required.
   */
  url: string;
  /**
   * First segment of every queue and exchange name this provider declares (see the table in the
   * package README). 1-64 characters of `[A-Za-z0-9_.:-]`, not starting with `amq.`.
   * Default `"fraiseql"`.
   */
  prefix?: string;
  /**
   * How long `enqueue` (and any other call) waits for the broker: for a lost connection to come
   * back and for the publisher confirm. Past it the call fails with IN502 (disconnected) or IN500
   * (no confirm) — it never hangs. Default 10_000 ms.
   */
  operationTimeoutMs?: number;
  /** Limit of the first connection attempt in the factory. Default 10_000 ms. */
  connectTimeoutMs?: number;
  /** First delay before reconnecting after a connection loss; doubles per failed attempt. Default 100 ms. */
  reconnectInitialDelayMs?: number;
  /** Cap of the reconnect delay. Default 5_000 ms. */
  reconnectMaxDelayMs?: number;
  /** Largest job payload as JSON, in bytes; larger data is IN308. Default 1 MiB. */
  maxJobBytes?: number;
  /**
   * How long `Worker.close()` without `timeoutMs` (and `provider.close()`) waits for running
   * jobs before aborting them and handing them back. Default 30_000 ms.
   */
  shutdownTimeoutMs?: number;
  /** `healthCheck()` resolves false after this long. Default 2_000 ms. */
  healthCheckTimeoutMs?: number;
  /**
   * Name of the connection as the broker shows it (management UI, `rabbitmqctl list_connections
   * client_properties`). Default `"fraiseql-queue pid <pid>"`.
   */
  connectionName?: string;
}

export interface ResolvedRabbitOptions {
  url: string;
  /** `url` with the password masked, for messages. */
  safeUrl: string;
  password: string | undefined;
  prefix: string;
  operationTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  maxJobBytes: number;
  shutdownTimeoutMs: number;
  healthCheckTimeoutMs: number;
  connectionName: string;
  concurrency: number;
  heartbeatSeconds: number;
  common: RabbitQueueOptions;
}

const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

function invalid(message: string): IntegrationError {
  return configError('rabbitmq', message);
}

/**
 * Validates the factory options. A rate limit is refused (IN005): RabbitMQ has no shared counter
 * to enforce "at most N starts per second across workers", and a per-process limit would quietly
 * allow N × processes.
 */
export function resolveOptions(opts: RabbitQueueOptions): ResolvedRabbitOptions {
  if (opts === null || typeof opts !== 'object') throw invalid('options must be an object');
  if (typeof opts.url !== 'string' || opts.url.length === 0) {
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      '[rabbitmq] url is required (amqp://user:pass@host:5672/vhost)',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw invalid(`url is not a valid URL: ${redactSecrets(opts.url)}`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw invalid(`url must start with amqp:// or amqps://, got ${redactSecrets(opts.url)}`);
  }
  const prefix = opts.prefix ?? 'fraiseql';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.startsWith('amq.')) {
    throw invalid(
      `prefix must be 1-64 characters of A-Z a-z 0-9 _ . : - and not start with "amq.", got ${JSON.stringify(prefix)}`,
    );
  }
  for (const [name, q] of [
    ['queueDefaults', opts.queueDefaults],
    ...Object.entries(opts.queues ?? {}).map(([k, v]) => [`queues.${k}`, v] as const),
  ] as const) {
    const mp = q?.maxPriority;
    if (mp !== undefined && (!Number.isInteger(mp) || mp < 0 || mp > MAX_PRIORITY_LIMIT)) {
      throw invalid(
        `${name}.maxPriority must be an integer from 0 to ${MAX_PRIORITY_LIMIT}, got ${String(mp)}`,
      );
    }
    if (q?.rateLimit !== undefined) {
      throw new IntegrationError(
        ErrorCode.UnsupportedOperation,
        `[rabbitmq] ${name}.rateLimit is not supported: RabbitMQ cannot count job starts across workers`,
        { provider: 'rabbitmq', field: `${name}.rateLimit` },
      );
    }
  }
  const visibilityTimeoutMs = positiveOption(
    opts.visibilityTimeoutMs,
    'visibilityTimeoutMs',
    30_000,
    'rabbitmq',
    'milliseconds',
  );
  const maxJobBytes = positiveIntOption(opts.maxJobBytes, 'maxJobBytes', DEFAULT_MAX_JOB_BYTES, 'rabbitmq');
  let concurrency: number;
  try {
    concurrency = assertConcurrency(opts.concurrency);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const reconnectInitialDelayMs = positiveOption(
    opts.reconnectInitialDelayMs,
    'reconnectInitialDelayMs',
    100,
    'rabbitmq',
    'milliseconds',
  );
  return {
    url: opts.url,
    safeUrl: redactSecrets(opts.url),
    // The decoded password (the raw one when it needs no decoding), to mask in messages.
    password: urlSecrets(opts.url).at(-1),
    prefix,
    operationTimeoutMs: positiveOption(
      opts.operationTimeoutMs,
      'operationTimeoutMs',
      10_000,
      'rabbitmq',
      'milliseconds',
    ),
    connectTimeoutMs: positiveOption(
      opts.connectTimeoutMs,
      'connectTimeoutMs',
      10_000,
      'rabbitmq',
      'milliseconds',
    ),
    reconnectInitialDelayMs,
    reconnectMaxDelayMs: Math.max(
      reconnectInitialDelayMs,
      positiveOption(opts.reconnectMaxDelayMs, 'reconnectMaxDelayMs', 5_000, 'rabbitmq', 'milliseconds'),
    ),
    maxJobBytes,
    shutdownTimeoutMs: positiveOption(
      opts.shutdownTimeoutMs,
      'shutdownTimeoutMs',
      30_000,
      'rabbitmq',
      'milliseconds',
    ),
    healthCheckTimeoutMs: positiveOption(
      opts.healthCheckTimeoutMs,
      'healthCheckTimeoutMs',
      2_000,
      'rabbitmq',
      'milliseconds',
    ),
    connectionName:
      typeof opts.connectionName === 'string' && opts.connectionName.length > 0
        ? opts.connectionName
        : `fraiseql-queue pid ${process.pid}`,
    concurrency,
    // The broker drops a silent peer after about two missed heartbeats, which makes the
    // heartbeat our lease: a vanished worker's unacked jobs come back after ~visibilityTimeoutMs.
    heartbeatSeconds: Math.min(300, Math.max(1, Math.round(visibilityTimeoutMs / 2000))),
    common: opts,
  };
}

/** `maxPriority` of a queue: its own setting, else `queueDefaults`, else 10. */
export function maxPriorityOf(opts: ResolvedRabbitOptions, queue: string): number {
  const own = opts.common.queues?.[queue];
  return own?.maxPriority ?? opts.common.queueDefaults?.maxPriority ?? DEFAULT_MAX_PRIORITY;
}

/** The URL amqplib gets: the caller's, with a heartbeat unless it names one itself. */
export function connectUrl(opts: ResolvedRabbitOptions): string {
  const u = new URL(opts.url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(opts.heartbeatSeconds));
  return u.toString();
}
