import type { Job, JobHandler, JobInfo, ResolvedQueueOptions, Worker, WorkerEvent } from '@fraiseql/core';
import {
  describeError,
  ErrorCode,
  IntegrationError,
  interpretJobResult,
  retryBackoffMs,
} from '@fraiseql/core';
import {
  type Job as BullJob,
  Worker as BullWorker,
  type WorkerOptions as BullWorkerOptions,
  UnrecoverableError,
  WaitingError,
} from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { closeConnection } from './connection';
import { maxRetriesOf, ourOptions, PROVIDER, redisError, toJobInfo } from './mapping';

/** setTimeout's ceiling; a longer timeoutMs would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Thrown into BullMQ for `{status:'retry'}`: a failed attempt whose backoff may be overridden. */
class RetryRequested extends Error {
  override readonly name = 'RetryRequested';
  constructor(
    reason: string,
    readonly delayMs: number | undefined,
  ) {
    super(reason);
  }
}

/** Thrown into BullMQ when a run outlives its `timeoutMs`: a failed attempt like any other. */
class JobTimedOut extends Error {
  override readonly name = 'JobTimedOut';
}

/** One run of the handler; the first of handler, time limit and close to end it wins. */
interface Run {
  /** `performance.now()` past which the run has timed out. */
  deadline: number;
  done: boolean;
  /** Ends the run from outside: its time limit passed, or the worker closed without it. */
  interrupt: (why: 'timeout' | 'abandoned') => void;
}

/**
 * What BullMQ gets for a handler's return value: nothing → completed with `null`; the contract's
 * results (`{status:'retry'|'failed'}`) and unknown statuses → thrown as a failed attempt.
 */
function completion(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const result = interpretJobResult(value);
  if (result.kind === 'retry') throw new RetryRequested(result.reason, result.delayMs);
  if (result.kind === 'failed') throw new UnrecoverableError(result.reason);
  // An unknown status is a failed attempt, exactly like a throw.
  if (result.kind === 'error') throw result.error;
  // Stored as BullMQ's return value (dashboards show it) and passed to 'completed' listeners.
  return value;
}

export interface RedisWorkerSettings {
  /** Our queue name (events and jobs carry it). */
  queue: string;
  /** The BullMQ queue name (`:` stored as `~`). */
  bullName: string;
  prefix: string;
  /** Settings of this queue (timeout, backoff base and rate limit when a job carries none). */
  settings: ResolvedQueueOptions;
  concurrency: number;
  visibilityTimeoutMs: number;
  maxStalledCount: number;
  closeTimeoutMs: number;
  /** This worker's own connection (maxRetriesPerRequest: null); closed with the worker. */
  connection: Redis | Cluster;
  /** Called once the worker is fully closed. */
  onClosed: () => void;
}

/**
 * Our Worker over a BullMQ Worker. BullMQ does the fetching, locking (lease = lockDuration,
 * renewed every half lease), stalled-job recovery, retries and backoff; this class runs the
 * handler with a time limit and an AbortSignal, turns handler results into what BullMQ
 * understands (`{status:'failed'}` → UnrecoverableError, `{status:'retry'}` → a failed attempt
 * with an optional delay), and implements the contract's close: stop taking jobs, wait up to
 * `timeoutMs`, then hand every unfinished job back to pending at once (instead of letting its
 * lock expire) and abort its signal.
 *
 * Events: `completed(job: JobInfo, result)`, `retrying(job: JobInfo, error: IntegrationError,
 * delayMs)`, `failed(job: JobInfo, error: IntegrationError)` once when the job is finally failed,
 * and `error(error: IntegrationError)` for connection trouble and throwing listeners.
 */
export class RedisWorker implements Worker {
  readonly queue: string;
  private readonly bull: BullWorker;
  private readonly running = new Set<Run>();
  /**
   * One timer for the time limits of every running job, armed for the earliest deadline it has
   * seen (instead of a timer per job); when it fires it times out the runs past their deadline
   * and re-arms for the earliest remaining one.
   */
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private readonly listeners = new Map<WorkerEvent, ((...args: any[]) => void)[]>();
  /** Retry delay chosen by the backoff strategy, per job id, until the 'failed' event reads it. */
  private readonly retryDelays = new Map<string, number>();
  private closing?: Promise<void>;

