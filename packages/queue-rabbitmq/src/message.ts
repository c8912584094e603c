import { DEFAULT_QUEUE_OPTIONS } from '@fraiseql/core';
import type { Options } from 'amqplib';
import { BadEnvelope, decodeEnvelope, type Envelope } from './envelope';
import { uuidV7Time } from './ids';
import { priorityLevel } from './topology';

/**
 * The job message format (version 3, "lean"): the body is the job's data as JSON and nothing
 * else; the job's metadata travels in the AMQP properties (`messageId` = job id, a version 7 UUID
 * that also carries the creation time, see `ids.ts`; `priority` = its level; `type` =
 * {@link JOB_TYPE}) and in `fraiseql-*` headers, each present only when it differs from the
 * fresh-job default:
 *
 * | header | meaning | when absent |
 * |---|---|---|
 * | `fraiseql-created` | creation, epoch ms | the time in the id (a version 7 UUID) |
 * | `fraiseql-max-retries` | retry budget | {@link DEFAULT_MAX_RETRIES} (3) |
 * | `fraiseql-priority` | the job's priority (the level alone loses values beyond the range) | 0 |
 * | `fraiseql-run-at` | due time, epoch ms | the creation time |
 * | `fraiseql-delay` | the delay `run-at` was computed from, ms | none |
 * | `fraiseql-timeout` | the job's own handler limit, ms | the queue's `timeoutMs` |
 * | `fraiseql-attempts` / `-failures` / `-lost` | runs started / failed / lost with their worker | 0 |
 * | `fraiseql-last-error` | the last failure (at most {@link MAX_ERROR_CHARS} characters) | none |
 * | `fraiseql-failed-at` | when it failed, epoch ms (dead-letter queue) | none |
 *
 * Why so few bytes: RabbitMQ handles a message whose encoded properties fit in 64 bytes (an
 * Erlang heap binary) markedly faster than one whose properties do not — measured on 3.10 with
 * raw amqplib, 9000 persistent messages in batches of 1000: 62 bytes of properties ran at 0.97×
 * the throughput of the 25 of `contentType` + `deliveryMode` + `priority`, 66 bytes at 0.87×, and
 * version 2 of this format (`contentType`, `timestamp` and two headers on top, ~140 bytes) at
 * 0.7×. A fresh job with the default retry budget and priority 0 takes 61 bytes (58 on a queue
 * without priority levels); other jobs carry the headers they need and take the slower path.
 *
 * Messages of version 2 (`type` `fraiseql.job.v2`, also `contentType` and `timestamp`, the two
 * headers always present) and of the first format (a JSON envelope `{ v: 1, … }` as the body) are
 * still read.
 */
export const JOB_TYPE = 'fraiseql.job.v3';
/** The `type` of version 2 job messages (still read). */
export const JOB_TYPE_V2 = 'fraiseql.job.v2';
/** A job's retry budget when its message has no `fraiseql-max-retries` header. */
export const DEFAULT_MAX_RETRIES = DEFAULT_QUEUE_OPTIONS.maxRetries;
/** The last error kept with a job is cut to this many characters (headers share one frame). */
export const MAX_ERROR_CHARS = 2000;

const H = {
  created: 'fraiseql-created',
  maxRetries: 'fraiseql-max-retries',
  priority: 'fraiseql-priority',
  runAt: 'fraiseql-run-at',
  delay: 'fraiseql-delay',
  timeout: 'fraiseql-timeout',
  attempts: 'fraiseql-attempts',
  failures: 'fraiseql-failures',
  lost: 'fraiseql-lost',
  lastError: 'fraiseql-last-error',
  failedAt: 'fraiseql-failed-at',
} as const;

/** The body of a job message: its data as JSON; the delivered bytes again when it has them. */
function body(env: Envelope, dataJson: string | undefined): Buffer {
  if (env.body !== undefined) return env.body;
  return Buffer.from(dataJson ?? JSON.stringify(env.data) ?? 'null', 'utf8');
}

