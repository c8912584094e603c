import { EventEmitter } from 'node:events';
import {
  ErrorCode,
  IntegrationError,
  type Job,
  type JobHandler,
  type JobResult,
  type ResolvedQueueOptions,
  retryBackoffMs,
  sleep,
  type Worker,
  type WorkerEvent,
  withTimeout,
} from '@fraiseql/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import { BadEnvelope, type Envelope, jobInfo } from './envelope';
import { rabbitError } from './errors';
import { readJob } from './message';
import { LOCAL_WAIT_MS } from './topology';
import {
  AckBatcher,
  ackDelivery,
  type Running,
  recordDelivery,
  type WorkerChannel,
  type WorkerHost,
} from './worker-host';
import { asError, classify, type Outcome } from './worker-outcome';

/** How often a worker re-reads its queue's pause flag, in case a control message was missed. */
const PAUSE_POLL_MS = 5_000;
const RETRY_RECONCILE_MS = 1_000;
const noop = () => {};

/**
 * A consumer of one queue on a channel of its own with `prefetch = concurrency`: RabbitMQ never
 * hands it more unacked jobs than it may run, so every delivery starts at once.
 *
 * Events: `completed(job: JobInfo)`, `retrying(job: JobInfo, error)`, `failed(job: JobInfo, error)`
 * (once, when the job is finally failed), `stalled(jobId)` (a delivery arrived redelivered: a
 * consumer took the job and was lost before it acked), `error(IntegrationError)` (only emitted when someone
 * listens), plus `ready` when it starts or resumes consuming and `paused` when it stops for a pause.
 *
 * The outcome of a run is recorded by publishing the next state of the job (a retry into a delay
 * rung, a failure into the dead-letter queue), waiting for the confirm, and only then acking the
 * delivery — so a crash in between leaves a duplicate, never a lost job.
 */
export class RabbitWorker<T> extends EventEmitter implements Worker {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private wch: WorkerChannel | undefined;
  private readonly running = new Set<Running>();
  private reconciling: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private paused = false;
  private announced: 'ready' | 'paused' | undefined;
  /** Deliveries being handled, hand-backs included, so `close()` can wait for their acks. */
  private readonly handling = new Set<Promise<void>>();

  constructor(
    private readonly host: WorkerHost,
    readonly queue: string,
    private readonly handler: JobHandler<T>,
    readonly concurrency: number,
    private readonly queueOpts: ResolvedQueueOptions,
  ) {
    super();
    this.pollTimer = setInterval(() => void this.refresh(), PAUSE_POLL_MS);
    this.pollTimer.unref();
  }

  override on(event: WorkerEvent | 'ready' | 'paused', fn: (...args: any[]) => void): this {
    return super.on(event, fn);
  }

  /** Jobs this worker is running right now. */
  get activeCount(): number {
    return this.running.size;
  }

