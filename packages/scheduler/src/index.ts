export { createScheduler } from './create';
export { assertScheduleId, MIN_EVERY_MS } from './definition';
export { tickDedupKey } from './enqueue';
export { type SchedulesFromConfigOptions, startSchedulesFromConfig } from './from-config';
export { nextRuns } from './timing';
export type {
  RedisLike,
  ScheduleInfo,
  ScheduleInput,
  Scheduler,
  SchedulerLogger,
  SchedulerOptions,
} from './types';
