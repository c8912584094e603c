import type { EnqueueOptions, QueueProvider } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';

/** pino-compatible; the scheduler logs through it when given (default: silent). */
export interface SchedulerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * The part of an ioredis client the Redis store uses (an `ioredis` `Redis` fits). Commands are
 * sent through `call` so any client with a generic command method works.
 */
export interface RedisLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** One schedule, as given to {@link Scheduler.upsert}. */
export interface ScheduleInput {
  /** 1-128 characters of `[A-Za-z0-9_.:-]` (the queue-name alphabet), unique per store. */
  id: string;
  /** Cron pattern, 5 fields or 6 with seconds first (`"*\/10 * * * * *"`). One of `cron`/`everyMs`. */
  cron?: string;
  /** Fixed interval in milliseconds (≥ 100), ticks aligned to `startAt` (default: the Unix epoch). */
  everyMs?: number;
  /** IANA time zone of `cron` (default `"UTC"`). */
  tz?: string;
  /** Queue the jobs go to (queue-name rules of the QueueProvider). */
  queue: string;
  /** The job data template; every tick enqueues a copy. Must be JSON. Default `{}`. */
  data?: unknown;
  /**
   * Enqueue options of every job. `dedupKey` is replaced by `schedule:<id>:<tick>` on backends that
   * dedup (that is what makes a re-enqueue after a crash harmless).
   */
  opts?: EnqueueOptions;
  /** Ticks missed while every scheduler was down are enqueued when they are at most this old. Default 0 (only the next tick runs). */
  backfillMs?: number;
  /** No tick before this instant. Default: none (ticks from the upsert on). */
  startAt?: Date;
  /** No tick after this instant. Default: none. */
  endAt?: Date;
  /** At most this many ticks fire in total; then the schedule is spent. Default: no limit. */
  limit?: number;
}

/** A stored schedule with its state, as {@link Scheduler.list} returns it. */
export interface ScheduleInfo {
  id: string;
  cron?: string;
  everyMs?: number;
  tz: string;
  queue: string;
  data: unknown;
  opts?: EnqueueOptions;
  backfillMs: number;
  startAt?: Date;
  endAt?: Date;
  limit?: number;
  /** Next tick after now (null when the schedule has ended or reached its limit). */
  nextRun: Date | null;
  /** The latest tick that fired (claimed), null when none has. */
  lastRun: Date | null;
  /** Id of the job of the latest tick whose enqueue completed. */
  lastJobId: string | null;
  /** Ticks fired so far. */
  firedCount: number;
}

/** Options of {@link createScheduler}. */
export interface SchedulerOptions {
  /** Where jobs go. */
  queue: QueueProvider;
  /**
   * Where schedules and tick claims live: `'postgresql'` / `'redis'` (connect to `storeUrl`, else
   * `DATABASE_URL` / `REDIS_URL`), `'memory'` (this process only), a SqlClient of
   * `@fraiseql/postgres` (pg or PGlite) or an ioredis-like client. Clients passed in stay open on `stop()`.
   */
  store: 'postgresql' | 'redis' | 'memory' | SqlClient | RedisLike;
  /** Connection URL for `store: 'postgresql' | 'redis'`. Default: the env var named above. */
  storeUrl?: string;
  /** Schema of the Postgres store's tables. Default `"_system"`. */
  schema?: string;
  /** Key prefix of the Redis store. Default `"fraiseql:sched:"`. */
  prefix?: string;
  /** Longest sleep between two passes (new schedules are seen within it). Default 1000 ms. */
  tickMs?: number;
  /** A claimed tick whose enqueue was not recorded within this time is re-enqueued by any scheduler. Default 30000 ms. */
  claimLeaseMs?: number;
  /**
   * How long before its instant a tick is claimed (then held and enqueued at the instant, so
   * thousands of ticks on one instant do not wait for their claims). Default: adaptive, twice what
   * claiming took lately, 50 ms to `tickMs / 2`. `0` claims ticks only once due. A claimed-ahead
   * tick's lease starts at its instant: if its process dies first, another scheduler fires it
   * `claimLeaseMs` after the tick.
   */
  claimAheadMs?: number;
  /** prom-client registry for the metrics. Default: a private one. */
  registry?: Registry;
  logger?: SchedulerLogger;
  /** Clock (epoch ms) — injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Environment for the URL fallbacks. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** Runs schedules; every method is safe to call from many processes on one store. */
export interface Scheduler {
  /** Creates or replaces a schedule (its fired count and last run are kept). Visible to every scheduler on the store. */
  upsert(s: ScheduleInput): Promise<void>;
  /** Deletes a schedule; true when it existed. */
  remove(id: string): Promise<boolean>;
  list(): Promise<ScheduleInfo[]>;
  /** Starts firing ticks in this process. Idempotent. */
  start(): Promise<void>;
  /** Stops firing and closes the store connections it opened. Idempotent. */
  stop(): Promise<void>;
  /** Enqueues one job of the schedule now, outside its timing (does not count towards `limit`). Returns the job id. */
  runNow(id: string): Promise<string>;
  /** One pass now: fire what is due by the clock. For tests with an injected clock; `start()` runs it by itself. */
  poll(): Promise<void>;
}
