import { randomUUID } from 'node:crypto';
import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type JobHandler,
  type JobInfo,
  type ListJobsQuery,
  type QueueCapabilities,
  type QueueProvider,
  resolveQueueOptions,
  toJson,
  type WorkerOptions,
  withTimeout,
} from '@fraiseql/core';
import type { Channel, ConsumeMessage, GetMessage, Options } from 'amqplib';
import { RabbitConnection } from './connection';
import { BadEnvelope, decodeEnvelope, type Envelope, jobInfo } from './envelope';
import { PROVIDER, rabbitError, unavailable, unsupported } from './errors';
import type { ResolvedRabbitOptions } from './options';
import {
  controlExchange,
  DLQ_ARGS,
  JOBS_ARGS,
  nextRung,
  PAUSED_ARGS,
  priorityLevel,
  type QueueNames,
  queueNames,
  RUNG_REDECLARE_MS,
  RUNGS_MS,
  rungArgs,
} from './topology';
import { RabbitWorker, type WorkerHost } from './worker';

const noop = () => {};
/**
 * Publishes of one `enqueueMany` in flight at once: a caller's batch of up to 1000 goes out whole
 * and waits for its confirms once (amqplib buffers 1024 frames per channel before it asks for a
 * drain), instead of two half-batches each waiting a confirm round trip.
 */
const PUBLISH_BATCH = 1000;
/** Messages moved per channel by `retryFailed` before their acks. */
const DLQ_BATCH = 200;

const NO_ID_LOOKUP =
  'RabbitMQ cannot find a message by id (a queue is only readable from its head); use peekFailed, retryFailed or purgeFailed for failed jobs';

/**
 * The RabbitMQ queue (`createRabbitQueue`). See the package README for the design: names, the
 * job envelope, delays, retries, the dead-letter queue, pause and reconnects.
 *
 * Capabilities: `priority` (levels -10..10 exact, see {@link priorityLevel}), `delay` (TTL rungs,
 * never early), `pause` (a durable flag + a control fan-out, across processes). Not supported,
 * each throwing IN005: `dedup` (RabbitMQ cannot look up pending messages by key), `inspect`
 * (`getJob`/`listJobs`) and `retryById` (`retryJob`/`deleteJob`): a queue cannot be read or
 * changed by message id. The dead-letter queue can be read and moved as a whole instead:
 * {@link peekFailed}, {@link retryFailed}, {@link purgeFailed}.
 */
export class RabbitQueueProvider implements QueueProvider {
  readonly name = PROVIDER;
  readonly capabilities: QueueCapabilities = Object.freeze({
    priority: true,
    delay: true,
    dedup: false,
    inspect: false,
    retryById: false,
    pause: true,
  });

  private readonly conn: RabbitConnection;
  private readonly workers = new Set<RabbitWorker<any>>();
  /** Objects declared on the current connection (name → when), so publishes do not re-declare. */
  private readonly declared = new Map<string, number>();
  private readonly declaring = new Map<string, Promise<void>>();
  /** Queues whose jobs queue is known to exist, so reads skip the existence check. */
  private readonly known = new Set<string>();
  private control: { gen: number; closed: boolean; ready: Promise<void> } | undefined;
  private closed = false;
  private closingPromise: Promise<void> | undefined;
  private readonly host: WorkerHost;

