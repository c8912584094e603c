import { AssertionError } from 'node:assert';
import {
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type JobInfo,
  type JobResult,
  type JobState,
  type ListJobsQuery,
  type QueueCommonOptions,
  type ResolvedQueueOptions,
} from '@fraiseql/core';
import type { MockWorker } from './queue-worker';

/** Options of {@link MockQueueProvider}; the common queue options mean what they mean on every backend. */
export interface MockQueueOptions extends QueueCommonOptions {
  /** Random source of the retry backoff jitter; inject one for reproducible delays. Default `Math.random`. */
  random?: () => number;
  /** Largest job payload as JSON, in bytes (IN308 above it). Default 1 MiB, like the real backends. */
  maxJobBytes?: number;
  /** Grace period of `Worker.close()` and `provider.close()` when no `timeoutMs` is given. Default 30_000. */
  closeTimeoutMs?: number;
}

/**
 * One job as the mock stores it. `jobsInQueue()` returns the live records: tests may read them, and
 * may even assign `state` directly (prefer {@link MockQueueProvider.setJobState}, which also wakes
 * the workers).
 */
export interface MockJobRecord {
  id: string;
  queue: string;
  /** The payload after a JSON round trip, as a real backend would store it. */
  data: unknown;
  state: JobState;
  priority: number;
  /** Runs started so far (0 until the first delivery; reset by `retryJob`). */
  attempts: number;
  maxRetries: number;
  /** Handler time limit of this job. */
  timeoutMs: number;
  dedupKey?: string;
  createdAt: Date;
  /** When the job is (or was) due. */
  runAt: Date;
  /** The delay it was enqueued with (`enqueueDelayed`, or `enqueue` with `delayMs`); absent otherwise. */
  delayMs?: number;
  lastError?: string;
  completedAt?: Date;
  failedAt?: Date;
}

/** What `recordedOperations()` returns: every successful write, in call order. */
export type MockQueueOperation =
  | {
      type: 'enqueue';
      queue: string;
      jobId: string;
      priority: number;
      delayMs?: number;
      dedupKey?: string;
      /** True when `dedupKey` matched a pending/running job and its id was returned. */
      deduplicated: boolean;
    }
  | {
      type: 'enqueueDelayed';
      queue: string;
      jobId: string;
      delayMs: number;
      priority: number;
      dedupKey?: string;
      deduplicated: boolean;
    }
  | { type: 'enqueueMany'; queue: string; jobIds: string[] }
  | { type: 'retryJob'; queue: string; jobId: string; retried: boolean }
  | { type: 'deleteJob'; queue: string; jobId: string; deleted: boolean }
  | { type: 'pause'; queue: string }
  | { type: 'resume'; queue: string }
  | { type: 'process'; queue: string; concurrency: number }
  | { type: 'setJobState'; queue: string; jobId: string; state: JobState };

export const STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed'];
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

export type Outcome =
  | { kind: 'complete'; result: JobResult | undefined }
  | { kind: 'retry'; reason: string; delayMs?: number; error: unknown }
  | { kind: 'failed'; reason: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'detached' };

export interface Run {
  rec: MockJobRecord;
  worker: MockWorker;
  controller: AbortController;
  /** Ends the wait on the handler early (timeout, or the run was detached). */
  stop: (outcome: Outcome) => void;
}

export function unavailable(message: string): IntegrationError {
  return IntegrationError.provider(ErrorCode.ProviderUnavailable, 'mock', message);
}

/** IN304 for a bad `listJobs` / `setJobState` argument (job options, not a search query). */
export function badJobQuery(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, message, field);
}

const DEFAULT_LIST_LIMIT = 100;

/** The checked `state`, `limit` (default 100) and `offset` (default 0) of a `listJobs` query. */
export function checkListQuery(q: ListJobsQuery): Required<ListJobsQuery> {
  const { state, limit = DEFAULT_LIST_LIMIT, offset = 0 } = q ?? ({} as ListJobsQuery);
  if (!STATES.includes(state)) throw badJobQuery(`state must be one of ${STATES.join(', ')}`, 'state');
  if (!Number.isInteger(limit) || limit < 0)
    throw badJobQuery('limit must be a non-negative integer', 'limit');
  if (!Number.isInteger(offset) || offset < 0)
    throw badJobQuery('offset must be a non-negative integer', 'offset');
  return { state, limit, offset };
}

