import { interpretJobResult, type Job, type JobInfo, type JobResult } from '@fraiseql/core';

/** A job as the worker's take statement returns it. */
export interface TakenRow {
  id: string;
  seq: number | string;
  data: unknown;
  attempts: number;
  max_retries: number;
  timeout_ms: number | null;
  created_at: Date;
  run_at: Date;
  priority: number;
}

export type Outcome =
  | { kind: 'complete'; result?: unknown }
  | { kind: 'retry'; reason: string; delayMs?: number }
  | { kind: 'fail'; reason: string };

/** The contract's `JobInfo` of a job this worker ran (events carry it, like the other backends'). */
export function toInfo(
  job: Job<unknown>,
  row: TakenRow,
  state: JobInfo['state'],
  extra: Partial<Pick<JobInfo, 'runAt' | 'lastError' | 'completedAt' | 'failedAt'>>,
): JobInfo {
  const { signal: _signal, ...rest } = job;
  const runAt = row.run_at instanceof Date ? row.run_at : new Date(row.run_at);
  return { ...rest, state, priority: row.priority, runAt, ...extra };
}

export function toOutcome(result: JobResult | void): Outcome {
  const o = interpretJobResult(result);
  switch (o.kind) {
    case 'retry':
      return o.delayMs === undefined
        ? { kind: 'retry', reason: o.reason }
        : { kind: 'retry', reason: o.reason, delayMs: o.delayMs };
    case 'failed':
      return { kind: 'fail', reason: o.reason };
    case 'error':
      // An unknown status is a failed attempt, exactly like a throw.
      return { kind: 'retry', reason: o.error.message };
    default:
      return result === undefined ? { kind: 'complete' } : { kind: 'complete', result };
  }
}
