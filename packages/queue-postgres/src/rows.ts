import type { JobInfo, JobState } from '@fraiseql/core';

/** A row of the jobs table as the drivers return it. */
export interface JobRow {
  id: string;
  seq: number | string;
  queue: string;
  data: unknown;
  state: JobState;
  priority: number;
  run_at: Date;
  attempts: number;
  max_retries: number;
  timeout_ms: number | null;
  dedup_key: string | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
  failed_at: Date | null;
}

export const JOB_COLUMNS =
  'id, seq, queue, data, state, priority, run_at, attempts, max_retries, timeout_ms, dedup_key, last_error, created_at, completed_at, failed_at';

const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

/** `json` comes back parsed from `pg` and PGlite alike; a string here means a JSON string value was stored. */
export function rowToInfo(r: JobRow): JobInfo {
  const info: JobInfo = {
    id: r.id,
    queue: r.queue,
    data: r.data,
    attempts: r.attempts,
    maxRetries: r.max_retries,
    createdAt: toDate(r.created_at),
    state: r.state,
    priority: r.priority,
    runAt: toDate(r.run_at),
  };
  if (r.last_error !== null) info.lastError = r.last_error;
  if (r.completed_at) info.completedAt = toDate(r.completed_at);
  if (r.failed_at) info.failedAt = toDate(r.failed_at);
  return info;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot be a job of ours (and would be a cast error in SQL). */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}
