import type { Channel } from 'amqplib';
import { RabbitConnection } from './connection';
import { amqpCode, rabbitError } from './errors';
import {
  DLQ_ARGS,
  jobsArgs,
  LEGACY_MAX_PRIORITY,
  legacyJobsArgs,
  PAUSED_ARGS,
  type QueueNames,
  queueNames,
  RUNG_REDECLARE_MS,
  rungArgs,
} from './topology';

const noop = () => {};

/**
 * What has been declared on the broker over the current connection: queues, delay rungs and
 * exchanges are declared once per connection (rungs again when older than their expiry), so
 * publishes do not re-declare.
 */
export class Declarations {
  /** Objects declared on the current connection (name → when), so publishes do not re-declare. */
  private readonly declared = new Map<string, number>();
  private readonly declaring = new Map<string, Promise<void>>();
  /** Queues whose jobs queue is known to exist, so reads skip the existence check. */
  private readonly known = new Set<string>();
  /** Jobs queues found declared by 0.x (20 priority levels), used as they are. */
  private readonly legacy = new Set<string>();

  constructor(
    private readonly conn: RabbitConnection,
    private readonly prefix: string,
    /** `maxPriority` of a queue (its jobs queue's `x-max-priority`, 0 = none). */
    private readonly maxPriority: (queue: string) => number,
  ) {}

  /** The `queue.declare` arguments of the jobs queue of `queue`, as it exists on the broker. */
  jobsArgs(queue: string): ReturnType<typeof jobsArgs> {
    return this.legacy.has(queue) ? legacyJobsArgs() : jobsArgs(this.maxPriority(queue));
  }

  names(queue: string): QueueNames {
    return queueNames(this.prefix, queue);
  }

  /** The connection changed: every object must be declared again before use. */
  reset(): void {
    this.declared.clear();
  }

  /** True when {@link ensureQueue} has nothing to do (declared on the current connection). */
  isDeclared(queue: string): boolean {
    return this.declared.has(`queue:${queue}`);
  }

  /** Declares the jobs queue, dead-letter queue and pause flag of `queue`, once per connection. */
  ensureQueue(queue: string): Promise<void> {
    const n = this.names(queue);
    return this.declareOnce(`queue:${queue}`, async (ch) => {
      await ch.assertQueue(n.dlq, DLQ_ARGS);
      await ch.assertQueue(n.paused, PAUSED_ARGS);
      try {
        await ch.assertQueue(n.jobs, this.jobsArgs(queue));
      } catch (err) {
        // 406: the jobs queue exists with other arguments. One declared by 0.x (20 levels) is
        // used as it is: its arguments cannot change, and its jobs must still run. (The refusal
        // closed this channel; the check runs on a channel of its own.)
        if (
          amqpCode(err) !== 406 ||
          this.legacy.has(queue) ||
          this.maxPriority(queue) === LEGACY_MAX_PRIORITY
        )
          throw err;
        await this.conn.withTempChannel(`declaring ${n.jobs}`, (c) =>
          c.assertQueue(n.jobs, legacyJobsArgs()),
        );
        this.legacy.add(queue);
      }
      this.known.add(queue);
    });
  }

  /** Declares a delay rung, again whenever our last declare is older than RUNG_REDECLARE_MS (x-expires). */
  ensureRung(queue: string, rungMs: number): Promise<void> {
    const n = this.names(queue);
    const name = n.delay(rungMs);
    return this.declareOnce(
      `rung:${name}`,
      (ch) => ch.assertQueue(name, rungArgs(n.jobs, rungMs)).then(noop),
      RUNG_REDECLARE_MS,
    );
  }

  /** Declares a durable fan-out exchange, once per connection. */
  ensureFanout(exchange: string): Promise<void> {
    return this.declareOnce(`exchange:${exchange}`, (ch) =>
      ch.assertExchange(exchange, 'fanout', { durable: true }).then(noop),
    );
  }

  async redeclareQueue(queue: string, rungMs = 0): Promise<void> {
    this.forgetQueue(queue);
    await this.ensureQueue(queue);
    if (rungMs > 0) await this.ensureRung(queue, rungMs);
  }

  forgetQueue(queue: string): void {
    const n = this.names(queue);
    this.declared.delete(`queue:${queue}`);
    for (const name of n.rungs()) this.declared.delete(`rung:${name}`);
  }

  /** The queue was deleted: neither declared nor known to exist any more. */
  dropQueue(queue: string): void {
    this.forgetQueue(queue);
    this.known.delete(queue);
  }

  private declareOnce(
    key: string,
    declare: (ch: Channel) => Promise<void>,
    maxAgeMs = Infinity,
  ): Promise<void> {
    const at = this.declared.get(key);
    if (at !== undefined && Date.now() - at < maxAgeMs) return Promise.resolve();
    let pending = this.declaring.get(key);
    if (!pending) {
      pending = this.conn
        .withOp(`declaring ${key}`, async (ch) => {
          try {
            await declare(ch);
          } catch (err) {
            if ((err as { code?: unknown })?.code === 406) {
              throw rabbitError(
                err,
                `${key} exists on the broker with other arguments (delete it, or use another prefix)`,
              );
            }
            throw err;
          }
        })
        .then(() => {
          this.declared.set(key, Date.now());
        })
        .finally(() => this.declaring.delete(key));
      this.declaring.set(key, pending);
    }
    return pending;
  }

  /**
   * Whether the jobs queue of `queue` exists, checked on a throwaway channel (a missing queue is
   * a channel error). Reads of a never-used queue answer 0/false instead of declaring it.
   */
  async exists(queue: string): Promise<boolean> {
    if (this.known.has(queue)) return true;
    const n = this.names(queue);
    const found = await this.conn.withTempChannel(`checking queue "${queue}"`, async (ch) => {
      try {
        await ch.checkQueue(n.jobs);
        return true;
      } catch (err) {
        if (RabbitConnection.isNotFound(err)) return false;
        throw err;
      }
    });
    if (found) this.known.add(queue);
    return found;
  }
}
