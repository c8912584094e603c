export type {
  PostgresEnqueueOptions,
  PostgresQueue,
  PostgresQueue as PostgresQueueProvider,
  PostgresQueueOptions,
} from './queue';
export { createPostgresQueue } from './queue';
export { type QueueTables, queueMigrations, queueTables } from './schema';
export type { PostgresWorker } from './worker';
