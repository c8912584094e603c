export { createScheduler } from './create';
export { assertScheduleId, MIN_EVERY_MS } from './definition';
export { tickDedupKey } from './enqueue';
export type {
  RedisLike,
  ScheduleInfo,
  ScheduleInput,
  Scheduler,
  SchedulerLogger,
  SchedulerOptions,
} from './types';