/** Content and properties of the message that carries `env`, on a queue with `maxPriority` levels. */
export function jobMessage(
  env: Envelope,
  maxPriority: number,
  dataJson?: string,
): { content: Buffer; props: Options.Publish } {
  let headers: Record<string, number | string> | undefined;
  const header = (name: string, value: number | string) => {
    headers ??= {};
    headers[name] = value;
  };
  if (uuidV7Time(env.id) !== env.createdAt) header(H.created, env.createdAt);
  if (env.maxRetries !== DEFAULT_MAX_RETRIES) header(H.maxRetries, env.maxRetries);
  if (env.priority !== 0) header(H.priority, env.priority);
  if (env.runAt !== env.createdAt) header(H.runAt, env.runAt);
  if (env.delayMs !== undefined) header(H.delay, env.delayMs);
  if (env.timeoutMs !== undefined) header(H.timeout, env.timeoutMs);
  if (env.attempts > 0) header(H.attempts, env.attempts);
  if (env.failures > 0) header(H.failures, env.failures);
  if (env.lost > 0) header(H.lost, env.lost);
  if (env.lastError !== undefined) header(H.lastError, env.lastError.slice(0, MAX_ERROR_CHARS));
  if (env.failedAt !== undefined) header(H.failedAt, env.failedAt);
  const props: Options.Publish = {
    // Published mandatory (see `RabbitConnection.publish`); set here so it needs no copy per publish.
    mandatory: true,
    persistent: true,
    messageId: env.id,
    type: JOB_TYPE,
  };
  if (headers !== undefined) props.headers = headers;
  if (maxPriority > 0) props.priority = priorityLevel(env.priority, maxPriority);
  return { content: body(env, dataJson), props };
}

/** What {@link readJob} needs of a delivery (a consumed or fetched message). */
export interface JobDelivery {
  content: Buffer;
  properties: { type?: unknown; messageId?: unknown; headers?: Record<string, unknown> | undefined };
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The job a delivery of `queue` carries, in either format. Throws {@link BadEnvelope} for a
 * message that is neither (it is then quarantined in the dead-letter queue).
 */
export function readJob(msg: JobDelivery, queue: string): Envelope {
  // By its headers or its id too: a 0.x worker quarantines a message it cannot read without its
  // `type` (during a rolling upgrade), and `retryFailed` must still bring it back. (Ids of the
  // first format are version 4 UUIDs.)
  const type = msg.properties.type;
  if (
    type !== JOB_TYPE &&
    type !== JOB_TYPE_V2 &&
    msg.properties.headers?.[H.created] === undefined &&
    (typeof msg.properties.messageId !== 'string' || uuidV7Time(msg.properties.messageId) === undefined)
  ) {
    const env = decodeEnvelope(msg.content);
    // Whatever the body claims, a delivery of this queue stays in this queue.
    env.queue = queue;
    return env;
  }
  const h = msg.properties.headers ?? {};
  const id = msg.properties.messageId;
  if (typeof id !== 'string') throw new BadEnvelope('message properties are not those of a fraiseql job');
  const createdAt = h[H.created] ?? uuidV7Time(id);
  const maxRetries = h[H.maxRetries] ?? DEFAULT_MAX_RETRIES;
  if (!isTime(createdAt) || !isCount(maxRetries)) {
    throw new BadEnvelope('message properties are not those of a fraiseql job');
  }
  let data: unknown;
  try {
    data = JSON.parse(msg.content.toString('utf8'));
  } catch {
    throw new BadEnvelope('message body is not JSON');
  }
  const count = (name: string): number => {
    const v = h[name];
    if (v === undefined) return 0;
    if (!isCount(v)) throw new BadEnvelope(`header ${name} is not a count`);
    return v;
  };
  const time = (name: string): number | undefined => {
    const v = h[name];
    if (v === undefined) return undefined;
    if (!isTime(v)) throw new BadEnvelope(`header ${name} is not a number`);
    return v;
  };
  const priority = h[H.priority] ?? 0;
  if (!Number.isInteger(priority)) throw new BadEnvelope(`header ${H.priority} is not an integer`);
  const env: Envelope = {
    v: 1,
    id,
    queue,
    data,
    attempts: count(H.attempts),
    failures: count(H.failures),
    lost: count(H.lost),
    maxRetries,
    priority: priority as number,
    createdAt,
    runAt: time(H.runAt) ?? createdAt,
    body: msg.content,
  };
  const delayMs = time(H.delay);
  if (delayMs !== undefined) env.delayMs = delayMs;
  const timeoutMs = time(H.timeout);
  if (timeoutMs !== undefined) env.timeoutMs = timeoutMs;
  const failedAt = time(H.failedAt);
  if (failedAt !== undefined) env.failedAt = failedAt;
  const lastError = h[H.lastError];
  if (lastError !== undefined)
    env.lastError = Buffer.isBuffer(lastError) ? lastError.toString('utf8') : String(lastError);
  return env;
}

export { BadEnvelope };
