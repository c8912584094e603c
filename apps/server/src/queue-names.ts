import type { QueueProvider } from '@fraiseql/core';
import { qualifiedName } from '@fraiseql/postgres';

interface SqlLike {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Names of the queues that have jobs in the backend, for "every queue" views (`GET /queues`,
 * `dlq list` without a queue). The contract has no such call; the PostgreSQL backend (the embedded
 * default) answers from its jobs table through the shared client. Other backends give `[]`: the
 * callers add the queues they know (configured, built-in).
 */
export async function backendQueueNames(i: { queue?: QueueProvider; sql?: unknown }): Promise<string[]> {
  let p = i.queue as unknown as { inner?: unknown; schema?: unknown; name?: string } | undefined;
  // Unwrap the resilience layer (and any other wrapper that keeps `inner`).
  while (p?.inner && p.schema === undefined) p = p.inner as typeof p;
  const sql = i.sql as SqlLike | undefined;
  if (p?.name !== 'postgresql' || typeof p.schema !== 'string' || !sql?.query) return [];
  // The provider validated its schema name when it was created; qualifiedName quotes it.
  const { rows } = await sql.query(
    `SELECT DISTINCT queue FROM ${qualifiedName(p.schema, 'jobs')} ORDER BY queue`,
  );
  return rows.map((r) => String(r.queue));
}