  constructor(private readonly opts: ResolvedRabbitOptions) {
    this.conn = new RabbitConnection(opts);
    this.conn.on('connected', () => {
      this.declared.clear();
      for (const w of this.workers) void w.refresh();
    });
    this.conn.on('disconnected', () => {
      this.declared.clear();
      this.control = undefined;
    });
    this.host = {
      shutdownTimeoutMs: opts.shutdownTimeoutMs,
      operationTimeoutMs: opts.operationTimeoutMs,
      currentLink: () => this.conn.current(),
      jobsQueueName: (queue) => this.names(queue).jobs,
      ensureQueue: (queue) => this.ensureQueue(queue),
      ensureControl: () => this.ensureControl(),
      readPaused: (queue) => this.readPaused(queue),
      send: (env, what) => this.send(env, what),
      sendToDlq: (env, what) => this.sendToDlq(env, what),
      quarantine: (queue, msg, reason) => this.quarantine(queue, msg, reason),
      forgetQueue: (queue) => this.forgetQueue(queue),
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
    await this.send(job!.env, `enqueueing a job on "${queue}"`, job!.dataJson);
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
      throw this.badOptions('enqueueMany takes an array of { data, opts } items', 'items');
    }
    const jobs = this.prepare(queue, items, 'enqueueMany');
    if (jobs.length === 0) return [];
    await this.ensureQueue(queue);
    for (let i = 0; i < jobs.length; i += PUBLISH_BATCH) {
      await Promise.all(
        jobs
          .slice(i, i + PUBLISH_BATCH)
          .map((j) => this.send(j.env, `enqueueing jobs on "${queue}"`, j.dataJson)),
      );
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
    const queueOpts = resolveQueueOptions(this.opts.common, queue);
    const now = Date.now();
    return items.map((item, i) => {
      if (item === null || typeof item !== 'object') {
        throw this.badOptions(`item ${i} must be an object { data, opts? }`, 'items');
      }
      const opts = item.opts;
      assertEnqueueOptions(opts);
      if (opts?.dedupKey !== undefined) {
        throw unsupported(
          'dedupKey',
          'RabbitMQ cannot look up pending or running messages by key (capabilities.dedup is false)',
        );
      }
      const dataJson = toJson(item.data, ErrorCode.InvalidJobData, 'Job data', this.opts.maxJobBytes);
      const delayMs = opts?.delayMs ?? 0;
      const env: Envelope = {
        v: 1,
        id: randomUUID(),
        queue,
        data: undefined,
        attempts: 0,
        failures: 0,
        lost: 0,
        maxRetries: opts?.maxRetries ?? queueOpts.maxRetries,
        priority: opts?.priority ?? 0,
        createdAt: now,
        runAt: now + delayMs,
      };
      if (opts?.timeoutMs !== undefined) env.timeoutMs = opts.timeoutMs;
      if (delayMs > 0) env.delayMs = delayMs;
      return { env, dataJson };
    });
  }

  // ------------------------------------------------------------------ counts

  /** Jobs ready in the jobs queue plus jobs parked in its delay rungs. Running jobs are not counted. */
  async queueLength(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('queueLength');
    if (!(await this.exists(queue))) return 0;
    const n = this.names(queue);
    return this.conn.withOp(`counting jobs of "${queue}"`, async (ch) => {
      // Rungs come and go (x-expires), so each is declared to be counted; a rung created here is
      // empty and expires again on its own.
      const replies = await Promise.all([
        ch.assertQueue(n.jobs, JOBS_ARGS),
        ...RUNGS_MS.map((ms) => ch.assertQueue(n.delay(ms), rungArgs(n.jobs, ms))),
      ]);
      return replies.reduce((sum, r) => sum + r.messageCount, 0);
    });
  }

  /** Jobs in the dead-letter queue. */
  async failedCount(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('failedCount');
    if (!(await this.exists(queue))) return 0;
    const n = this.names(queue);
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
    if (!(await this.exists(queue))) return [];
    const n = this.names(queue);
    return this.conn.withTempChannel(`reading failed jobs of "${queue}"`, async (ch) => {
      const out: JobInfo[] = [];
      while (out.length < max) {
        const msg = await ch.get(n.dlq, { noAck: false });
        if (msg === false) break;
        out.push(this.describeFailed(queue, msg));
      }
      return out;
    });
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
    let left = limit === undefined ? Number.POSITIVE_INFINITY : this.assertLimit(limit, 'limit', 1e9);
    if (!(await this.exists(queue))) return 0;
    await this.ensureQueue(queue);
    const n = this.names(queue);
    let moved = 0;
    for (;;) {
      const batch = await this.conn.withTempChannel(`retrying failed jobs of "${queue}"`, async (ch) => {
        const taken: { msg: GetMessage; env: Envelope }[] = [];
        let bad = 0;
        // Unreadable dead letters are held unacked (so the loop sees each once) and requeued
        // when this channel closes.
        while (taken.length < Math.min(DLQ_BATCH, left)) {
          const msg = await ch.get(n.dlq, { noAck: false });
          if (msg === false) break;
          // Never retry more than was there when the call started: jobs failing meanwhile wait.
          if (left === Number.POSITIVE_INFINITY) left = msg.fields.messageCount + 1 + taken.length + bad;
          try {
            taken.push({ msg, env: decodeEnvelope(msg.content) });
          } catch {
            bad++;
          }
        }
        const now = Date.now();
        await Promise.all(
          taken.map(({ env }) => {
            const fresh: Envelope = { ...env, attempts: 0, failures: 0, lost: 0, runAt: now };
            delete fresh.failedAt;
            delete fresh.delayMs;
            return this.send(fresh, `retrying failed job ${env.id}`);
          }),
        );
        for (const { msg } of taken) ch.ack(msg);
        return { moved: taken.length, bad, empty: taken.length + bad === 0 };
      });
      moved += batch.moved;
      left -= batch.moved + batch.bad;
      if (batch.empty || left <= 0 || batch.moved === 0) break;
    }
    return moved;
  }

  /** Deletes every failed job of the queue; returns how many. */
  async purgeFailed(queue: string): Promise<number> {
    assertQueueName(queue);
    this.assertOpen('purgeFailed');
    if (!(await this.exists(queue))) return 0;
    const n = this.names(queue);
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
    const n = this.names(queue);
    await this.conn.withOp(`deleting queue "${queue}"`, async (ch) => {
      for (const name of [n.jobs, n.dlq, n.paused, ...n.rungs()]) await ch.deleteQueue(name);
    });
    this.forgetQueue(queue);
    this.known.delete(queue);
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
    await this.ensureQueue(queue);
    const n = this.names(queue);
    const body = Buffer.from(
      JSON.stringify({ paused: true, at: new Date().toISOString(), pid: process.pid }),
    );
    await this.conn.publish(
      '',
      n.paused,
      body,
      { persistent: true, contentType: 'application/json' },
      `pausing "${queue}"`,
      () => this.redeclareQueue(queue),
    );
    await this.announce(queue);
  }

  async resume(queue: string): Promise<void> {
    assertQueueName(queue);
    this.assertOpen('resume');
    await this.ensureQueue(queue);
    const n = this.names(queue);
    await this.conn.withOp(`resuming "${queue}"`, (ch) => ch.purgeQueue(n.paused));
    await this.announce(queue);
  }

  async isPaused(queue: string): Promise<boolean> {
    assertQueueName(queue);
    this.assertOpen('isPaused');
    if (!(await this.exists(queue))) return false;
    return this.readPaused(queue);
  }

  private async readPaused(queue: string): Promise<boolean> {
    const n = this.names(queue);
    const reply = await this.conn.withOp(`reading the pause flag of "${queue}"`, (ch) =>
      ch.assertQueue(n.paused, PAUSED_ARGS),
    );
    return reply.messageCount > 0;
  }

  /** Tells every worker of `queue`, here and elsewhere, to re-read the pause flag. */
  private async announce(queue: string): Promise<void> {
    const exchange = controlExchange(this.opts.prefix);
    await this.declareOnce(`exchange:${exchange}`, (ch) =>
      ch.assertExchange(exchange, 'fanout', { durable: true }).then(noop),
    );
    // Not mandatory: with no worker anywhere, nobody is bound and that is fine.
    await this.conn.publish(
      exchange,
      '',
      Buffer.from(JSON.stringify({ queue })),
      { contentType: 'application/json' },
      `announcing the pause state of "${queue}"`,
      undefined,
      false,
    );
    await Promise.all([...this.workers].filter((w) => w.queue === queue).map((w) => w.refresh()));
  }

  /**
   * Subscribes this connection to the control fan-out (an exclusive, auto-deleted queue), once
   * per connection; workers call it before they read the pause flag, so no note is missed.
   */
  private async ensureControl(): Promise<void> {
    const link = this.conn.current();
    if (!link) throw unavailable('not connected');
    if (this.control && this.control.gen === link.gen && !this.control.closed) return this.control.ready;
    const exchange = controlExchange(this.opts.prefix);
    const state = { gen: link.gen, closed: false, ready: Promise.resolve() };
    state.ready = (async () => {
      const ch = await link.model.createChannel();
      ch.on('error', noop);
      ch.on('close', () => {
        state.closed = true;
        if (this.control !== state) return;
        this.control = undefined;
        // Only the channel died (the connection lives on): subscribe again and re-read.
        if (!this.closed && this.conn.current() === link) for (const w of this.workers) void w.refresh();
      });
      try {
        await ch.assertExchange(exchange, 'fanout', { durable: true });
        const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        await ch.bindQueue(queue, exchange, '');
        await ch.consume(queue, (msg) => this.onControl(msg), { noAck: true });
      } catch (err) {
        await ch.close().catch(noop);
        throw err;
      }
    })();
    this.control = state;
    try {
      await state.ready;
    } catch (err) {
      if (this.control === state) this.control = undefined;
      throw rabbitError(err, 'subscribing to the control exchange', this.opts.password);
    }
  }

  private onControl(msg: ConsumeMessage | null): void {
    if (!msg) return;
    let queue: unknown;
    try {
      queue = JSON.parse(msg.content.toString('utf8')).queue;
    } catch {
      return;
    }
    for (const w of this.workers) if (w.queue === queue) void w.refresh();
  }

  // ------------------------------------------------------------------ workers

  /**
   * Starts a worker: its own channel, `prefetch = concurrency`, manual acks. Returns at once; the
   * consumer starts (or waits for the connection, or for a resume) in the background.
   */
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): RabbitWorker<T> {
    assertQueueName(queue);
    if (typeof handler !== 'function') throw this.badOptions('handler must be a function', 'handler');
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
    try {
      await withTimeout(
        this.conn.withOp('health check', (ch) => ch.checkExchange('amq.direct')),
        this.opts.healthCheckTimeoutMs,
        () => new Error('health check timed out'),
      );
      return true;
    } catch {
      return false;
    }
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

  // ------------------------------------------------------------------ publishing

  private names(queue: string): QueueNames {
    return queueNames(this.opts.prefix, queue);
  }

  private props(env: Envelope): Options.Publish {
    return {
      persistent: true,
      messageId: env.id,
      priority: priorityLevel(env.priority),
      contentType: 'application/json',
      timestamp: Math.floor(env.createdAt / 1000),
      type: 'fraiseql.job',
    };
  }

  /**
   * Publishes a job where it belongs now: the jobs queue when due (or due within
   * `LOCAL_WAIT_MS`), otherwise the delay rung {@link nextRung} picks. Confirmed.
   */
  private async send(env: Envelope, what: string, dataJson?: string): Promise<void> {
    const n = this.names(env.queue);
    await this.ensureQueue(env.queue);
    const remaining = env.runAt - Date.now();
    const rung = nextRung(remaining, env.delayMs ?? remaining);
    let target = n.jobs;
    if (rung > 0) {
      target = n.delay(rung);
      await this.ensureRung(env.queue, rung);
    }
    await this.conn.publish('', target, encode(env, dataJson), this.props(env), what, () =>
      this.redeclareQueue(env.queue, rung),
    );
  }

  private async sendToDlq(env: Envelope, what: string): Promise<void> {
    await this.ensureQueue(env.queue);
    await this.conn.publish('', this.names(env.queue).dlq, encode(env), this.props(env), what, () =>
      this.redeclareQueue(env.queue),
    );
  }

  /** Keeps an unreadable delivery (its body as it was) in the dead-letter queue. */
  private async quarantine(queue: string, msg: ConsumeMessage, reason: string): Promise<void> {
    await this.ensureQueue(queue);
    const props: Options.Publish = {
      persistent: true,
      contentType: msg.properties.contentType,
      headers: { ...(msg.properties.headers ?? {}), 'x-fraiseql-error': reason },
    };
    if (typeof msg.properties.messageId === 'string') props.messageId = msg.properties.messageId;
    await this.conn.publish(
      '',
      this.names(queue).dlq,
      msg.content,
      props,
      `quarantining a message of "${queue}"`,
    );
  }

  // ------------------------------------------------------------------ declarations

  /** Declares the jobs queue, dead-letter queue and pause flag of `queue`, once per connection. */
  private ensureQueue(queue: string): Promise<void> {
    const n = this.names(queue);
    return this.declareOnce(`queue:${queue}`, async (ch) => {
      await ch.assertQueue(n.jobs, JOBS_ARGS);
      await ch.assertQueue(n.dlq, DLQ_ARGS);
      await ch.assertQueue(n.paused, PAUSED_ARGS);
      this.known.add(queue);
    });
  }

  /** Declares a delay rung, again whenever our last declare is older than RUNG_REDECLARE_MS (x-expires). */
  private ensureRung(queue: string, rungMs: number): Promise<void> {
    const n = this.names(queue);
    const name = n.delay(rungMs);
    return this.declareOnce(
      `rung:${name}`,
      (ch) => ch.assertQueue(name, rungArgs(n.jobs, rungMs)).then(noop),
      RUNG_REDECLARE_MS,
    );
  }

  private async redeclareQueue(queue: string, rungMs = 0): Promise<void> {
    this.forgetQueue(queue);
    await this.ensureQueue(queue);
    if (rungMs > 0) await this.ensureRung(queue, rungMs);
  }

  private forgetQueue(queue: string): void {
    const n = this.names(queue);
    this.declared.delete(`queue:${queue}`);
    for (const name of n.rungs()) this.declared.delete(`rung:${name}`);
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
  private async exists(queue: string): Promise<boolean> {
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

  // ------------------------------------------------------------------ helpers

  private describeFailed(queue: string, msg: GetMessage): JobInfo {
    try {
      const env = decodeEnvelope(msg.content);
      return jobInfo(env, 'failed', env.attempts);
    } catch (err) {
      const reason = err instanceof BadEnvelope ? err.message : String(err);
      const header = msg.properties.headers?.['x-fraiseql-error'];
      const stamp =
        typeof msg.properties.timestamp === 'number'
          ? new Date(msg.properties.timestamp * 1000)
          : new Date(0);
      return {
        id: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '',
        queue,
        data: msg.content.toString('utf8'),
        attempts: 0,
        maxRetries: 0,
        createdAt: stamp,
        state: 'failed',
        priority: 0,
        runAt: stamp,
        lastError: typeof header === 'string' ? header : reason,
      };
    }
  }

  private assertOpen(what: string): void {
    if (this.closed) throw unavailable(`${what}: the provider is closed`);
  }

  private assertLimit(limit: unknown, field: string, max = 10_000): number {
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > max) {
      throw this.badOptions(`${field} must be an integer from 1 to ${max}`, field);
    }
    return limit as number;
  }

  private badOptions(message: string, field: string) {
    return rabbitInvalid(message, field);
  }
}

function rabbitInvalid(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, message, field);
}

/** The message body; `dataJson` (already validated and sized by `toJson`) is spliced in as is. */
function encode(env: Envelope, dataJson?: string): Buffer {
  if (dataJson === undefined) return Buffer.from(JSON.stringify(env), 'utf8');
  const { data: _data, ...rest } = env;
  const head = JSON.stringify(rest);
  return Buffer.from(`${head.slice(0, -1)},"data":${dataJson}}`, 'utf8');
}
