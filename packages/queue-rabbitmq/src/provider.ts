import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  type EnqueueOptions,
  type JobHandler,
  type JobInfo,
  type ListJobsQuery,
  probeWithTimeout,
  type QueueCapabilities,
  type QueueProvider,
  resolveQueueOptions,
  type WorkerOptions,
} from '@fraiseql/core';
import { RabbitConnection } from './connection';
import { PauseControl } from './control';
import { peekDeadLetters, retryDeadLetters } from './dead-letters';
import { Declarations } from './declarations';
import { PUBLISH_BATCH, prepareJobs } from './enqueue';
import type { Envelope } from './envelope';
import { invalidArgument, PROVIDER, unavailable, unsupported } from './errors';
import { maxPriorityOf, type ResolvedRabbitOptions } from './options';
import { Publisher } from './publishing';
import { DLQ_ARGS, RUNGS_MS, rungArgs } from './topology';
import { RabbitWorker } from './worker';
import type { WorkerHost } from './worker-host';

const NO_ID_LOOKUP =
  'RabbitMQ cannot find a message by id (a queue is only readable from its head); use peekFailed, retryFailed or purgeFailed for failed jobs';

/**
 * The RabbitMQ queue (`createRabbitQueue`). See the package README for the design: names, the
 * job envelope, delays, retries, the dead-letter queue, pause and reconnects.
 *
 * Capabilities: `priority` (per queue `maxPriority` levels, default 10: -5..5 exact, see
 * {@link priorityLevel}; false when `queueDefaults.maxPriority` is 0 — queues listed with their own
 * `maxPriority` may differ, and a non-zero priority on a queue without levels throws IN005), `delay` (TTL rungs,
 * never early), `pause` (a durable flag + a control fan-out, across processes). Not supported,
 * each throwing IN005: `dedup` (RabbitMQ cannot look up pending messages by key), `inspect`
 * (`getJob`/`listJobs`) and `retryById` (`retryJob`/`deleteJob`): a queue cannot be read or
 * changed by message id. The dead-letter queue can be read and moved as a whole instead:
 * {@link peekFailed}, {@link retryFailed}, {@link purgeFailed}.
 */
export class RabbitQueueProvider implements QueueProvider {
  readonly name = PROVIDER;
  readonly capabilities: QueueCapabilities;

  private readonly conn: RabbitConnection;
  private readonly workers = new Set<RabbitWorker<any>>();
  private readonly decl: Declarations;
  private readonly publisher: Publisher;
  private readonly control: PauseControl;
  private closed = false;
  private closingPromise: Promise<void> | undefined;
  private readonly host: WorkerHost;

  constructor(private readonly opts: ResolvedRabbitOptions) {
    this.capabilities = Object.freeze({
      // What a queue gets unless it is listed with its own `maxPriority`.
      priority: (opts.common.queueDefaults?.maxPriority ?? 1) > 0,
      delay: true,
      dedup: false,
      inspect: false,
      retryById: false,
      pause: true,
    });
    const maxPriority = (queue: string) => maxPriorityOf(opts, queue);
    this.conn = new RabbitConnection(opts);
    this.decl = new Declarations(this.conn, opts.prefix, maxPriority);
    this.publisher = new Publisher(this.conn, this.decl, maxPriority);
    this.control = new PauseControl(this.conn, this.decl, opts, this.workers, () => this.closed);
    this.conn.on('connected', () => {
      this.decl.reset();
      for (const w of this.workers) void w.refresh();
    });
    this.conn.on('disconnected', () => {
      this.decl.reset();
      this.control.reset();
    });
    this.host = {
      shutdownTimeoutMs: opts.shutdownTimeoutMs,
      operationTimeoutMs: opts.operationTimeoutMs,
      currentLink: () => this.conn.current(),
      jobsQueueName: (queue) => this.decl.names(queue).jobs,
      ensureQueue: (queue) => this.decl.ensureQueue(queue),
      ensureControl: () => this.control.ensureControl(),
      readPaused: (queue) => this.control.readPaused(queue),
      send: (env, what) => this.publisher.send(env, what),
      sendToDlq: (env, what) => this.publisher.sendToDlq(env, what),
      quarantine: (queue, msg, reason) => this.publisher.quarantine(queue, msg, reason),
      forgetQueue: (queue) => this.decl.forgetQueue(queue),
      unregister: (worker) => this.workers.delete(worker),
    };
  }

  /** Connects; `createRabbitQueue` calls it. A no-op once connected (reconnects are automatic). */
  async connect(): Promise<void> {
    if (this.conn.connected || this.closed) return;
    await this.conn.open();
  }

  /** True while the AMQP connection is up (false while reconnecting). */
  get connected(): boolean {
    return this.conn.connected;
  }

  // ------------------------------------------------------------------ enqueue

  async enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string> {
    const [job] = this.prepare(queue, [{ data, opts }], 'enqueue');
    await this.publisher.send(job!.env, `enqueueing a job on "${queue}"`, job!.dataJson);
    return job!.env.id;
  }