  constructor(
    handler: JobHandler<any>,
    private readonly s: RedisWorkerSettings,
  ) {
    this.queue = s.queue;
    const { settings } = s;
    const lease = s.visibilityTimeoutMs;
    const options: BullWorkerOptions = {
      connection: s.connection as any,
      prefix: s.prefix,
      concurrency: s.concurrency,
      autorun: true,
      lockDuration: lease,
      // The stalled check runs every half lease, so a dead worker's job is pending again between
      // one lease and two leases after its last lock renewal.
      stalledInterval: Math.max(100, Math.round(lease / 2)),
      maxStalledCount: s.maxStalledCount,
      // BullMQ waits 15 s before fetching again after a connection error; a Redis restart should
      // cost seconds, not that.
      runRetryDelay: 1000,
      settings: {
        backoffStrategy: (attemptsMade, _type, err, job) => {
          const override = err instanceof RetryRequested ? err.delayMs : undefined;
          const base = Number((job?.opts.backoff as { delay?: number } | undefined)?.delay);
          const delay =
            override ?? retryBackoffMs(attemptsMade, Number.isFinite(base) ? base : settings.retryDelayMs);
          if (job?.id) this.retryDelays.set(job.id, delay);
          return delay;
        },
      },
      ...(settings.rateLimit
        ? { limiter: { max: settings.rateLimit.max, duration: settings.rateLimit.perSeconds * 1000 } }
        : {}),
    };
    this.bull = new BullWorker(s.bullName, (job, token) => this.execute(handler, job, token), options);
    this.bull.on('completed', (job, result) => {
      // Built only for a listener: this runs once per job.
      if (this.listeners.get('completed')?.length) {
        this.emit('completed', toJobInfo(this.queue, job, 'completed'), result ?? undefined);
      }
    });
    this.bull.on('failed', (job, err) => {
      if (job) this.onFailed(job, err);
    });
    this.bull.on('error', (err) => {
      this.emit('error', redisError(err, `worker of queue "${this.queue}"`));
    });
    // BullMQ moved a job whose lock expired (its worker died or hung) back to wait.
    this.bull.on('stalled', (jobId) => this.emit('stalled', String(jobId)));
  }

  /** Resolves once the worker's connections are up and it can take jobs (handy in tests and probes). */
  async ready(): Promise<void> {
    try {
      await this.bull.waitUntilReady();
    } catch (err) {
      throw redisError(err, `starting the worker of queue "${this.queue}"`);
    }
  }

  on(event: WorkerEvent, fn: (...args: any[]) => void): this {
    const list = this.listeners.get(event) ?? [];
    list.push(fn);
    this.listeners.set(event, list);
    return this;
  }

  off(event: WorkerEvent, fn: (...args: any[]) => void): this {
    const list = this.listeners.get(event);
    if (list)
      this.listeners.set(
        event,
        list.filter((f) => f !== fn),
      );
    return this;
  }

