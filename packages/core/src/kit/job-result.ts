import type { JobResult } from '../contracts/queue';
import { ErrorCode, IntegrationError } from '../errors';

/** What a backend does with a handler's return value. */
export type JobOutcome =
  | { kind: 'complete'; result?: unknown }
  | { kind: 'retry'; reason: string; delayMs?: number }
  | { kind: 'failed'; reason: string }
  /** The handler returned a result the contract does not know: a failed attempt, like a throw. */
  | { kind: 'error'; error: IntegrationError };

const KNOWN =
  "return nothing, { status: 'complete' }, { status: 'retry', reason }, or { status: 'failed', reason }";

function shown(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}

/**
 * The one reading of a handler's return value, shared by every queue backend (DESIGN §3.2):
 * - `undefined`/`null`, a non-object, or an object without `status` → complete (BullMQ users return
 *   values; they are kept as the job's result where the backend stores one);
 * - `{ status: 'complete' }` → complete; `{ status: 'failed' }` → failed at once;
 * - `{ status: 'retry', delayMs? }` → retried (`delayMs` used when it is a finite number ≥ 0,
 *   rounded; the queue's backoff otherwise);
 * - any other `status` → an invalid-input error (IN303) recorded on the job as a failed attempt, so
 *   a typo such as `'completed'` neither loses the job nor passes silently.
 */
export function interpretJobResult(result: JobResult | unknown): JobOutcome {
  if (result === undefined || result === null || typeof result !== 'object' || !('status' in result)) {
    return result === undefined || result === null ? { kind: 'complete' } : { kind: 'complete', result };
  }
  const r = result as { status: unknown; reason?: unknown; delayMs?: unknown };
  switch (r.status) {
    case 'complete':
      return { kind: 'complete', result };
    case 'failed':
      return { kind: 'failed', reason: String(r.reason ?? 'failed') };
    case 'retry': {
      const reason = String(r.reason ?? 'retry requested');
      const d = r.delayMs;
      return typeof d === 'number' && Number.isFinite(d) && d >= 0
        ? { kind: 'retry', reason, delayMs: Math.round(d) }
        : { kind: 'retry', reason };
    }
    default:
      return {
        kind: 'error',
        error: IntegrationError.invalidInput(
          ErrorCode.JobProcessingFailed,
          `Handler returned an unknown result ${shown(result)}: ${KNOWN}`,
          'result',
        ),
      };
  }
}
