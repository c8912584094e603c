import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type RetryPolicy,
  retry,
  SamplingBreaker,
} from 'cockatiel';
import { ErrorCode, errorKindOf, isClientError, isIntegrationError } from './errors';
import type { BreakerOptions, RetryOptions } from './resilience-options';

/** The circuit breaker and the retry policy of a Resilience, and which errors each one counts. */

/** Breaker states as the gauge reports them. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

export function stateName(s: CircuitState): BreakerState {
  return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half_open' : 'open';
}

/**
 * What the breaker counts as the backend failing: network and provider errors, timeouts. Bad
 * input and "not found" are the caller's business and must not open it.
 */
export function isBackendFailure(err: unknown): boolean {
  if (!isIntegrationError(err)) return true;
  if (err.code === ErrorCode.CircuitBreakerOpen) return false;
  // By the code's own kind: a provider may report "not found" through IntegrationError.provider().
  const kind = errorKindOf(err.code);
  return !(isClientError(err.code) || kind === 'not_found' || kind === 'configuration');
}

export function isTransientFailure(err: unknown): boolean {
  return isIntegrationError(err) && err.isTransient && err.code !== ErrorCode.CircuitBreakerOpen;
}

/**
 * The circuit breaker of `b`: consecutive (default, `threshold` failures in a row, default 5) or
 * sampling (failure ratio over a window); half-open probes back off exponentially.
 */
export function createBreaker(b: BreakerOptions): CircuitBreakerPolicy {
  const breaker =
    b.kind === 'sampling'
      ? new SamplingBreaker({
          threshold: Math.min(1, b.threshold ?? 0.5),
          duration: b.windowMs ?? 30_000,
          minimumRps: b.minimumRps ?? 5,
        })
      : new ConsecutiveBreaker(Math.max(1, Math.round(b.threshold ?? 5)));
  return circuitBreaker(handleWhen(isBackendFailure), {
    breaker,
    halfOpenAfter: new ExponentialBackoff({
      initialDelay: b.halfOpenAfterMs ?? 1000,
      maxDelay: b.maxHalfOpenAfterMs ?? 30_000,
    }),
  });
}

/** The retry policy of `r` (transient failures only; default 2 retries, 50 ms doubling to 1 s). */
export function createRetry(r: RetryOptions): RetryPolicy {
  return retry(handleWhen(isTransientFailure), {
    maxAttempts: r.maxAttempts ?? 2,
    backoff: new ExponentialBackoff({
      initialDelay: r.initialDelayMs ?? 50,
      maxDelay: r.maxDelayMs ?? 1000,
    }),
  });
}
