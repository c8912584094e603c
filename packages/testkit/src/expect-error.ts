import { type ErrorCode, type IntegrationError, isIntegrationError } from '@fraiseql/core';
import { expect } from 'vitest';

export interface ExpectIntegrationErrorOptions {
  /** Prefix for assertion messages, naming the call under test. Default: none. */
  what?: string;
  /**
   * Whether a synchronous throw counts. Async contract methods must reject, not throw, so the
   * default is `false`: a synchronous throw fails the assertion. Factories and `process()` may throw.
   */
  allowSyncThrow?: boolean;
  /** Called with the call's result when it unexpectedly succeeds (to close a worker, say). Default: none. */
  onSuccess?: (result: unknown) => unknown;
}

/**
 * Asserts that `call` fails with an `IntegrationError` whose code is `code` (or one of `code`) and
 * returns that error, so a test can go on to check its message or context.
 */
export async function expectIntegrationError(
  call: () => unknown,
  code: ErrorCode | readonly ErrorCode[] | string | readonly string[],
  options: ExpectIntegrationErrorOptions = {},
): Promise<IntegrationError> {
  const prefix = options.what ? `${options.what}: ` : '';
  const allowed: readonly string[] = typeof code === 'string' ? [code] : code;
  let pending: unknown;
  try {
    pending = call();
  } catch (err) {
    if (!options.allowSyncThrow)
      expect.fail(
        `${prefix}expected a promise rejecting with ${allowed.join('|')}, but the call threw synchronously: ${String(err)}`,
      );
    return check(err);
  }
  let result: unknown;
  try {
    result = await pending;
  } catch (err) {
    return check(err);
  }
  await options.onSuccess?.(result);
  return expect.fail(`${prefix}expected an IntegrationError ${allowed.join('|')}, but the call succeeded`);

  function check(err: unknown): IntegrationError {
    expect(
      isIntegrationError(err),
      `${prefix}expected an IntegrationError ${allowed.join('|')}, got ${String(err)}`,
    ).toBe(true);
    const error = err as IntegrationError;
    expect(allowed, `${prefix}got ${error.code} (${error.message})`).toContain(error.code);
    return error;
  }
}
