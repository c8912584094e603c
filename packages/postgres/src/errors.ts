import {
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  networkErrorCode,
} from '@fraiseql/core';

/** The `provider` every error of this package carries (the same name the Postgres providers use). */
export const PROVIDER = 'postgresql';

/** SQLSTATE of a unique violation; queue dedup and "insert if absent" callers test for it. */
export const UNIQUE_VIOLATION = '23505';

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The SQLSTATE (`"23505"`, `"42601"`, …) of a Postgres error, found on the error itself or on its
 * `cause` chain (an IntegrationError from this package keeps the driver error as `cause`).
 * Undefined for anything that did not come from the server (network failures, our own errors).
 */
export function sqlState(err: unknown): string | undefined {
  let e: any = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    // Both `pg` and PGlite attach `severity` to server errors; it keeps Node codes such as
    // `EPIPE` (also five capitals) from passing for a SQLSTATE.
    if (
      !isIntegrationError(e) &&
      typeof e.code === 'string' &&
      SQLSTATE.test(e.code) &&
      typeof e.severity === 'string'
    ) {
      return e.code;
    }
    e = e.cause;
  }
  return undefined;
}

/** True when the error is (or wraps) a unique violation, SQLSTATE 23505. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === UNIQUE_VIOLATION;
}

// Server-side states that mean "the connection is gone or refused", not "your SQL is wrong".
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);

const TIMEOUT_MESSAGE = /timeout|timed out/i;
const CONNECTION_MESSAGE =
  /connection terminated|not queryable|connection (?:is )?closed|socket hang up|server closed the connection/i;

function codeOf(err: unknown): ErrorCode {
  const state = sqlState(err);
  if (state) {
    if (state.startsWith('08') || UNAVAILABLE_STATES.has(state)) return ErrorCode.ProviderUnavailable;
    return ErrorCode.PostgresError;
  }
  const network = networkErrorCode(err);
  if (network) return network;
  const msg = err instanceof Error ? err.message : String(err);
  if (TIMEOUT_MESSAGE.test(msg)) return ErrorCode.ConnectionTimeout;
  if (CONNECTION_MESSAGE.test(msg)) return ErrorCode.ProviderUnavailable;
  return ErrorCode.PostgresError;
}

/**
 * Turns anything a driver threw into an IntegrationError: server errors are IN405 (kind
 * `database`) with the SQLSTATE in the message, lost/refused/timed-out connections IN5xx. The
 * driver error stays as `cause`; `secrets` (the URL's password) never reach the message.
 */
export function toIntegrationError(
  err: unknown,
  context: string,
  opts: { secrets?: readonly (string | undefined)[]; target?: string } = {},
): IntegrationError {
  if (isIntegrationError(err)) return err;
  const code = codeOf(err);
  const state = sqlState(err);
  const where = opts.target && code !== ErrorCode.PostgresError ? ` (${opts.target})` : '';
  const message =
    `[${PROVIDER}] ${context}${where}: ${describeError(err, opts.secrets ?? [])}` +
    (state ? ` (SQLSTATE ${state})` : '');
  return IntegrationError.provider(code, PROVIDER, message, err);
}

/** An IN405 raised by this package itself (misuse, closed client), not by the server. */
export function postgresError(message: string, cause?: unknown): IntegrationError {
  return IntegrationError.provider(ErrorCode.PostgresError, PROVIDER, `[${PROVIDER}] ${message}`, cause);
}
