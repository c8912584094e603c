import { ErrorCode, IntegrationError, isIntegrationError } from '@fraiseql/core';

const PERMANENT = Symbol.for('fraiseql.observers.permanent');

/** Marks an action failure that retrying cannot fix (a 4xx, invalid input): it goes to the DLQ at once. */
export function permanent<E extends Error>(err: E): E {
  (err as unknown as Record<symbol, boolean>)[PERMANENT] = true;
  return err;
}

export function isPermanent(err: unknown): boolean {
  if (err && typeof err === 'object' && (err as Record<symbol, unknown>)[PERMANENT] === true) return true;
  return isIntegrationError(err) && err.isClientError && err.code !== ErrorCode.CircuitBreakerOpen;
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A URL for messages: no credentials, no query string (tokens live there). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

export function observersError(code: ErrorCode, message: string, field?: string): IntegrationError {
  return new IntegrationError(code, `[observers] ${message}`, field ? { field } : {});
}
