import type { JobInfo, JobState } from '@fraiseql/core';

/**
 * A job and its state, as the worker tracks it. A message's properties cannot be changed after
 * publishing, so every state change (retry, park, fail) publishes a new message and then acks the
 * old one. On the wire it is the lean message of `message.ts` (data as the body, the rest in
 * properties and headers); messages of the first format carried this object itself as their JSON
 * body (`v: 1`), and those are still read ({@link decodeEnvelope}).
 */
export interface Envelope {
  /** Format version. */
  v: 1;
  id: string;
  queue: string;
  data: unknown;
  /** Runs started before this message was published (so the next run is `attempts + 1`). */
  attempts: number;
  /** Runs that failed (threw, timed out, asked for a retry): the budget `maxRetries` limits. */
  failures: number;
  /** Runs lost with their worker (connection gone before the ack: crash, kill -9, network). */
  lost: number;
  maxRetries: number;
  priority: number;
  /** Per-job handler limit; absent = the queue's `timeoutMs` at run time. */
  timeoutMs?: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms when the job is due. */
  runAt: number;
  /** The delay `runAt` was computed from; it sets how late a parked job may be. */
  delayMs?: number;
  lastError?: string;
  /** Epoch ms; set on jobs in the dead-letter queue. */
  failedAt?: number;
  /** The data's JSON bytes as delivered (lean messages): published again as they are. */
  body?: Buffer;
}

/** A body we cannot read as an envelope: kept in the dead-letter queue under this reason. */
export class BadEnvelope extends Error {}

/** The body of a message of the first format (tests publish such messages to check they are read). */
export function encodeEnvelope(env: Envelope): Buffer {
  const { body: _body, ...rest } = env;
  return Buffer.from(JSON.stringify(rest), 'utf8');
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** A message body of the first format (`{ v: 1, … }`): the whole job as JSON. */
export function decodeEnvelope(body: Buffer): Envelope {
  let env: any;
  try {
    env = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadEnvelope('message body is not JSON');
  }
  if (
    env === null ||
    typeof env !== 'object' ||
    env.v !== 1 ||
    typeof env.id !== 'string' ||
    typeof env.queue !== 'string' ||
    !isCount(env.attempts) ||
    !isCount(env.failures) ||
    !isCount(env.lost) ||
    !isCount(env.maxRetries) ||
    !Number.isInteger(env.priority) ||
    !Number.isFinite(env.createdAt) ||
    !Number.isFinite(env.runAt)
  ) {
    throw new BadEnvelope('message body is not a fraiseql job envelope');
  }
  return env as Envelope;
}

/**
 * The public view of an envelope. `attempts` counts runs including the one `runNumber` says is in
 * progress (0 for a job that has not started).
 */
export function jobInfo(
  env: Envelope,
  state: JobState,
  attempts: number,
  extra: Partial<JobInfo> = {},
): JobInfo {
  const info: JobInfo = {
    id: env.id,
    queue: env.queue,
    data: env.data,
    attempts,
    maxRetries: env.maxRetries,
    createdAt: new Date(env.createdAt),
    state,
    priority: env.priority,
    runAt: new Date(env.runAt),
    ...extra,
  };
  if (env.lastError !== undefined && info.lastError === undefined) info.lastError = env.lastError;
  if (env.failedAt !== undefined && info.failedAt === undefined) info.failedAt = new Date(env.failedAt);
  return info;
}
