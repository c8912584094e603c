import { type IntegrationError, isIntegrationError } from '@fraiseql/core';
import { expect } from 'vitest';

/** The IntegrationError a promise rejects with (fails the test when it resolves or throws something else). */
export async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the promise to reject').toBeDefined();
  expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
  return err as IntegrationError;
}

/** The key must not appear anywhere a caller or a log would see it. */
export function expectNoSecret(err: IntegrationError, secret: string): void {
  expect(err.message).not.toContain(secret);
  expect(String(err)).not.toContain(secret);
  expect(JSON.stringify(err.toJSON())).not.toContain(secret);
  expect(err.stack ?? '').not.toContain(secret);
}
