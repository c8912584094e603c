import { describeError, ErrorCode, IntegrationError, interpretJobResult, type Job } from '@fraiseql/core';
import { copy, info, type MockJobRecord, type Outcome, type Run } from './queue-types';
import type { MockWorker } from './queue-worker';

/** One delivery of a job of the mock queue: the handler's run and what its outcome does to the job. */

/** The job a handler receives for `rec`. */
export function jobFor(rec: MockJobRecord, signal: AbortSignal): Job<unknown> {
  return {
    id: rec.id,
    queue: rec.queue,
    // Each run gets its own copy: a handler mutating its data must not change the next attempt.
    data: copy(rec.data),
    attempts: rec.attempts,
    maxRetries: rec.maxRetries,
    createdAt: new Date(rec.createdAt),
    signal,
  };
}

/**
 * Runs the handler of `run` and resolves with its outcome, or with what stopped it first (its
 * time limit, which aborts the job's signal, or `run.stop`).
 */
export async function runHandler(run: Run, job: Job<unknown>): Promise<Outcome> {
  const { timeoutMs } = run.rec;
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<Outcome>((resolve) => {
    run.stop = resolve;
    timer = setTimeout(() => resolve({ kind: 'timeout', timeoutMs }), timeoutMs);
  });
  const handled = (async (): Promise<Outcome> => {
    try {
      const result = await run.worker.handler(job);
      const o = interpretJobResult(result);
      if (o.kind === 'retry') {
        return o.delayMs === undefined
          ? { kind: 'retry', reason: o.reason, error: undefined }
          : { kind: 'retry', reason: o.reason, delayMs: o.delayMs, error: undefined };
      }
      if (o.kind === 'failed') return { kind: 'failed', reason: o.reason };
      // An unknown status is a failed attempt, exactly like a throw.
      if (o.kind === 'error') return { kind: 'retry', reason: o.error.message, error: o.error };
      return { kind: 'complete', result: result ?? undefined };
    } catch (err) {
      return { kind: 'retry', reason: describeError(err), error: err };
    }
  })();
  const outcome = await Promise.race([handled, stopped]);
  clearTimeout(timer);
  if (outcome.kind === 'timeout') run.controller.abort(jobTimeoutError(run.rec, timeoutMs));
  return outcome;
}

/**
 * Records `outcome` on the job and tells the worker's listeners: completed, retried after
 * `backoff(attempts)` (or the delay the handler asked for), or failed.
 */
export function applyOutcome(
  run: Run,
  outcome: Exclude<Outcome, { kind: 'detached' }>,
  backoff: (attempts: number) => number,
): void {
  const { rec, worker } = run;
  const now = Date.now();
  if (outcome.kind === 'complete') {
    rec.state = 'completed';
    rec.completedAt = new Date(now);
    worker.emit('completed', info(rec), outcome.result);
    return;
  }
  if (outcome.kind === 'failed') {
    failJob(rec, worker, outcome.reason, ErrorCode.JobProcessingFailed, undefined);
    return;
  }
  const reason = outcome.kind === 'timeout' ? `Job timed out after ${outcome.timeoutMs} ms` : outcome.reason;
  const cause = outcome.kind === 'retry' ? outcome.error : undefined;
  if (rec.attempts <= rec.maxRetries) {
    const delayMs =
      outcome.kind === 'retry' && outcome.delayMs !== undefined ? outcome.delayMs : backoff(rec.attempts);
    rec.state = 'pending';
    rec.lastError = reason;
    rec.runAt = new Date(now + delayMs);
    const code = outcome.kind === 'timeout' ? ErrorCode.JobTimeout : ErrorCode.JobProcessingFailed;
    const err = new IntegrationError(code, `Job ${rec.id} attempt ${rec.attempts} failed: ${reason}`, {
      provider: 'mock',
      resourceType: 'job',
      cause,
    });
    worker.emit('retrying', info(rec), err, delayMs);
    return;
  }
  failJob(rec, worker, reason, ErrorCode.MaxRetriesExceeded, cause);
}

function failJob(
  rec: MockJobRecord,
  worker: MockWorker,
  reason: string,
  code: ErrorCode,
  cause: unknown,
): void {
  rec.state = 'failed';
  rec.lastError = reason;
  rec.failedAt = new Date();
  const message =
    code === ErrorCode.MaxRetriesExceeded
      ? `Job ${rec.id} failed after ${rec.attempts} attempts: ${reason}`
      : `Job ${rec.id} failed: ${reason}`;
  worker.emit(
    'failed',
    info(rec),
    new IntegrationError(code, message, { provider: 'mock', resourceType: 'job', cause }),
  );
}

export function jobTimeoutError(rec: MockJobRecord, timeoutMs: number): IntegrationError {
  return new IntegrationError(ErrorCode.JobTimeout, `Job ${rec.id} timed out after ${timeoutMs} ms`, {
    provider: 'mock',
    resourceType: 'job',
  });
}
