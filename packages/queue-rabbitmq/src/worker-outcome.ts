import { interpretJobResult, type JobResult } from '@fraiseql/core';

/** How a run ended, as the worker records it. */
export type Outcome =
  | { kind: 'complete' }
  | { kind: 'retry'; error: Error; delayMs?: number }
  | { kind: 'failed'; error: Error };

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : String(err));
}

/** A handler's return value as an outcome (core `interpretJobResult`). */
export function classify(result: JobResult | void): Outcome {
  const o = interpretJobResult(result);
  switch (o.kind) {
    case 'retry':
      return o.delayMs === undefined
        ? { kind: 'retry', error: new Error(o.reason) }
        : { kind: 'retry', error: new Error(o.reason), delayMs: o.delayMs };
    case 'failed':
      return { kind: 'failed', error: new Error(o.reason) };
    case 'error':
      // An unknown status is a failed attempt, exactly like a throw.
      return { kind: 'retry', error: o.error };
    default:
      return { kind: 'complete' };
  }
}
