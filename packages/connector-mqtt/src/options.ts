import { randomBytes } from 'node:crypto';
import {
  assertOptionsObject,
  configError,
  isPlainObject,
  numberOption,
  positiveOption,
  redactSecrets,
  stringOption,
  urlSecrets,
} from '@fraiseql/core';
import { PROVIDER } from './errors.ts';
import { validFilter, validTopic } from './topics.ts';
import type { MqttConnectorOptions, Qos } from './types.ts';

export interface ResolvedMqttOptions {
  name: string;
  tag: string;
  broker: string;
  secrets: string[];
  clientId: string;
  clean: boolean;
  keepAliveS: number;
  qosOf: Map<string, Qos>;
  username?: string;
  password?: string;
  operationTimeoutMs: number;
  reconnectPeriodMs: number;
  publishQos: Qos;
  deadLetterTopic?: string;
  retryDelayMs: number;
  concurrency: number;
  onError: NonNullable<MqttConnectorOptions['onError']>;
}

const PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];

export function qosOption(value: unknown, field: string, fallback: Qos, tag: string): Qos {
  return numberOption(value, field, fallback, { provider: tag, integer: true, min: 0, max: 2 }) as Qos;
}

/** Checks every option (IN002 naming the bad one). */
export function resolveOptions(options: MqttConnectorOptions): ResolvedMqttOptions {
  assertOptionsObject(options, PROVIDER);
  const name = stringOption(options.name, 'name', undefined, PROVIDER);
  if (name === undefined) throw configError(PROVIDER, 'name is required', 'name');
  const tag = `${PROVIDER} ${name}`;
  const broker = stringOption(options.broker, 'broker', undefined, tag);
  if (broker === undefined) throw configError(tag, 'broker is required', 'broker');
  const secrets = urlSecrets(broker);
  let url: URL;
  try {
    url = new URL(broker);
  } catch {
    throw configError(
      tag,
      `broker is not a URL: ${JSON.stringify(redactSecrets(broker, secrets))}`,
      'broker',
    );
  }
  if (!PROTOCOLS.includes(url.protocol))
    throw configError(
      tag,
      `broker must be an mqtt://, mqtts://, ws:// or wss:// URL, got ${url.protocol}//…`,
      'broker',
    );
  const password =
    options.password === undefined ? undefined : stringOption(options.password, 'password', '', tag);
  if (password) secrets.push(password);
  const username =
    options.username === undefined ? undefined : stringOption(options.username, 'username', '', tag);

  // MQTT 3.1.1 sends no password without a user name (mqtt.js would fail silently).
  if (password !== undefined && username === undefined)
    throw configError(tag, 'password needs a username', 'username');
  const qosOf = new Map<string, Qos>();
  if (options.topics !== undefined && !Array.isArray(options.topics))
    throw configError(tag, 'topics must be an array', 'topics');
  for (const [i, t] of (options.topics ?? []).entries()) {
    const field = `topics[${i}]`;
    if (!isPlainObject(t)) throw configError(tag, `${field} must be an object`, field);
    const filter = stringOption(t.name, `${field}.name`, undefined, tag);
    if (filter === undefined || !validFilter(filter))
      throw configError(
        tag,
        `${field}.name must be an MQTT topic filter (+ and # only as whole levels, # last), got ${JSON.stringify(t.name)}`,
        `${field}.name`,
      );
    qosOf.set(filter, qosOption(t.qos, `${field}.qos`, 1, tag));
  }
  const deadLetterTopic = stringOption(options.deadLetterTopic, 'deadLetterTopic', undefined, tag);
  if (deadLetterTopic !== undefined && !validTopic(deadLetterTopic))
    throw configError(tag, 'deadLetterTopic must be a topic without wildcards', 'deadLetterTopic');
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw configError(tag, 'onError must be a function', 'onError');
  if (options.cleanSession !== undefined && typeof options.cleanSession !== 'boolean')
    throw configError(tag, 'cleanSession must be a boolean', 'cleanSession');
  return {
    name,
    tag,
    broker,
    secrets,
    clientId: stringOption(
      options.clientId,
      'clientId',
      `fraiseql_${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`,
      tag,
    ),
    clean: options.cleanSession ?? false,
    keepAliveS: numberOption(options.keepAliveS, 'keepAliveS', 30, {
      provider: tag,
      integer: true,
      min: 0,
      max: 65_535,
    }),
    qosOf,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    operationTimeoutMs: positiveOption(
      options.operationTimeoutMs,
      'operationTimeoutMs',
      10_000,
      tag,
      'milliseconds',
    ),
    reconnectPeriodMs: positiveOption(
      options.reconnectPeriodMs,
      'reconnectPeriodMs',
      1_000,
      tag,
      'milliseconds',
    ),
    publishQos: qosOption(options.publishQos, 'publishQos', 1, tag),
    ...(deadLetterTopic === undefined ? {} : { deadLetterTopic }),
    retryDelayMs: numberOption(options.retryDelayMs, 'retryDelayMs', 1_000, { provider: tag, min: 0 }),
    concurrency: numberOption(options.concurrency, 'concurrency', 1, {
      provider: tag,
      integer: true,
      min: 1,
      max: 65_535,
    }),
    onError: options.onError ?? (() => {}),
  };
}
