import { ErrorCode } from '@fraiseql/core';
import { parseKind } from './definitions';
import { observersError } from './errors';
import type { EntityEvent } from './types';

/** Events handed to processEvent come from callers: check them like any input. */
export function checkEvent(event: EntityEvent): EntityEvent {
  const problems: string[] = [];
  if (!event || typeof event !== 'object')
    throw observersError(ErrorCode.InvalidConfiguration, 'processEvent: event must be an object', 'event');
  if (typeof event.id !== 'string' || !/^[0-9]{1,19}$/.test(event.id))
    problems.push('id must be a decimal string');
  if (typeof event.entity !== 'string' || event.entity === '')
    problems.push('entity must be a non-empty string');
  if (typeof event.entityId !== 'string') problems.push('entityId must be a string');
  const kind = parseKind(event.kind);
  if (!kind) problems.push('kind must be INSERT, UPDATE or DELETE');
  const createdAt =
    event.createdAt instanceof Date ? event.createdAt : new Date(event.createdAt as unknown as string);
  if (Number.isNaN(createdAt.getTime())) problems.push('createdAt must be a date');
  if (problems.length > 0)
    throw observersError(
      ErrorCode.InvalidConfiguration,
      `processEvent: invalid event: ${problems.join('; ')}`,
      'event',
    );
  return {
    ...event,
    source: typeof event.source === 'string' ? event.source : 'default',
    kind: kind as EntityEvent['kind'],
    createdAt,
  };
}
