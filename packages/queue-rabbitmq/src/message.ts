import type { Options } from 'amqplib';
import { BadEnvelope, decodeEnvelope, type Envelope } from './envelope';
import { priorityLevel } from './topology';

/**
 * The job message format (version 2, "lean"): the body is the job's data as JSON and nothing
 * else; the job's metadata travels in the AMQP properties (`messageId` = job id, `timestamp` =
 * creation in seconds, `priority` = its level, `type` = {@link JOB_TYPE}) and in `fraiseql-*`
 * headers, each present only when it differs from the fresh-job default:
 *
 * | header | meaning | when absent |
 * |---|---|---|
 * | `fraiseql-created` | creation, epoch ms | `timestamp` × 1000 |
 * | `fraiseql-max-retries` | retry budget | always present |
 * | `fraiseql-priority` | the job's priority (the level alone loses values beyond the range) | 0 |
 * | `fraiseql-run-at` | due time, epoch ms | the creation time |
 * | `fraiseql-delay` | the delay `run-at` was computed from, ms | none |
 * | `fraiseql-timeout` | the job's own handler limit, ms | the queue's `timeoutMs` |
 * | `fraiseql-attempts` / `-failures` / `-lost` | runs started / failed / lost with their worker | 0 |
 * | `fraiseql-last-error` | the last failure (at most {@link MAX_ERROR_CHARS} characters) | none |
 * | `fraiseql-failed-at` | when it failed, epoch ms (dead-letter queue) | none |
 *
 * Why: the broker and both ends handle a small body and a few properties faster than a JSON
 * envelope wrapping the data, and a retry re-publishes the delivered body bytes as they are.
 * Messages of the first format (a JSON envelope `{ v: 1, … }` as the body) are still read.
 */
export const JOB_TYPE = 'fraiseql.job.v2';
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
  const headers: Record<string, number | string> = {
    [H.created]: env.createdAt,
    [H.maxRetries]: env.maxRetries,
  };
  if (env.priority !== 0) headers[H.priority] = env.priority;
  if (env.runAt !== env.createdAt) headers[H.runAt] = env.runAt;
  if (env.delayMs !== undefined) headers[H.delay] = env.delayMs;
  if (env.timeoutMs !== undefined) headers[H.timeout] = env.timeoutMs;
  if (env.attempts > 0) headers[H.attempts] = env.attempts;
  if (env.failures > 0) headers[H.failures] = env.failures;
  if (env.lost > 0) headers[H.lost] = env.lost;
  if (env.lastError !== undefined) headers[H.lastError] = env.lastError.slice(0, MAX_ERROR_CHARS);
  if (env.failedAt !== undefined) headers[H.failedAt] = env.failedAt;
  const props: Options.Publish = {
    persistent: true,
    messageId: env.id,
    contentType: 'application/json',
    timestamp: Math.floor(env.createdAt / 1000),
    type: JOB_TYPE,
    headers,
  };
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
  // By its headers too: a 0.x worker quarantines a message it cannot read without its `type`
  // (during a rolling upgrade), and `retryFailed` must still bring it back.
  if (msg.properties.type !== JOB_TYPE && msg.properties.headers?.[H.created] === undefined) {
    const env = decodeEnvelope(msg.content);
    // Whatever the body claims, a delivery of this queue stays in this queue.
    env.queue = queue;
    return env;
  }
  const h = msg.properties.headers ?? {};
  const id = msg.properties.messageId;
  const createdAt = h[H.created];
  const maxRetries = h[H.maxRetries];
  if (typeof id !== 'string' || !isTime(createdAt) || !isCount(maxRetries)) {
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
