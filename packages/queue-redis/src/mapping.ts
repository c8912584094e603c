import type { JobInfo, JobState } from '@fraiseql/core';
import { ErrorCode, IntegrationError, isIntegrationError, networkErrorCode, wrapError } from '@fraiseql/core';
import type { Job as BullJob, JobsOptions } from 'bullmq';

/** The `provider` of every error this package throws. */
export const PROVIDER = 'redis';

/**
 * Our priorities (higher runs first, 0 by default, negative allowed) are stored as BullMQ
 * priorities (1 runs first … 2_097_151 last) as `PRIORITY_OFFSET - priority`. Every job we add is
 * prioritised — even priority 0 becomes BullMQ priority 1_048_576 — because BullMQ serves
 * non-prioritised jobs (priority 0) before every prioritised one, which would put our default
 * priority above all explicit ones. Within one priority BullMQ keeps insertion order (a per-queue
 * counter in the score), so equal priorities run oldest first.
 */
export const PRIORITY_OFFSET = 2 ** 20;
/** Highest priority this backend can store (BullMQ priority 1). */
export const MAX_PRIORITY = PRIORITY_OFFSET - 1;
/** Lowest priority this backend can store (BullMQ priority 2_097_151, its limit). */
export const MIN_PRIORITY = -(PRIORITY_OFFSET - 1);

export function toBullPriority(priority: number): number {
  if (priority > MAX_PRIORITY || priority < MIN_PRIORITY) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidJobOptions,
      `priority ${priority} is outside what the Redis (BullMQ) backend can store: use ${MIN_PRIORITY} to ${MAX_PRIORITY}`,
      'priority',
    );
  }
  return PRIORITY_OFFSET - priority;
}

/** BullMQ priority back to ours; 0 (a job added without priority by another producer) is our 0. */
export function fromBullPriority(bullPriority: number | undefined): number {
  return bullPriority ? PRIORITY_OFFSET - bullPriority : 0;
}

/**
 * The BullMQ queue name of one of our queues. BullMQ forbids `:` in queue names (it separates the
 * parts of its keys) while our names allow it, so `:` is stored as `~` — a character our names
 * never contain, so the mapping cannot collide. Point bull-board / Taskforce at this name.
 */
export function bullmqQueueName(queue: string): string {
  return queue.replaceAll(':', '~');
}

/**
 * Ids a job of ours can have (UUIDs) and BullMQ's own auto ids (integers). Anything else is not
 * looked up: a job id is part of a Redis key (`<prefix>:<queue>:<id>`), and ids such as `meta` or
 * `wait` would read BullMQ's own bookkeeping keys as if they were jobs.
 */
const LOOKUP_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[1-9][0-9]{0,15})$/i;

export function isLookupId(id: unknown): id is string {
  return typeof id === 'string' && LOOKUP_ID.test(id);
}

/** What we keep in a job's BullMQ options beside BullMQ's own fields (BullMQ stores unknown keys as-is). */
export interface FraiseqlJobOptions {
  /**
   * The job's own handler time limit (`EnqueueOptions.timeoutMs`). Absent: the queue's
   * `timeoutMs` of the worker running the job. (Older versions stored the queue's value here for
   * every job; such jobs keep it.)
   */
  timeoutMs: number;
}

export type OurJobsOptions = JobsOptions & { fraiseql?: FraiseqlJobOptions };

export function ourOptions(job: BullJob): FraiseqlJobOptions | undefined {
  const own = (job.opts as OurJobsOptions).fraiseql;
  return own && typeof own === 'object' ? own : undefined;
}

/** `maxRetries` of a job: BullMQ `attempts` counts every run, ours only the repeats. */
export function maxRetriesOf(job: BullJob): number {
  const attempts = Number(job.opts.attempts);
  return Number.isFinite(attempts) && attempts > 1 ? attempts - 1 : 0;
}

/** BullMQ job states as our four. */
export function toState(bullState: string): JobState {
  switch (bullState) {
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    default:
      // waiting, prioritized, delayed, paused, waiting-children, unknown
      return 'pending';
  }
}

/**
 * A BullMQ job as a JobInfo. `attempts` counts the runs that used up the retry budget
 * (BullMQ `attemptsMade`, plus the current one while running) — a run cut short by a dead worker
 * or by `Worker.close()` handing the job back does not count, as it does not count as a retry.
 * `runAt` is exact for a delayed job (`delayedRunAt`, read from the delayed set); otherwise it is
 * when the job was first due, or when its last run started once it has been retried.
 */
export function toJobInfo(queue: string, job: BullJob, state: JobState, delayedRunAt?: number): JobInfo {
  const attemptsMade = Number(job.attemptsMade) || 0;
  const createdAt = Number(job.timestamp) || Date.now();
  let runAt: number;
  if (delayedRunAt !== undefined) runAt = delayedRunAt;
  else if (attemptsMade === 0) runAt = createdAt + (Number(job.opts.delay) || 0);
  else runAt = Number(job.processedOn) || createdAt;
  const info: JobInfo = {
    id: String(job.id),
    queue,
    data: job.data,
    attempts: state === 'running' ? attemptsMade + 1 : attemptsMade,
    maxRetries: maxRetriesOf(job),
    createdAt: new Date(createdAt),
    state,
    priority: fromBullPriority(job.priority),
    runAt: new Date(runAt),
  };
  if (job.failedReason) info.lastError = String(job.failedReason);
  if (state === 'completed' && job.finishedOn) info.completedAt = new Date(job.finishedOn);
  if (state === 'failed' && job.finishedOn) info.failedAt = new Date(job.finishedOn);
  return info;
}

/** Messages ioredis / BullMQ use when the server cannot be reached or the connection is gone. */
const UNAVAILABLE =
  /Connection is closed|MaxRetriesPerRequest|Reached the max retries|Stream isn't writeable|enableOfflineQueue|connect ETIMEDOUT|Command timed out|LOADING|CLUSTERDOWN|TRYAGAIN|Failed to refresh slots cache|None of startup nodes is available/i;

/**
 * Any error from ioredis/BullMQ as an IntegrationError: network failures are IN5xx (refused,
 * timed out, unavailable), everything else IN403 RedisError; the original error is the `cause`.
 */
export function redisError(err: unknown, context: string, secrets: readonly (string | undefined)[] = []) {
  if (isIntegrationError(err)) return err;
  let fallback: ErrorCode = ErrorCode.RedisError;
  if (networkErrorCode(err) === undefined) {
    const message = err instanceof Error ? `${err.name} ${err.message}` : String(err);
    if (UNAVAILABLE.test(message)) fallback = ErrorCode.ProviderUnavailable;
  }
  return wrapError(err, fallback, PROVIDER, context, secrets);
}
