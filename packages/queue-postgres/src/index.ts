export type { PostgresEnqueueOptions, PostgresQueueOptions } from './queue';
export { createPostgresQueue, PostgresQueue } from './queue';
export { type QueueTables, queueMigrations, queueTables } from './schema';
export { PostgresWorker } from './worker';