  /** True while a pause of its queue keeps it from consuming. */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Brings the consumer in line with the world: a channel on the live connection, the queue
   * declared, consuming unless the queue is paused. Runs one pass at a time; a call during a
   * pass schedules one more.
   */
  refresh(): Promise<void> {
    if (this.state !== 'open') return Promise.resolve();
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      try {
        do {
          this.again = false;
          await this.reconcileOnce();
        } while (this.again && this.state === 'open');
      } catch (err) {
        if (this.state === 'open') {
          this.emitError(rabbitError(err, `worker of queue "${this.queue}"`));
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.refresh(), RETRY_RECONCILE_MS);
          this.retryTimer.unref();
        }
      } finally {
        this.reconciling = undefined;
      }
    })();
    return this.reconciling;
  }

  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.timeoutMs ?? this.host.shutdownTimeoutMs);
    return this.closing;
  }

  // ------------------------------------------------------------------ consumer lifecycle

  private async reconcileOnce(): Promise<void> {
    const link = this.host.currentLink();
    if (!link || this.state !== 'open') return;
    let wch = this.wch;
    if (!wch || wch.closed || wch.gen !== link.gen) {
      // Jobs of a lost channel go back to the queue; let their (aborted) handlers end before
      // consuming again, or a redelivered job could run here twice at once.
      await this.settleHandlers(this.queueOpts.timeoutMs);
      if (this.state !== 'open') return;
      wch = await this.openChannel(link);
    }
    await this.host.ensureQueue(this.queue);
    await this.host.ensureControl();
    const paused = await this.host.readPaused(this.queue);
    if (this.state !== 'open' || wch !== this.wch || wch.closed) {
      this.again = this.state === 'open';
      return;
    }
    if (paused && wch.consumerTag) {
      const tag = wch.consumerTag;
      wch.consumerTag = undefined;
      await wch.ch.cancel(tag);
    } else if (!paused && !wch.consumerTag) {
      const current = wch;
      const { consumerTag } = await wch.ch.consume(this.host.jobsQueueName(this.queue), (msg) =>
        this.onMessage(current, msg),
      );
      current.consumerTag = consumerTag;
    }
    this.paused = paused;
    const status = paused ? 'paused' : 'ready';
    if (status !== this.announced) {
      this.announced = status;
      this.safeEmit(status);
    }
  }

  private async openChannel(link: { gen: number; model: { createChannel(): Promise<Channel> } }) {
    const ch = await link.model.createChannel();
    const wch: WorkerChannel = { ch, gen: link.gen, closed: false, acks: new AckBatcher(ch) };
    ch.on('error', (err: Error) => {
      if (this.state === 'open') this.emitError(rabbitError(err, `channel of the worker of "${this.queue}"`));
    });
    ch.on('close', () => {
      wch.closed = true;
      wch.consumerTag = undefined;
      wch.acks.drop();
      this.channelLost(wch);
    });
    await ch.prefetch(this.concurrency);
    if (this.state !== 'open') {
      await ch.close().catch(noop);
      return wch;
    }
    this.wch = wch;
    return wch;
  }

  /** The channel is gone: its deliveries are back in the queue, so their runs must stop. */
  private channelLost(wch: WorkerChannel): void {
    for (const r of this.running) {
      if (r.wch === wch && !r.controller.signal.aborted) {
        r.controller.abort(
          new IntegrationError(
            ErrorCode.ProviderUnavailable,
            `[rabbitmq] the connection running job ${r.env.id} was lost; the job goes back to the queue`,
            { provider: 'rabbitmq' },
          ),
        );
      }
    }
    if (this.state === 'open' && this.wch === wch) {
      // Let the reconnect (or this retry, if only the channel died) bring the consumer back.
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.refresh(), 50);
      this.retryTimer.unref();
    }
  }

  private async settleHandlers(limitMs: number): Promise<void> {
    if (this.running.size === 0) return;
    await Promise.race([Promise.allSettled([...this.running].map((r) => r.handlerDone)), sleep(limitMs)]);
  }

  // ------------------------------------------------------------------ deliveries

  private onMessage(wch: WorkerChannel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer: the queue was deleted. Declare it again and go on.
      wch.consumerTag = undefined;
      this.host.forgetQueue(this.queue);
      if (this.state === 'open') void this.refresh();
      return;
    }
    wch.acks.delivered(msg);
    const handling: Promise<void> = this.handle(wch, msg)
      .catch((err) => this.emitError(rabbitError(err, `handling a job of "${this.queue}"`)))
      .finally(() => this.handling.delete(handling));
    this.handling.add(handling);
  }

  private async handle(wch: WorkerChannel, msg: ConsumeMessage): Promise<void> {
    let env: Envelope;
    try {
      env = readJob(msg, this.queue);
    } catch (err) {
      const reason = err instanceof BadEnvelope ? err.message : String(err);
      await this.record(wch, msg, () => this.host.quarantine(this.queue, msg, reason));
      return;
    }
    // Redelivered: a consumer (here or elsewhere) took it and died, or lost its connection,
    // without acking. Reported once per redelivery: whatever happens next, the job is published
    // afresh (not marked redelivered) or requeued by a failure that makes a redelivery of its own.
    if (msg.fields.redelivered) this.safeEmit('stalled', env.id);
    if (this.state !== 'open') {
      // Delivered while closing: not taken. Hand it back as it was.
      await this.record(wch, msg, () => this.host.send(env, `handing back job ${env.id}`));
      return;
    }
    const remaining = env.runAt - Date.now();
    if (remaining > LOCAL_WAIT_MS) {
      // Back early from a delay rung: park it again for the rest of its wait.
      await this.record(wch, msg, () => this.host.send(env, `parking delayed job ${env.id}`));
      return;
    }
    if (msg.fields.redelivered) {
      await this.recordLostRun(wch, msg, env);
      return;
    }
    if (remaining > 0) {
      // Timers may fire a millisecond before Date.now() reaches runAt: wait until it has, so a
      // delayed job is never early by the clock its caller reads.
      for (let left = remaining; left > 0; left = env.runAt - Date.now()) await sleep(left);
      if (this.state !== 'open') {
        await this.record(wch, msg, () => this.host.send(env, `handing back job ${env.id}`));
        return;
      }
    }
    await this.run(wch, msg, env);
  }

  /**
   * A redelivery: the job was delivered before and never acked — its worker died, or lost its
   * connection, mid-run. The lost run is written into the job (`attempts`, `lost`) before it runs
   * again, so a job that kills its worker every time ends in the dead-letter queue once it has
   * been lost more than `maxRetries + 1` times instead of looping forever.
   */
  private async recordLostRun(wch: WorkerChannel, msg: ConsumeMessage, env: Envelope): Promise<void> {
    const now = Date.now();
    const next: Envelope = {
      ...env,
      attempts: env.attempts + 1,
      lost: env.lost + 1,
      lastError: 'the worker running the job was lost before it finished (redelivered by RabbitMQ)',
      runAt: now,
    };
    delete next.delayMs;
    if (next.lost > env.maxRetries + 1) {
      next.failedAt = now;
      const error = new IntegrationError(
        ErrorCode.MaxRetriesExceeded,
        `[rabbitmq] job ${env.id} was lost with its worker ${next.lost} times`,
        { provider: 'rabbitmq' },
      );
      next.lastError = error.message;
      if (await this.record(wch, msg, () => this.host.sendToDlq(next, `failing job ${env.id}`))) {
        this.safeEmit('failed', jobInfo(next, 'failed', next.attempts), error);
      }
      return;
    }
    await this.record(wch, msg, () => this.host.send(next, `requeueing lost job ${env.id}`));
  }

  private run(wch: WorkerChannel, msg: ConsumeMessage, env: Envelope): Promise<void> {
    const controller = new AbortController();
    const attempts = env.attempts + 1;
    const job: Job<T> = {
      id: env.id,
      queue: env.queue,
      data: env.data as T,
      attempts,
      maxRetries: env.maxRetries,
      createdAt: new Date(env.createdAt),
      signal: controller.signal,
    };
    const timeoutMs = env.timeoutMs ?? this.queueOpts.timeoutMs;
    const r = { env, msg, wch, controller, released: false, finishing: false } as Running;
    // The attempt ends with the handler's outcome or at the time limit, whichever comes first: a
    // handler that ignores its signal past the limit still ends the attempt on time.
    let settle!: (outcome: Outcome) => void;
    const ended = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(() => {
      const error = new IntegrationError(
        ErrorCode.JobTimeout,
        `Job ${env.id} of queue "${env.queue}" timed out after ${timeoutMs} ms`,
        { provider: 'rabbitmq', resourceType: 'job' },
      );
      controller.abort(error);
      settle({ kind: 'retry', error });
    }, timeoutMs);
    let result: Promise<JobResult | void>;
    try {
      result = Promise.resolve(this.handler(job));
    } catch (err) {
      result = Promise.reject(err);
    }
    r.handlerDone = result.then(
      (value) => {
        let outcome: Outcome;
        try {
          outcome = classify(value);
        } catch (err) {
          outcome = { kind: 'retry', error: asError(err) };
        }
        settle(outcome);
      },
      (err) => settle({ kind: 'retry', error: asError(err) }),
    );
    r.done = ended
      .then((outcome) => {
        clearTimeout(timer);
        if (r.released || wch.closed) return;
        r.finishing = true;
        return this.finish(r, outcome);
      })
      .then(
        () => {
          this.running.delete(r);
        },
        (err) => {
          this.running.delete(r);
          this.emitError(rabbitError(err, `recording job ${env.id}`));
        },
      );
    this.running.add(r);
    return r.done;
  }

  private finish(r: Running, outcome: Outcome): Promise<void> | undefined {
    if (outcome.kind !== 'complete') return this.finishUnsuccessful(r, outcome);
    // Nothing to publish: the ack alone records it.
    const { env, wch, msg } = r;
    if (ackDelivery(wch, msg) && this.listenerCount('completed') > 0) {
      const info = jobInfo(env, 'completed', env.attempts + 1, { completedAt: new Date() });
      this.safeEmit('completed', info);
    }
    return undefined;
  }

  private async finishUnsuccessful(
    r: Running,
    outcome: Exclude<Outcome, { kind: 'complete' }>,
  ): Promise<void> {
    const { env, wch, msg } = r;
    const now = Date.now();
    const attempts = env.attempts + 1;
    const failures = env.failures + 1;
    const lastError = outcome.error.message;
    if (outcome.kind === 'retry' && failures <= env.maxRetries) {
      const delayMs = outcome.delayMs ?? retryBackoffMs(failures, this.queueOpts.retryDelayMs);
      const next: Envelope = { ...env, attempts, failures, lastError, runAt: now + delayMs, delayMs };
      if (await this.record(wch, msg, () => this.host.send(next, `retrying job ${env.id}`))) {
        this.safeEmit('retrying', jobInfo(next, 'pending', attempts), outcome.error);
      }
      return;
    }
    const next: Envelope = { ...env, attempts, failures, lastError, runAt: env.runAt, failedAt: now };
    delete next.delayMs;
    if (await this.record(wch, msg, () => this.host.sendToDlq(next, `failing job ${env.id}`))) {
      this.safeEmit('failed', jobInfo(next, 'failed', attempts), outcome.error);
    }
  }

  /** {@link recordDelivery}, with failures reported as `error` events. */
  private record(wch: WorkerChannel, msg: ConsumeMessage, publish?: () => Promise<void>): Promise<boolean> {
    return recordDelivery(wch, msg, publish, (err) =>
      this.emitError(rabbitError(err, `recording a job of "${this.queue}"`)),
    );
  }

  // ------------------------------------------------------------------ shutdown

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    const opLimit = this.host.operationTimeoutMs;
    if (this.reconciling) await Promise.race([this.reconciling.catch(noop), sleep(opLimit)]);
    const wch = this.wch;
    if (wch && !wch.closed && wch.consumerTag) {
      const tag = wch.consumerTag;
      wch.consumerTag = undefined;
      await withTimeout(wch.ch.cancel(tag), opLimit, () => new Error('cancel timed out')).catch(noop);
    }
    const limit = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : this.host.shutdownTimeoutMs;
    if (this.running.size > 0) {
      await Promise.race([Promise.allSettled([...this.running].map((r) => r.done)), sleep(limit)]);
    }
    // Past the grace period: abort what still runs and hand it back as pending.
    const handBacks: Promise<unknown>[] = [];
    for (const r of this.running) {
      if (r.finishing) {
        handBacks.push(r.done);
        continue;
      }
      r.released = true;
      r.controller.abort(
        new IntegrationError(
          ErrorCode.JobProcessingFailed,
          `[rabbitmq] worker of "${this.queue}" closed before job ${r.env.id} finished; it goes back to pending`,
          { provider: 'rabbitmq' },
        ),
      );
      const next: Envelope = { ...r.env, attempts: r.env.attempts + 1, runAt: Date.now() };
      delete next.delayMs;
      handBacks.push(this.record(r.wch, r.msg, () => this.host.send(next, `handing back job ${r.env.id}`)));
    }
    await Promise.race([Promise.allSettled([...handBacks, ...this.handling]), sleep(opLimit)]);
    // Closing the channel requeues whatever is still unacked: the acks waiting for the end of
    // this turn go out first.
    if (wch && !wch.closed) {
      try {
        wch.acks.flush();
      } catch {
        // Closed meanwhile: the broker requeues them (duplicates, never losses).
      }
    }
    if (wch && !wch.closed)
      await withTimeout(wch.ch.close(), opLimit, () => new Error('close timed out')).catch(noop);
    this.wch = undefined;
    this.state = 'closed';
    this.host.unregister(this);
  }

  // ------------------------------------------------------------------ events

  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch {
      // A throwing listener must not break the bookkeeping of the job.
    }
  }

  private emitError(err: IntegrationError): void {
    if (this.listenerCount('error') > 0) this.safeEmit('error', err);
  }
}
