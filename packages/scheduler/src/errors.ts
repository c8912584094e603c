import { ErrorCode, IntegrationError } from '@fraiseql/core';

export const TAG = '[scheduler]';

/** Bad schedule input: IN002 (invalid configuration) but a 400 on the HTTP surface, naming the schedule. */
export function invalidSchedule(id: unknown, message: string, field: string): IntegrationError {
  const who = typeof id === 'string' && id.length <= 128 ? `schedule ${JSON.stringify(id)}` : 'schedule';
  return new IntegrationError(ErrorCode.InvalidConfiguration, `${TAG} ${who}: ${message}`, {
    kind: 'invalid_input',
    field,
    resourceType: 'schedule',
  });
}

export function scheduleNotFound(id: string): IntegrationError {
  return new IntegrationError(ErrorCode.JobNotFound, `${TAG} schedule not found: ${JSON.stringify(id)}`, {
    kind: 'not_found',
    resourceType: 'schedule',
  });
}

/** Short, printable form of a user value for a message (never the whole value). */
export function show(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
