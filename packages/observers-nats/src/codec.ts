import type { ChangeKind, EntityEvent } from '@fraiseql/observers';

const KINDS = new Set<ChangeKind>(['INSERT', 'UPDATE', 'DELETE']);

/** The wire form of an event: JSON with `createdAt` as an ISO string. */
export function encodeEvent(event: EntityEvent): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      id: event.id,
      source: event.source,
      entity: event.entity,
      entityId: event.entityId,
      kind: event.kind,
      data: event.data ?? null,
      createdAt: (event.createdAt instanceof Date
        ? event.createdAt
        : new Date(event.createdAt)
      ).toISOString(),
    }),
  );
}

/** The event of a message, or a reason why it is not one (the message is then terminated). */
export function decodeEvent(bytes: Uint8Array): EntityEvent | string {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const o = v as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof o.id !== 'string' || !/^[0-9]{1,19}$/.test(o.id)) problems.push('id');
  if (typeof o.source !== 'string') problems.push('source');
  if (typeof o.entity !== 'string' || o.entity === '') problems.push('entity');
  if (typeof o.entityId !== 'string') problems.push('entityId');
  if (typeof o.kind !== 'string' || !KINDS.has(o.kind as ChangeKind)) problems.push('kind');
  const createdAt = typeof o.createdAt === 'string' ? new Date(o.createdAt) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime())) problems.push('createdAt');
  if (problems.length > 0) return `invalid field(s): ${problems.join(', ')}`;
  return {
    id: o.id as string,
    source: o.source as string,
    entity: o.entity as string,
    entityId: o.entityId as string,
    kind: o.kind as ChangeKind,
    data: o.data ?? null,
    createdAt,
  };
}
