import { type ErrorCode, type IntegrationError, isIntegrationError } from '@fraiseql/core';
import { expect } from 'vitest';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

/** Expects `call()` to reject with an IntegrationError whose code is one of `codes`. */
export async function expectCode(
  call: () => Promise<unknown>,
  codes: ErrorCode | readonly ErrorCode[],
): Promise<IntegrationError> {
  const allowed: readonly string[] = Array.isArray(codes) ? codes : [codes];
  const err = await call().then(
    (v) => expect.fail(`expected a rejection with ${allowed.join('/')}, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  expect(isIntegrationError(err), String(err)).toBe(true);
  expect(allowed, String(err)).toContain((err as IntegrationError).code);
  return err as IntegrationError;
}

/** Fails instead of hanging when `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** Polls `check` until true; fails naming `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}
