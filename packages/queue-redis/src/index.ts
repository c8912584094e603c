export {
  bullmqQueueName,
  MAX_PRIORITY,
  MIN_PRIORITY,
} from './mapping';
export {
  createRedisQueue,
  DEFAULT_PREFIX,
  type RedisQueueOptions,
  RedisQueueProvider,
  type RetentionOptions,
} from './provider';
export { RedisWorker } from './worker';
