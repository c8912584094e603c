import {
  assertOptionsObject,
  configError,
  isPlainObject,
  numberOption,
  positiveIntOption,
  positiveOption,
  redactSecrets,
  stringOption,
  urlSecrets,
} from '@fraiseql/core';
import type { AmqpConnectorOptions, AmqpExchange, AmqpQueue } from './types.ts';

export const PROVIDER = 'connector-amqp';
const EXCHANGE_TYPES = ['topic', 'direct', 'fanout'] as const;
/** AMQP short strings: at most 255 bytes; we keep names printable. */
const NAME = /^[A-Za-z0-9_.:\-/]{1,255}$/;

export interface ResolvedAmqpOptions {
  name: string;
  tag: string;
  url: string;
  secrets: string[];
  exchanges: Required<AmqpExchange>[];
  queues: (Required<Omit<AmqpQueue, 'deadLetterExchange'>> & { deadLetterExchange?: string })[];
  prefetch: number;
  operationTimeoutMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  requeueDelayMs: number;
  mandatory: boolean;
  connectionName: string;
  onError: NonNullable<AmqpConnectorOptions['onError']>;
}

function list<T>(value: unknown, field: string, tag: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw configError(tag, `${field} must be an array`, field);
  for (const [i, v] of value.entries())
    if (!isPlainObject(v)) throw configError(tag, `${field}[${i}] must be an object`, field);
  return value as T[];
}

function bool(value: unknown, field: string, fallback: boolean, tag: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw configError(tag, `${field} must be a boolean`, field);
  return value;
}

/** Checks every option (IN002 naming the bad one) and builds the connection URL. */
export function resolveOptions(options: AmqpConnectorOptions): ResolvedAmqpOptions {
  assertOptionsObject(options, PROVIDER);
  const name = stringOption(options.name, 'name', undefined, PROVIDER);
  if (name === undefined) throw configError(PROVIDER, 'name is required', 'name');
  const tag = `${PROVIDER} ${name}`;
  const raw = stringOption(options.url, 'url', undefined, tag);
  if (raw === undefined) throw configError(tag, 'url is required', 'url');
  const secrets = urlSecrets(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw configError(tag, `url is not a URL: ${JSON.stringify(redactSecrets(raw, secrets))}`, 'url');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')
    throw configError(tag, `url must be an amqp:// or amqps:// URL, got ${url.protocol}//…`, 'url');
  const vhost = options.vhost === undefined ? undefined : stringOption(options.vhost, 'vhost', '/', tag);
  if (vhost !== undefined) url.pathname = `/${encodeURIComponent(vhost)}`;
  const heartbeat = positiveIntOption(options.heartbeatS, 'heartbeatS', 10, tag);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(heartbeat));

  const exchanges = list<AmqpExchange>(options.exchanges, 'exchanges', tag).map((e, i) => {
    const field = `exchanges[${i}]`;
    const n = stringOption(e.name, `${field}.name`, undefined, tag, NAME);
    if (n === undefined) throw configError(tag, `${field}.name is required`, `${field}.name`);
    if (!EXCHANGE_TYPES.includes(e.type))
      throw configError(
        tag,
        `${field}.type must be one of ${EXCHANGE_TYPES.join(', ')}, got ${JSON.stringify(e.type)}`,
        `${field}.type`,
      );
    return { name: n, type: e.type, durable: bool(e.durable, `${field}.durable`, true, tag) };
  });
  const known = new Set(exchanges.map((e) => e.name));
  const queues = list<AmqpQueue>(options.queues, 'queues', tag).map((q, i) => {
    const field = `queues[${i}]`;
    const n = stringOption(q.name, `${field}.name`, undefined, tag, NAME);
    if (n === undefined) throw configError(tag, `${field}.name is required`, `${field}.name`);
    const bindings = list<{ exchange: string; routingKey?: string }>(
      q.bindings,
      `${field}.bindings`,
      tag,
    ).map((b, j) => {
      const bf = `${field}.bindings[${j}]`;
      const ex = stringOption(b.exchange, `${bf}.exchange`, undefined, tag, NAME);
      if (ex === undefined) throw configError(tag, `${bf}.exchange is required`, `${bf}.exchange`);
      if (!known.has(ex) && !ex.startsWith('amq.'))
        throw configError(
          tag,
          `${bf}.exchange "${ex}" is not among the declared exchanges`,
          `${bf}.exchange`,
        );
      if (b.routingKey !== undefined && typeof b.routingKey !== 'string')
        throw configError(tag, `${bf}.routingKey must be a string`, `${bf}.routingKey`);
      return { exchange: ex, routingKey: b.routingKey ?? '' };
    });
    const dlx =
      q.deadLetterExchange === undefined
        ? undefined
        : stringOption(q.deadLetterExchange, `${field}.deadLetterExchange`, undefined, tag, NAME);
    return {
      name: n,
      durable: bool(q.durable, `${field}.durable`, true, tag),
      bindings,
      ...(dlx ? { deadLetterExchange: dlx } : {}),
    };
  });

  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw configError(tag, 'onError must be a function', 'onError');
  return {
    name,
    tag,
    url: url.href,
    secrets,
    exchanges,
    queues,
    prefetch: numberInRange(options.prefetch, 'prefetch', 32, 65_535, tag),
    operationTimeoutMs: positiveOption(
      options.operationTimeoutMs,
      'operationTimeoutMs',
      10_000,
      tag,
      'milliseconds',
    ),
    reconnectInitialMs: positiveOption(
      options.reconnectInitialMs,
      'reconnectInitialMs',
      100,
      tag,
      'milliseconds',
    ),
    reconnectMaxMs: positiveOption(options.reconnectMaxMs, 'reconnectMaxMs', 5_000, tag, 'milliseconds'),
    requeueDelayMs: numberInRange(options.requeueDelayMs, 'requeueDelayMs', 1_000, 600_000, tag, 0),
    mandatory: bool(options.mandatory, 'mandatory', true, tag),
    connectionName: stringOption(options.connectionName, 'connectionName', `fraiseql:${name}`, tag),
    onError: options.onError ?? (() => {}),
  };
}

function numberInRange(value: unknown, field: string, fallback: number, max: number, tag: string, min = 1) {
  return numberOption(value, field, fallback, { provider: tag, integer: true, min, max });
}