  async enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: EnqueueOptions): Promise<string> {
    // Checked as an option, so a bad delay is the same IN309 as `{ delayMs }`.
    assertEnqueueOptions({ delayMs });
    return this.enqueue(queue, data, { ...opts, delayMs });
  }

  /**
   * Checks every item before publishing any (one bad item enqueues nothing), then publishes them
   * in batches with publisher confirms. Not atomic against the broker: if it fails midway, the
   * items confirmed so far stay enqueued.
   */
  async enqueueMany<T>(queue: string, items: { data: T; opts?: EnqueueOptions }[]): Promise<string[]> {
    if (!Array.isArray(items)) {
      assertQueueName(queue);
      throw invalidArgument('enqueueMany takes an array of { data, opts } items', 'items');
    }
    const jobs = this.prepare(queue, items, 'enqueueMany');
    if (jobs.length === 0) return [];
    await this.decl.ensureQueue(queue);
    for (let i = 0; i < jobs.length; i += PUBLISH_BATCH) {
      await this.publisher.sendMany(queue, jobs.slice(i, i + PUBLISH_BATCH), `enqueueing jobs on "${queue}"`);
    }
    return jobs.map((j) => j.env.id);
  }

  private prepare(
    queue: string,
    items: { data: unknown; opts?: EnqueueOptions | undefined }[],
    what: string,
  ): { env: Envelope; dataJson: string }[] {
    this.assertOpen(what);
    assertQueueName(queue);
    return prepareJobs(this.opts, queue, items);
  }

  // ------------------------------------------------------------------ counts

  /** Jobs ready in the jobs queue plus jobs parked in its delay rungs. Running jobs are not counted. */
  async queueLength(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('queueLength');
    if (!(await this.decl.exists(queue))) return 0;
    const n = this.decl.names(queue);
    return this.conn.withOp(`counting jobs of "${queue}"`, async (ch) => {
      // Rungs come and go (x-expires), so each is declared to be counted; a rung created here is
      // empty and expires again on its own.
      const replies = await Promise.all([
        ch.assertQueue(n.jobs, this.decl.jobsArgs(queue)),
        ...RUNGS_MS.map((ms) => ch.assertQueue(n.delay(ms), rungArgs(n.jobs, ms))),
      ]);
      return replies.reduce((sum, r) => sum + r.messageCount, 0);
    });
  }

  /** Jobs in the dead-letter queue. */
  async failedCount(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('failedCount');
    if (!(await this.decl.exists(queue))) return 0;
    const n = this.decl.names(queue);
    return this.conn.withOp(
      `counting failed jobs of "${queue}"`,
      async (ch) => (await ch.assertQueue(n.dlq, DLQ_ARGS)).messageCount,
    );
  }

  // ------------------------------------------------------------------ unsupported by RabbitMQ

  async getJob(queue: string, _id: string): Promise<JobInfo | null> {
    assertQueueName(queue);
    throw unsupported('getJob', NO_ID_LOOKUP);
  }

  async listJobs(queue: string, _q: ListJobsQuery): Promise<JobInfo[]> {
    assertQueueName(queue);
    throw unsupported('listJobs', `RabbitMQ cannot list or page through messages; ${NO_ID_LOOKUP}`);
  }

  async retryJob(queue: string, _id: string): Promise<boolean> {
    assertQueueName(queue);
    throw unsupported('retryJob', NO_ID_LOOKUP);
  }

  async deleteJob(queue: string, _id: string): Promise<boolean> {
    assertQueueName(queue);
    throw unsupported('deleteJob', NO_ID_LOOKUP);
  }

  // ------------------------------------------------------------------ dead-letter queue

  /**
   * Up to `limit` (default 100, at most 10_000) failed jobs from the head of the dead-letter
   * queue, oldest first, without removing them: they are fetched unacked on a channel of their
   * own and requeued in place when it closes. While a peek runs, those jobs are invisible to a
   * concurrent `retryFailed`. A body that is not a job envelope shows up with its raw text as
   * `data` and the reason as `lastError`.
   */
  async peekFailed(queue: string, limit = 100): Promise<JobInfo[]> {
    assertQueueName(queue);
    this.assertOpen('peekFailed');
    const max = this.assertLimit(limit, 'limit');
    if (!(await this.decl.exists(queue))) return [];
    return peekDeadLetters(this.conn, queue, this.decl.names(queue).dlq, max);
  }

  /**
   * Moves up to `limit` failed jobs (default: every job in the dead-letter queue when the call
   * starts) back to pending, oldest first, with attempts reset. Each is published to the jobs
   * queue and confirmed before its dead letter is acked, so a crash midway duplicates, never
   * loses. Bodies that are not job envelopes stay in the dead-letter queue. Returns how many
   * jobs moved.
   */
  async retryFailed(queue: string, limit?: number): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('retryFailed');
    const max = limit === undefined ? undefined : this.assertLimit(limit, 'limit', 1e9);
    if (!(await this.decl.exists(queue))) return 0;
    await this.decl.ensureQueue(queue);
    return retryDeadLetters(this.conn, this.publisher, queue, this.decl.names(queue).dlq, max);
  }

  /** Deletes every failed job of the queue; returns how many. */
  async purgeFailed(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('purgeFailed');
    if (!(await this.decl.exists(queue))) return 0;
    const n = this.decl.names(queue);
    return this.conn.withOp(`purging failed jobs of "${queue}"`, async (ch) => {
      await ch.assertQueue(n.dlq, DLQ_ARGS);
      return (await ch.purgeQueue(n.dlq)).messageCount;
    });
  }

  /**
   * Deletes every broker object of the queue — pending, delayed and failed jobs included — and
   * its pause flag. Close the queue's workers first: a worker still consuming declares the queue
   * again.
   */
  async deleteQueue(queue: string): Promise<void> {
    assertQueueName(queue);
    this.assertOpen('deleteQueue');
    const n = this.decl.names(queue);
    await this.conn.withOp(`deleting queue "${queue}"`, async (ch) => {
      for (const name of [n.jobs, n.dlq, n.paused, ...n.rungs()]) await ch.deleteQueue(name);
    });
    this.decl.dropQueue(queue);
  }

  // ------------------------------------------------------------------ pause

  /**
   * Pauses the queue for every worker in every process: a persistent message in the queue's pause
   * flag (`fraiseql.paused.<queue>`, max length 1) is the state; a note on the `fraiseql.control`
   * fan-out makes every worker re-read it at once (each also re-reads it every 5 s and after a
   * reconnect). Local workers have stopped consuming when this resolves; workers in other
   * processes stop as soon as the note reaches them (milliseconds). Running jobs finish.
   */
  async pause(queue: string): Promise<void> {
    assertQueueName(queue);
    this.assertOpen('pause');
    await this.decl.ensureQueue(queue);
    const n = this.decl.names(queue);
    const body = Buffer.from(
      JSON.stringify({ paused: true, at: new Date().toISOString(), pid: process.pid }),
    );
    await this.conn.publish(
      '',
      n.paused,
      body,
      { persistent: true, contentType: 'application/json' },
      `pausing "${queue}"`,
      () => this.decl.redeclareQueue(queue),
    );
    await this.control.announce(queue);
  }

  async resume(queue: string): Promise<void> {
    assertQueueName(queue);
    this.assertOpen('resume');
    await this.decl.ensureQueue(queue);
    const n = this.decl.names(queue);
    await this.conn.withOp(`resuming "${queue}"`, (ch) => ch.purgeQueue(n.paused));
    await this.control.announce(queue);
  }

  async isPaused(queue: string): Promise<boolean> {
    assertQueueName(queue);
    this.assertOpen('isPaused');
    if (!(await this.decl.exists(queue))) return false;
    return this.control.readPaused(queue);
  }

  // ------------------------------------------------------------------ workers

  /**
   * Starts a worker: its own channel, `prefetch = concurrency`, manual acks. Returns at once; the
   * consumer starts (or waits for the connection, or for a resume) in the background.
   */
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): RabbitWorker<T> {
    assertQueueName(queue);
    if (typeof handler !== 'function') throw invalidArgument('handler must be a function', 'handler');
    const concurrency = assertConcurrency(opts?.concurrency ?? this.opts.concurrency);
    this.assertOpen('process');
    const worker = new RabbitWorker<T>(
      this.host,
      queue,
      handler,
      concurrency,
      resolveQueueOptions(this.opts.common, queue),
    );
    this.workers.add(worker);
    void worker.refresh();
    return worker;
  }

  // ------------------------------------------------------------------ lifecycle

  /** True when the broker answers within `healthCheckTimeoutMs`; false while disconnected. */
  async healthCheck(): Promise<boolean> {
    if (this.closed || !this.conn.connected) return false;
    return probeWithTimeout(
      this.conn.withOp('health check', (ch) => ch.checkExchange('amq.direct')).then(() => true),
      this.opts.healthCheckTimeoutMs,
    );
  }

  /** Closes every worker (up to `shutdownTimeoutMs` for running jobs), then the connection. */
  close(): Promise<void> {
    this.closingPromise ??= (async () => {
      this.closed = true;
      await Promise.allSettled([...this.workers].map((w) => w.close()));
      await this.conn.close();
    })();
    return this.closingPromise;
  }

  // ------------------------------------------------------------------ helpers

  private assertOpen(what: string): void {
    if (this.closed) throw unavailable(`${what}: the provider is closed`);
  }

  private assertLimit(limit: unknown, field: string, max = 10_000): number {
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > max) {
      throw invalidArgument(`${field} must be an integer from 1 to ${max}`, field);
    }
    return limit as number;
  }
}
