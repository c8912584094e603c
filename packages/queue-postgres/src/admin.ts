import { ErrorCode, IntegrationError, type JobInfo, type JobState, type ListJobsQuery } from '@fraiseql/core';
import { isUniqueViolation, type SqlClient } from '@fraiseql/postgres';
import { JOB_COLUMNS, type JobRow, rowToInfo } from './rows';
import type { QueueTables } from './schema';

/** The inspection and admin statements of the queue provider (callers check names and map errors). */

const STATES: JobState[] = ['pending', 'running', 'completed', 'failed'];

export async function countJobs(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  state: JobState,
): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${t.jobs} WHERE queue = $1 AND state = '${state}'`,
    [queue],
  );
  return r.rows[0]?.n ?? 0;
}

export async function readJob(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  id: string,
): Promise<JobInfo | null> {
  const r = await sql.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE id = $1 AND queue = $2`, [
    id,
    queue,
  ]);
  return r.rows[0] ? rowToInfo(r.rows[0]) : null;
}

/** Checks a listing query (IN303 otherwise) and returns its page. */
export function listingQuery(q: ListJobsQuery): { state: JobState; limit: number; offset: number } {
  if (!q || !STATES.includes(q.state)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidJobOptions,
      `state must be one of ${STATES.join(', ')}`,
      'state',
    );
  }
  const limit = q.limit ?? 100;
  const offset = q.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > 10_000 || !Number.isInteger(offset) || offset < 0) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidJobOptions,
      'limit must be 0-10000 and offset ≥ 0 (integers)',
      'limit',
    );
  }
  return { state: q.state, limit, offset };
}

export async function listJobRows(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  q: { state: JobState; limit: number; offset: number },
): Promise<JobInfo[]> {
  // Pending in delivery order; the others newest first (what an operator looks at).
  const order = q.state === 'pending' ? 'priority DESC, seq' : 'seq DESC';
  const r = await sql.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE queue = $1 AND state = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`,
    [queue, q.state, q.limit, q.offset],
  );
  return r.rows.map(rowToInfo);
}

export async function retryFailedJob(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  id: string,
): Promise<boolean> {
  try {
    const r = await sql.query(
      `WITH upd AS (
         UPDATE ${t.jobs} SET state = 'pending', attempts = 0, run_at = now(), failed_at = NULL, locked_by = NULL, locked_until = NULL
         WHERE id = $1 AND queue = $2 AND state = 'failed' RETURNING id
       ) SELECT id, pg_notify($3, $2) FROM upd`,
      [id, queue, t.channel],
    );
    return r.rowCount > 0;
  } catch (err) {
    // Its dedup key is taken by a newer pending/running job.
    if (isUniqueViolation(err))
      throw IntegrationError.duplicateJob(`job ${id} (its dedup key is held by another pending job)`);
    throw err;
  }
}

export async function deleteJobRow(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  id: string,
): Promise<boolean> {
  const r = await sql.query(`DELETE FROM ${t.jobs} WHERE id = $1 AND queue = $2`, [id, queue]);
  return r.rowCount > 0;
}

export async function writePaused(
  sql: SqlClient,
  t: QueueTables,
  queue: string,
  paused: boolean,
): Promise<void> {
  await sql.query(
    `WITH up AS (
       INSERT INTO ${t.queueState} (queue, paused, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (queue) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now() RETURNING queue
     ) SELECT pg_notify($3, $1) FROM up`,
    [queue, paused, t.channel],
  );
}

export async function readPaused(sql: SqlClient, t: QueueTables, queue: string): Promise<boolean> {
  const r = await sql.query<{ paused: boolean }>(`SELECT paused FROM ${t.queueState} WHERE queue = $1`, [
    queue,
  ]);
  return r.rows[0]?.paused === true;
}

/** A job the lease sweep took back from a worker that stopped renewing it. */
export interface SweptJob {
  id: string;
  queue: string;
  state: 'pending' | 'failed';
}

/**
 * One maintenance pass: jobs whose lease expired (their worker died) go back to pending — or to
 * failed when that was their last attempt — and finished jobs past retention are deleted, in
 * bounded batches.
 */
export async function sweepAndPrune(
  sql: SqlClient,
  t: QueueTables,
  o: { batch: number; completedRetentionMs: number; failedRetentionMs: number },
): Promise<{ swept: SweptJob[]; pruned: number }> {
  const swept = await sql.query<SweptJob>(
    `WITH expired AS (
       SELECT id FROM ${t.jobs} WHERE state = 'running' AND locked_until < now()
       ORDER BY locked_until LIMIT $1 FOR UPDATE SKIP LOCKED
     ), upd AS (
       UPDATE ${t.jobs} j SET
         state = CASE WHEN j.attempts > j.max_retries THEN 'failed' ELSE 'pending' END,
         failed_at = CASE WHEN j.attempts > j.max_retries THEN now() END,
         last_error = 'lease expired after attempt ' || j.attempts || ': the worker stopped renewing it (crashed or stalled)',
         run_at = now(), locked_by = NULL, locked_until = NULL
       FROM expired WHERE j.id = expired.id
       RETURNING j.id, j.queue, j.state
     )
     SELECT id, queue, state, pg_notify($2, queue) FROM upd`,
    [o.batch, t.channel],
  );
  let pruned = 0;
  for (const [state, column, ms] of [
    ['completed', 'completed_at', o.completedRetentionMs],
    ['failed', 'failed_at', o.failedRetentionMs],
  ] as const) {
    const r = await sql.query(
      `DELETE FROM ${t.jobs} WHERE id IN (
         SELECT id FROM ${t.jobs} WHERE state = '${state}' AND ${column} < now() - $1 * interval '1 millisecond'
         LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [ms, o.batch],
    );
    pruned += r.rowCount;
  }
  await sql.query(`DELETE FROM ${t.rateLimits} WHERE window_start < $1`, [Date.now() - 86_400_000]);
  return { swept: swept.rows.map((r) => ({ id: String(r.id), queue: r.queue, state: r.state })), pruned };
}
