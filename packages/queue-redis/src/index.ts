export {
  bullmqQueueName,
  MAX_PRIORITY,
  MIN_PRIORITY,
} from './mapping';
export {
  createRedisQueue,
  DEFAULT_PREFIX,
  type RedisQueueOptions,
  type RedisQueueProvider,
  type RetentionOptions,
} from './provider';
export type { RedisWorker } from './worker';