export function copy<T>(value: T): T {
  // Values in records already survived a JSON round trip, so this cannot throw.
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function info(rec: MockJobRecord): JobInfo {
  const out: JobInfo = {
    id: rec.id,
    queue: rec.queue,
    data: copy(rec.data),
    attempts: rec.attempts,
    maxRetries: rec.maxRetries,
    createdAt: new Date(rec.createdAt),
    state: rec.state,
    priority: rec.priority,
    runAt: new Date(rec.runAt),
  };
  if (rec.lastError !== undefined) out.lastError = rec.lastError;
  if (rec.completedAt) out.completedAt = new Date(rec.completedAt);
  if (rec.failedAt) out.failedAt = new Date(rec.failedAt);
  return out;
}

/** Delivery order: higher priority first, then oldest (ties keep insertion order: sort is stable). */
export function byDeliveryOrder(a: MockJobRecord, b: MockJobRecord): number {
  return b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime();
}

/** A new pending job, due after `opts.delayMs` (now without one). */
export function newJobRecord(
  id: string,
  queue: string,
  data: unknown,
  opts: EnqueueOptions | undefined,
  settings: ResolvedQueueOptions,
): MockJobRecord {
  const now = Date.now();
  const delayMs = opts?.delayMs;
  const rec: MockJobRecord = {
    id,
    queue,
    data,
    state: 'pending',
    priority: opts?.priority ?? 0,
    attempts: 0,
    maxRetries: opts?.maxRetries ?? settings.maxRetries,
    timeoutMs: opts?.timeoutMs ?? settings.timeoutMs,
    createdAt: new Date(now),
    runAt: new Date(now + (delayMs ?? 0)),
  };
  if (opts?.dedupKey !== undefined) rec.dedupKey = opts.dedupKey;
  if (delayMs !== undefined) rec.delayMs = delayMs;
  return rec;
}

/** The recorded operation of one `enqueue` or `enqueueDelayed` call. */
export function enqueueOperation(
  type: 'enqueue' | 'enqueueDelayed',
  queue: string,
  jobId: string,
  opts: EnqueueOptions | undefined,
  deduplicated: boolean,
): MockQueueOperation {
  const base = { queue, jobId, priority: opts?.priority ?? 0, deduplicated };
  const extra = opts?.dedupKey === undefined ? {} : { dedupKey: opts.dedupKey };
  if (type === 'enqueueDelayed') return { type, ...base, delayMs: opts?.delayMs ?? 0, ...extra };
  const delay = opts?.delayMs === undefined ? {} : { delayMs: opts.delayMs };
  return { type, ...base, ...delay, ...extra };
}

/** Ids of every job enqueued on `queue` according to `operations`. */
function enqueuedIds(operations: readonly MockQueueOperation[], queue: string): Set<string> {
  const ids = new Set<string>();
  for (const op of operations) {
    if (op.queue !== queue) continue;
    if (op.type === 'enqueue' || op.type === 'enqueueDelayed') ids.add(op.jobId);
    if (op.type === 'enqueueMany') for (const id of op.jobIds) ids.add(id);
  }
  return ids;
}

/** The implementation of {@link MockQueueProvider.assertEnqueued}. */
export function assertEnqueuedIn(
  operations: readonly MockQueueOperation[],
  records: Map<string, MockJobRecord> | undefined,
  queue: string,
  match?: (data: unknown) => boolean,
): void {
  const ids = enqueuedIds(operations, queue);
  const ok = match ? [...ids].some((id) => records?.has(id) && match(records.get(id)!.data)) : ids.size > 0;
  if (!ok) {
    const what = match ? `a matching job enqueued to '${queue}'` : `a job enqueued to '${queue}'`;
    throw new AssertionError({
      message: `Expected ${what}, operations: ${JSON.stringify(operations, null, 2)}`,
    });
  }
}

/** Puts `rec` into `state` as a worker would have: stamps `failedAt`/`completedAt`, or makes it due now. */
export function stampState(rec: MockJobRecord, state: JobState, lastError?: string): void {
  const now = new Date();
  rec.state = state;
  if (lastError !== undefined) rec.lastError = lastError;
  if (state === 'failed') rec.failedAt = now;
  if (state === 'completed') rec.completedAt = now;
  if (state === 'pending') rec.runAt = now;
}

/** The pending or running job of `jobs` with `dedupKey` (the last one), if any. */
export function liveDuplicate(
  jobs: Map<string, MockJobRecord>,
  dedupKey: string | undefined,
): MockJobRecord | undefined {
  let existing: MockJobRecord | undefined;
  if (dedupKey !== undefined) {
    for (const rec of jobs.values()) {
      if (rec.dedupKey === dedupKey && (rec.state === 'pending' || rec.state === 'running')) existing = rec;
    }
  }
  return existing;
}
