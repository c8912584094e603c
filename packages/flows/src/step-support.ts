import { describeError, isIntegrationError, isTransient } from '@fraiseql/core';
import { permanent, StepError, transient } from './errors';
import { getPath } from './json';
import type { ExponentialBackoff, LinearBackoff } from './types';

/** Wait before retry `n` (1 = the first retry) of a failing step. */
export function backoffDelay(backoff: ExponentialBackoff | LinearBackoff, n: number): number {
  if (backoff.type === 'linear') return backoff.initialMs + backoff.stepMs * (n - 1);
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** (n - 1));
}

/** Fills `{a.b}` from the message body, URL-encoded; a missing value is a permanent failure. */
export function fillTemplate(template: string, body: unknown): string {
  return template.replace(/\{([A-Za-z0-9_.-]+)\}/g, (_, path: string) => {
    const v = getPath(body, path);
    if (v === undefined || v === null || typeof v === 'object')
      throw permanent(`path template: {${path}} is missing from the message`);
    return encodeURIComponent(String(v));
  });
}

/** A step's failure as permanent (to the DLQ) or transient (retried). */
export function classify(err: unknown): StepError {
  if (err instanceof StepError) return err;
  if ((err as { permanent?: unknown })?.permanent === true) return permanent(describeError(err));
  // Connectors flag answers that will not change on a retry (an HTTP 404, a gRPC INVALID_ARGUMENT)
  // even when their code's family is transient.
  if ((err as { retryable?: unknown })?.retryable === false) return permanent(describeError(err));
  if (isIntegrationError(err) && !isTransient(err.code)) return permanent(describeError(err));
  return transient(describeError(err));
}

/** A connector's HTTP status: 2xx passes, 408/429/5xx are transient, the rest permanent. */
export function checkStatus(what: string, status: number): void {
  if (status >= 200 && status < 300) return;
  const msg = `${what} answered HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500) throw transient(msg);
  throw permanent(msg);
}
