/**
 * Broker objects of one queue, and the two mappings RabbitMQ forces on us: our unbounded integer
 * priority onto `x-max-priority` levels, and any delay onto a bounded ladder of TTL queues.
 * Pure functions only, so the rules can be tested without a broker.
 *
 * Names (prefix `fraiseql` by default). The kind comes before the queue name, so no queue name
 * can collide with another queue's companion (`a.dlq` would, as `fraiseql.a.dlq`):
 *
 * | object | name | arguments |
 * |---|---|---|
 * | jobs ready to run | `fraiseql.jobs.<queue>` | durable, `x-max-priority: <maxPriority>` (none when 0) |
 * | failed jobs (dead letters) | `fraiseql.dlq.<queue>` | durable |
 * | pause flag | `fraiseql.paused.<queue>` | durable, `x-max-length: 1`; one message = paused |
 * | delay rung | `fraiseql.delay.<queue>.<ms>` | durable, `x-message-ttl: <ms>`, dead-letters to the jobs queue, `x-expires` |
 * | control fan-out | exchange `fraiseql.control` | durable fanout; "re-read the pause flag of <queue>" |
 */

/**
 * Default `maxPriority` of a jobs queue (`x-max-priority`): 10, RabbitMQ's own guidance — every
 * level is an internal queue in the broker, so more levels cost throughput.
 */
export const DEFAULT_MAX_PRIORITY = 10;
/** Largest `x-max-priority` RabbitMQ accepts. */
export const MAX_PRIORITY_LIMIT = 255;
/**
 * The `x-max-priority` every jobs queue had before `maxPriority` existed (0.x). A queue declared
 * that way keeps it (its arguments cannot change): see {@link legacyJobsArgs}.
 */
export const LEGACY_MAX_PRIORITY = 20;
/** @deprecated The old fixed level count; jobs queues now have `maxPriority` levels (default 10). */
export const MAX_PRIORITY_LEVEL = LEGACY_MAX_PRIORITY;

/**
 * AMQP priority level of a job priority on a queue with `maxPriority` levels (> 0). Priority 0
 * sits in the middle (`floor(maxPriority / 2)`), so negative priorities stay below the default;
 * from there each level holds twice the magnitudes of the one before: 1, 2–3, 4–7, 8–15, … (and
 * -1, -2…-3, … below), the outermost level taking everything beyond. With the default 10 levels:
 * 0 | 1 | 2–3 | 4–7 | 8–15 | 16+ above, mirrored below. Priorities of different levels run in
 * order; within one level jobs run oldest first. (RabbitMQ keeps one internal queue per level,
 * which is why levels are few, and why they grow by magnitude: 10 levels still tell 5 from 10.)
 */
export function priorityLevel(priority: number, maxPriority = DEFAULT_MAX_PRIORITY): number {
  const center = Math.floor(maxPriority / 2);
  const p = Math.trunc(priority);
  if (p === 0 || !Number.isFinite(p)) return p > 0 ? maxPriority : p < 0 ? 0 : center;
  const steps = Math.floor(Math.log2(Math.abs(p))) + 1;
  return p > 0 ? center + Math.min(maxPriority - center, steps) : center - Math.min(center, steps);
}

/** Smallest and largest delay rung, as powers of two of milliseconds (32 ms … 2^22 ms ≈ 70 min). */
export const MIN_RUNG_EXP = 5;
export const MAX_RUNG_EXP = 22;
/** Every rung's TTL in ms, smallest first. */
export const RUNGS_MS: readonly number[] = Array.from(
  { length: MAX_RUNG_EXP - MIN_RUNG_EXP + 1 },
  (_, i) => 2 ** (MIN_RUNG_EXP + i),
);
/** A remaining wait this short is done by the worker itself instead of another trip through a rung. */
export const LOCAL_WAIT_MS = RUNGS_MS[0]!;
/**
 * How long an unused rung outlives its TTL before RabbitMQ deletes it (`x-expires` = TTL + this).
 * Publishers re-declare a rung at least every {@link RUNG_REDECLARE_MS}, so a rung always outlives
 * its newest message by more than its TTL.
 */
export const RUNG_EXPIRY_SLACK_MS = 120_000;
export const RUNG_REDECLARE_MS = 30_000;

/**
 * How late a delayed job may be, at most: 1/32 of its delay, between 32 ms and 30 s. A job is
 * never early.
 */
export function delayTolerance(delayMs: number): number {
  return Math.min(30_000, Math.max(LOCAL_WAIT_MS, delayMs / 32));
}

/**
 * Where a job with `remainingMs` left to wait goes next: `0` = the jobs queue (it is due, or so
 * nearly due that the worker waits the rest itself), otherwise the TTL of the rung to park it in.
 *
 * The rung is the smallest one at or above the remaining wait when that makes the job at most
 * {@link delayTolerance} late; otherwise the largest one below it, and the job, back in the jobs
 * queue too early, is parked again for the rest. Each such hop more than halves the wait, so a
 * delay takes about log2(32) = 5 hops at most, plus one per 70 minutes beyond the top rung.
 */
export function nextRung(remainingMs: number, delayMs: number): number {
  if (!(remainingMs > LOCAL_WAIT_MS)) return 0;
  const top = RUNGS_MS[RUNGS_MS.length - 1]!;
  if (remainingMs > top) return top;
  const tolerance = delayTolerance(delayMs);
  let below = 0;
  for (const rung of RUNGS_MS) {
    if (rung >= remainingMs) return rung - remainingMs <= tolerance || below === 0 ? rung : below;
    below = rung;
  }
  return top;
}

/** The names of one queue's broker objects. */
export interface QueueNames {
  jobs: string;
  dlq: string;
  paused: string;
  delay(rungMs: number): string;
  /** Every rung name, smallest first. */
  rungs(): string[];
}

export function queueNames(prefix: string, queue: string): QueueNames {
  const delay = (rungMs: number) => `${prefix}.delay.${queue}.${rungMs}`;
  return {
    jobs: `${prefix}.jobs.${queue}`,
    dlq: `${prefix}.dlq.${queue}`,
    paused: `${prefix}.paused.${queue}`,
    delay,
    rungs: () => RUNGS_MS.map(delay),
  };
}

export function controlExchange(prefix: string): string {
  return `${prefix}.control`;
}

/**
 * `queue.declare` arguments of a jobs queue; identical on every declare, or RabbitMQ refuses it
 * (406). `maxPriority` 0 declares a plain queue (no priority levels: the broker's fast path).
 */
export function jobsArgs(maxPriority: number): { durable: true; arguments?: Record<string, number> } {
  return maxPriority > 0
    ? { durable: true, arguments: { 'x-max-priority': maxPriority } }
    : { durable: true };
}
/** The arguments of a jobs queue declared by 0.x (fixed 20 levels), accepted when found. */
export const legacyJobsArgs = () => jobsArgs(LEGACY_MAX_PRIORITY);
export const DLQ_ARGS = { durable: true };
export const PAUSED_ARGS = { durable: true, arguments: { 'x-max-length': 1 } };

export function rungArgs(jobsQueue: string, rungMs: number) {
  return {
    durable: true,
    arguments: {
      'x-message-ttl': rungMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': jobsQueue,
      'x-expires': rungMs + RUNG_EXPIRY_SLACK_MS,
    },
  };
}
