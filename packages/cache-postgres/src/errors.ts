import {
  assertCacheKey,
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
} from '@fraiseql/core';

export const PROVIDER = 'postgresql';

/**
 * The one error mapping of this package: adds what failed to the SqlClient's error, keeping its
 * code (IN405 with the SQLSTATE for server errors, IN500/IN501/IN502 when the database is
 * unreachable) and the driver error as `cause`; anything else becomes IN405.
 */
export function toIntegrationError(err: unknown, context: string): IntegrationError {
  const code = isIntegrationError(err) ? err.code : ErrorCode.PostgresError;
  const reason = isIntegrationError(err)
    ? err.message.replace(/^\[postgresql\] /, '')
    : describeError(err, []);
  const cause = isIntegrationError(err) && err.cause !== undefined ? err.cause : err;
  return IntegrationError.provider(code, PROVIDER, `[${PROVIDER}] ${context}: ${reason}`, cause);
}

/** A key for an error message: quoted, and cut short so a 1 KiB key does not flood a log. */
export function showKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

export function option(
  value: unknown,
  name: string,
  fallback: number,
  opts: { integer?: boolean; zero?: boolean } = {},
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (opts.zero ? value >= 0 : value > 0) &&
    (!opts.integer || Number.isInteger(value));
  if (!ok) {
    const what = `${opts.zero ? 'non-negative' : 'positive'} ${opts.integer ? 'integer' : 'number'}`;
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] ${name} must be a ${what}, got ${String(value)}`,
    );
  }
  return value as number;
}

/** Postgres text cannot hold NUL, so such a key is refused up front instead of failing in the server. */
export function assertKey(key: unknown): asserts key is string {
  assertCacheKey(key);
  if (key.includes('\0')) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidCacheKey,
      `[${PROVIDER}] cache keys cannot contain NUL characters (Postgres text cannot store them)`,
      'key',
    );
  }
}
