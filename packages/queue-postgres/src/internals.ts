import type { IntegrationError, ResolvedQueueOptions } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { QueueTables } from './schema';

export const PROVIDER = 'postgresql';

/** What a worker needs of its provider: shared by `queue.ts` and `worker.ts` without a cycle. */
export interface QueueInternals {
  sql: SqlClient;
  t: QueueTables;
  workerId: string;
  visibilityTimeoutMs: number;
  pollIntervalMs: number;
  completedRetentionMs: number;
  options(queue: string): ResolvedQueueOptions;
  subscribe(queue: string, wake: () => void): () => void;
  ensureMaintenance(): void;
  error(err: unknown, context: string): IntegrationError;
}