  private emit(event: WorkerEvent, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        // A throwing listener must not derail BullMQ's bookkeeping; it is reported, never rethrown.
        if (event !== 'error') this.emit('error', err);
      }
    }
  }

  /**
   * Stops taking jobs and waits for running ones up to `timeoutMs` (default: the provider's
   * `closeTimeoutMs`, 30 s). Jobs still running then have their signal aborted and are moved back
   * to pending at once — another worker can take them without waiting for the lease to expire.
   * Idempotent: later calls return the first call's promise.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.timeoutMs ?? this.s.closeTimeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    // BullMQ's close(false) stops fetching at once and resolves when its running jobs are done.
    const graceful = this.bull.close(false).catch((err) => {
      this.emit('error', redisError(err, `closing the worker of queue "${this.queue}"`));
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
    });
    const first = await Promise.race([graceful.then(() => 'done' as const), expired]);
    clearTimeout(timer);
    if (first === 'expired') for (const run of [...this.running]) run.interrupt('abandoned');
    await graceful;
    this.disarm();
    await closeConnection(this.s.connection);
    this.s.onClosed();
  }

  /** Arms the shared time-limit timer for `deadline` unless it already fires earlier. */
  private arm(deadline: number): void {
    if (deadline >= this.deadlineAt) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineAt = deadline;
    const ms = Math.min(Math.max(0, Math.ceil(deadline - performance.now())), MAX_TIMER_MS);
    // Left armed when the run finishes (a no-op job would otherwise arm and clear it every time);
    // unref'd, so it never keeps the process up — the worker's connections do while it is open.
    this.deadlineTimer = setTimeout(() => this.expire(), ms).unref();
  }

  private disarm(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
  }

  /** Times out every run past its deadline (never one before it), then re-arms for the next. */
  private expire(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const run of [...this.running]) {
      if (run.deadline <= now) run.interrupt('timeout');
      else if (run.deadline < next) next = run.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  /**
   * The BullMQ processor: one run of `handler` with a time limit, mapped to BullMQ's outcomes.
   * Kept lean — it runs once per job: the returned promise is settled by whichever comes first
   * (the handler, the shared deadline timer, or close abandoning the run), without an async
   * wrapper or a race of promises.
   */
  private execute(handler: JobHandler<any>, bullJob: BullJob, token: string | undefined): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const id = String(bullJob.id);
      const controller = new AbortController();
      const job: Job<unknown> = {
        id,
        queue: this.queue,
        data: bullJob.data,
        attempts: (Number(bullJob.attemptsMade) || 0) + 1,
        maxRetries: maxRetriesOf(bullJob),
        createdAt: new Date(bullJob.timestamp),
        signal: controller.signal,
      };
      const own = ourOptions(bullJob)?.timeoutMs;
      const timeoutMs = typeof own === 'number' && own > 0 ? own : this.s.settings.timeoutMs;
      const run: Run = {
        deadline: performance.now() + Math.min(timeoutMs, MAX_TIMER_MS),
        done: false,
        interrupt: (why) => {
          if (!this.finish(run)) return;
          if (why === 'timeout') {
            controller.abort(
              new IntegrationError(ErrorCode.JobTimeout, `Job ${id} timed out after ${timeoutMs} ms`, {
                provider: PROVIDER,
                resourceType: 'job',
              }),
            );
            reject(new JobTimedOut(`Job timed out after ${timeoutMs} ms`));
            return;
          }
          controller.abort(
            new IntegrationError(
              ErrorCode.ProviderUnavailable,
              `Job ${id} was interrupted: the worker closed before it finished`,
              { provider: PROVIDER, resourceType: 'job' },
            ),
          );
          // Hand the job back now rather than letting its lock expire. WaitingError tells BullMQ
          // the job has been moved already, so it neither completes nor fails it.
          this.handBack(bullJob, token, id).then(() => reject(new WaitingError()));
        },
      };
      const onValue = (value: unknown) => {
        if (!this.finish(run)) return;
        try {
          resolve(completion(value));
        } catch (err) {
          reject(err);
        }
      };
      const onError = (error: unknown) => {
        if (!this.finish(run)) return;
        reject(error instanceof Error ? error : new Error(describeError(error)));
      };
      this.running.add(run);
      this.arm(run.deadline);
      try {
        const returned: unknown = handler(job);
        if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
          (returned as PromiseLike<unknown>).then(onValue, onError);
        } else {
          onValue(returned);
        }
      } catch (error) {
        // A handler that throws before returning a promise is a failed attempt like a rejection.
        onError(error);
      }
    });
  }

  /** Marks a run finished; false when it already was (the handler, timer and close race). */
  private finish(run: Run): boolean {
    if (run.done) return false;
    run.done = true;
    this.running.delete(run);
    return true;
  }

  /** Moves an abandoned job back to pending; never rejects. */
  private async handBack(bullJob: BullJob, token: string | undefined, id: string): Promise<void> {
    try {
      if (token) await bullJob.moveToWait(token);
    } catch (err) {
      // Lock already lost (stalled and taken by someone else): nothing left to hand back.
      this.emit('error', redisError(err, `handing job ${id} back to pending`));
    }
  }

  /** BullMQ reports every failed attempt; ours are `retrying` until the last, then `failed` once. */
  private onFailed(job: BullJob, err: Error): void {
    const id = String(job.id);
    const delayMs = this.retryDelays.get(id);
    this.retryDelays.delete(id);
    const unrecoverable = err instanceof UnrecoverableError || err?.name === 'UnrecoverableError';
    const attempts = Number(job.attemptsMade) || 0;
    const final = unrecoverable || attempts >= Math.max(1, Number(job.opts.attempts) || 1);
    const reason = describeError(err);
    const timedOut = err instanceof JobTimedOut;
    if (!final) {
      const info: JobInfo = toJobInfo(this.queue, job, 'pending');
      info.runAt = new Date(Date.now() + (delayMs ?? 0));
      const error = new IntegrationError(
        timedOut ? ErrorCode.JobTimeout : ErrorCode.JobProcessingFailed,
        `Job ${id} attempt ${attempts} failed: ${reason}`,
        { provider: PROVIDER, resourceType: 'job', cause: err },
      );
      this.emit('retrying', info, error, delayMs ?? 0);
      return;
    }
    const code = unrecoverable
      ? ErrorCode.JobProcessingFailed
      : timedOut
        ? ErrorCode.JobTimeout
        : ErrorCode.MaxRetriesExceeded;
    const message = unrecoverable
      ? `Job ${id} failed: ${reason}`
      : `Job ${id} failed after ${attempts} attempts: ${reason}`;
    const info = toJobInfo(this.queue, job, 'failed');
    info.failedAt ??= new Date();
    this.emit(
      'failed',
      info,
      new IntegrationError(code, message, { provider: PROVIDER, resourceType: 'job', cause: err }),
    );
  }
}
