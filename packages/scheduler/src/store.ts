import type { ScheduleDef } from './definition';

/** One (schedule, tick) pair. */
export interface TickRef {
  id: string;
  tick: number;
}

/** A tick to claim; `limited` when its schedule has a `limit` (claimed under a lock). */
export interface ClaimRef extends TickRef {
  limited?: boolean;
}

/** A stored schedule with the state every scheduler on the store shares. */
export interface StoredSchedule {
  def: ScheduleDef;
  createdAtMs: number;
  fired: number;
  /** Latest claimed tick, null before the first. */
  lastTick: number | null;
  /** Job id of the latest tick whose enqueue was recorded. */
  lastJobId: string | null;
}

/**
 * Where schedules and tick claims live. A tick is fired by the one scheduler whose `claim` won it;
 * the claim records the job id once enqueued (`complete`), and an unfinished claim older than the
 * lease is taken over by another scheduler (`takeStale`).
 */
export interface ScheduleStore {
  readonly name: string;
  init(): Promise<void>;
  /**
   * Once per pass: returns the schedules' version (changes on every put/remove, so schedulers
   * reload only when something changed) and the latest pass time any scheduler recorded before
   * (null if none ever did), and records `nowMs` as a pass. A gap tells ticks missed while every
   * scheduler was down from ticks that are merely due.
   */
  sync(nowMs: number): Promise<{ version: string; scannedMs: number | null }>;
  put(def: ScheduleDef, nowMs: number): Promise<void>;
  remove(id: string): Promise<boolean>;
  get(id: string): Promise<StoredSchedule | null>;
  all(): Promise<StoredSchedule[]>;
  /**
   * Claims ticks for `owner`; returns those it won (each tick is won by one caller, ever — until
   * pruned). Ticks of schedules that no longer exist, or beyond their `limit`, are not won. A
   * claim's lease runs from max(`nowMs`, tick): a tick claimed ahead of its instant is not stale
   * (taken over by `takeStale`) before a lease after the instant.
   */
  claim(ticks: ClaimRef[], owner: string, nowMs: number): Promise<TickRef[]>;
  /** Records the job id of claimed ticks. */
  complete(done: (TickRef & { jobId: string })[]): Promise<void>;
  /** Renews `owner`'s unfinished claims before retrying them; returns those it still holds. */
  touch(ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]>;
  /** Takes over up to `max` unfinished claims older than `leaseMs`. */
  takeStale(owner: string, nowMs: number, leaseMs: number, max: number): Promise<TickRef[]>;
  /** Drops finished claims older than the schedule's backfill window plus `keepMs`. */
  prune(nowMs: number, keepMs: number): Promise<void>;
  close(): Promise<void>;
}
