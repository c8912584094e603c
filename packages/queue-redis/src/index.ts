export {
  bullmqQueueName,
  MAX_PRIORITY,
  MIN_PRIORITY,
} from './mapping';
export {
  DEFAULT_PREFIX,
  type RedisQueueOptions,
  type RedisQueueSettings,
  type RetentionOptions,
} from './options';
export { createRedisQueue, type RedisQueueProvider } from './provider';
export type { RedisWorker } from './worker';
