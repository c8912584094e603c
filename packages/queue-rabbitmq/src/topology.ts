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
 * | jobs ready to run | `fraiseql.jobs.<queue>` | durable, `x-max-priority: 20` |
 * | failed jobs (dead letters) | `fraiseql.dlq.<queue>` | durable |
 * | pause flag | `fraiseql.paused.<queue>` | durable, `x-max-length: 1`; one message = paused |
 * | delay rung | `fraiseql.delay.<queue>.<ms>` | durable, `x-message-ttl: <ms>`, dead-letters to the jobs queue, `x-expires` |
 * | control fan-out | exchange `fraiseql.control` | durable fanout; "re-read the pause flag of <queue>" |
 */

/** Highest AMQP priority level of a jobs queue (`x-max-priority`). */
export const MAX_PRIORITY_LEVEL = 20;
/** Our priority 0 sits in the middle, so negative priorities stay below the default. */
const PRIORITY_OFFSET = MAX_PRIORITY_LEVEL / 2;

/**
 * AMQP priority level of a job priority: `clamp(priority, -10, 10) + 10`. Priorities -10..10 keep
 * their exact order; everything above 10 shares level 20 and everything below -10 level 0, and
 * within one level jobs run oldest first. (RabbitMQ keeps one internal queue per level, which is
 * why the range is small.)
 */
export function priorityLevel(priority: number): number {
  return Math.min(MAX_PRIORITY_LEVEL, Math.max(0, Math.trunc(priority) + PRIORITY_OFFSET));
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

/** `queue.declare` arguments; identical on every declare, or RabbitMQ refuses it (406). */
export const JOBS_ARGS = { durable: true, arguments: { 'x-max-priority': MAX_PRIORITY_LEVEL } };
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
