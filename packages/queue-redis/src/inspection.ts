import type { JobInfo, JobState, ListJobsQuery } from '@fraiseql/core';
import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { Queue as BullQueue, JobType } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { PROVIDER, toJobInfo, toState } from './mapping';

const MAX_LIST_LIMIT = 10_000;

/** BullMQ states that make up each of ours, in the order a listing walks them. */
export const STATE_TYPES: Record<JobState, JobType[]> = {
  // Delivery order: handed-back/stalled jobs (wait) go first, then by priority, then not yet due.
  // 'paused' is the list older BullMQ versions parked waiting jobs in while a queue was paused.
  pending: ['wait', 'paused' as JobType, 'prioritized', 'delayed', 'waiting-children'],
  running: ['active'],
  completed: ['completed'],
  failed: ['failed'],
};

/** Due times of delayed jobs: the delayed set's score is `dueMs × 4096 + a tie-breaker`. */
async function delayedRunAt(
  client: Redis | Cluster,
  q: BullQueue,
  ids: string[],
): Promise<(number | undefined)[]> {
  if (ids.length === 0) return [];
  const key = q.toKey('delayed');
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.zscore(key, id);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, score]) =>
    err || score === null || score === undefined ? undefined : Math.floor(Number(score) / 0x1000),
  );
}

/** One job with its state (and due time when delayed); null when absent. `id` is a lookup id. */
export async function readJob(
  client: Redis | Cluster,
  q: BullQueue,
  queue: string,
  id: string,
): Promise<JobInfo | null> {
  const job = await q.getJob(id);
  if (!job) return null;
  const bullState = await job.getState();
  // A job whose hash outlived its state (removed concurrently) is gone for the caller too.
  if (bullState === 'unknown') return null;
  const runAt = bullState === 'delayed' ? (await delayedRunAt(client, q, [id]))[0] : undefined;
  return toJobInfo(queue, job, toState(bullState), runAt);
}

/** Checks a listing query (IN303 otherwise): its state, limit and offset. */
export function listingQuery(q: ListJobsQuery): { state: JobState; limit: number; offset: number } {
  const state = q?.state;
  if (!q || !(state in STATE_TYPES)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidJobOptions,
      `state must be one of ${Object.keys(STATE_TYPES).join(', ')}`,
      'state',
    );
  }
  const limit = q.limit ?? 100;
  const offset = q.offset ?? 0;
  if (
    !Number.isInteger(limit) ||
    limit < 0 ||
    limit > MAX_LIST_LIMIT ||
    !Number.isInteger(offset) ||
    offset < 0
  ) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidJobOptions,
      `limit must be an integer from 0 to ${MAX_LIST_LIMIT} and offset an integer ≥ 0`,
      'limit',
    );
  }
  return { state, limit, offset };
}

/** A page of the jobs in one state, cut across the BullMQ states that make it up. */
export async function listJobPage(
  client: Redis | Cluster,
  bq: BullQueue,
  queue: string,
  { state, limit, offset }: { state: JobState; limit: number; offset: number },
): Promise<JobInfo[]> {
  const types = STATE_TYPES[state];
  const asc = state === 'pending' || state === 'running';
  // BullMQ pages each state separately, so the page is cut across states here.
  const counts = await bq.getJobCounts(...types);
  const out: JobInfo[] = [];
  let skip = offset;
  let remaining = limit;
  for (const type of types) {
    const n = counts[type] ?? 0;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    const take = Math.min(remaining, n - skip);
    const jobs = await bq.getJobs([type], skip, skip + take - 1, asc);
    const runAts =
      type === 'delayed'
        ? await delayedRunAt(
            client,
            bq,
            jobs.map((j) => String(j.id)),
          )
        : [];
    jobs.forEach((job, i) => {
      out.push(toJobInfo(queue, job, toState(type), runAts[i]));
    });
    remaining -= jobs.length;
    skip = 0;
    if (remaining <= 0) break;
  }
  return out.slice(0, limit);
}

/** A failed job back to pending with attempts reset, its dedup key claimed again; false if not failed. */
export async function retryFailedJob(client: Redis | Cluster, q: BullQueue, id: string): Promise<boolean> {
  const job = await q.getJob(id);
  if (!job) return false;
  try {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    // Negative codes are BullMQ's "not in the failed state" / "missing" / "locked" answers.
    if (typeof (err as { code?: unknown }).code === 'number') return false;
    throw err;
  }
  if (job.deduplicationId) {
    await client.set(`${q.qualifiedName}:de:${job.deduplicationId}`, id, 'NX');
  }
  return true;
}

/** IN005: BullMQ will not delete a job a worker holds the lock of. */
export function runningJobNotDeletable(queue: string, id: string): IntegrationError {
  return new IntegrationError(
    ErrorCode.UnsupportedOperation,
    `[${PROVIDER}] job ${id} of "${queue}" is running: BullMQ cannot delete a job a worker holds the lock of; delete it once it has finished`,
    { provider: PROVIDER, resourceType: 'job' },
  );
}
