import { AssertionError } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  DEFAULT_MAX_JOB_BYTES,
  describeError,
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  interpretJobResult,
  type Job,
  type JobHandler,
  type JobInfo,
  type JobResult,
  type JobState,
  type ListJobsQuery,
  type QueueCapabilities,
  type QueueCommonOptions,
  type QueueProvider,
  type ResolvedQueueOptions,
  resolveQueueOptions,
  retryBackoffMs,
  toJson,
  type Worker,
  type WorkerEvent,
  type WorkerOptions,
} from '@fraiseql/core';

/** Options of {@link MockQueueProvider}; the common queue options mean what they mean on every backend. */
export interface MockQueueOptions extends QueueCommonOptions {
  /** Random source of the retry backoff jitter; inject one for reproducible delays. Default `Math.random`. */
  random?: () => number;
  /** Largest job payload as JSON, in bytes (IN308 above it). Default 1 MiB, like the real backends. */
  maxJobBytes?: number;
  /** Grace period of `Worker.close()` and `provider.close()` when no `timeoutMs` is given. Default 30_000. */
  closeTimeoutMs?: number;
}

/**
 * One job as the mock stores it. `jobsInQueue()` returns the live records: tests may read them, and
 * may even assign `state` directly (prefer {@link MockQueueProvider.setJobState}, which also wakes
 * the workers).
 */
export interface MockJobRecord {
  id: string;
  queue: string;
  /** The payload after a JSON round trip, as a real backend would store it. */
  data: unknown;
  state: JobState;
  priority: number;
  /** Runs started so far (0 until the first delivery; reset by `retryJob`). */
  attempts: number;
  maxRetries: number;
  /** Handler time limit of this job. */
  timeoutMs: number;
  dedupKey?: string;
  createdAt: Date;
  /** When the job is (or was) due. */
  runAt: Date;
  /** The delay it was enqueued with (`enqueueDelayed`, or `enqueue` with `delayMs`); absent otherwise. */
  delayMs?: number;
  lastError?: string;
  completedAt?: Date;
  failedAt?: Date;
}

/** What `recordedOperations()` returns: every successful write, in call order. */
export type MockQueueOperation =
  | {
      type: 'enqueue';
      queue: string;
      jobId: string;
      priority: number;
      delayMs?: number;
      dedupKey?: string;
      /** True when `dedupKey` matched a pending/running job and its id was returned. */
      deduplicated: boolean;
    }
  | {
      type: 'enqueueDelayed';
      queue: string;
      jobId: string;
      delayMs: number;
      priority: number;
      dedupKey?: string;
      deduplicated: boolean;
    }
  | { type: 'enqueueMany'; queue: string; jobIds: string[] }
  | { type: 'retryJob'; queue: string; jobId: string; retried: boolean }
  | { type: 'deleteJob'; queue: string; jobId: string; deleted: boolean }
  | { type: 'pause'; queue: string }
  | { type: 'resume'; queue: string }
  | { type: 'process'; queue: string; concurrency: number }
  | { type: 'setJobState'; queue: string; jobId: string; state: JobState };

const STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed'];
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const DEFAULT_LIST_LIMIT = 100;

type Outcome =
  | { kind: 'complete'; result: JobResult | undefined }
  | { kind: 'retry'; reason: string; delayMs?: number; error: unknown }
  | { kind: 'failed'; reason: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'detached' };

interface Run {
  rec: MockJobRecord;
  worker: MockWorker;
  controller: AbortController;
  /** Ends the wait on the handler early (timeout, or the run was detached). */
  stop: (outcome: Outcome) => void;
}

function unavailable(message: string): IntegrationError {
  return IntegrationError.provider(ErrorCode.ProviderUnavailable, 'mock', message);
}

function badQuery(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, message, field);
}

function copy<T>(value: T): T {
  // Values in records already survived a JSON round trip, so this cannot throw.
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function info(rec: MockJobRecord): JobInfo {
  const out: JobInfo = {
    id: rec.id,
    queue: rec.queue,
    data: copy(rec.data),
    attempts: rec.attempts,
    maxRetries: rec.maxRetries,
    createdAt: new Date(rec.createdAt),
    state: rec.state,
    priority: rec.priority,
    runAt: new Date(rec.runAt),
  };
  if (rec.lastError !== undefined) out.lastError = rec.lastError;
  if (rec.completedAt) out.completedAt = new Date(rec.completedAt);
  if (rec.failedAt) out.failedAt = new Date(rec.failedAt);
  return out;
}

/** Delivery order: higher priority first, then oldest (ties keep insertion order: sort is stable). */
function byDeliveryOrder(a: MockJobRecord, b: MockJobRecord): number {
  return b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime();
}

/**
 * A worker of the mock queue. Listeners get `(job: JobInfo, …)`: `completed(job, result)`,
 * `retrying(job, error, delayMs)`, `failed(job, error)`, and `error(error)` when a listener throws.
 */
export class MockWorker implements Worker {
  readonly queue: string;
  readonly concurrency: number;
  /** @internal */ readonly handler: JobHandler<unknown>;
  /** @internal */ readonly running = new Set<Run>();
  /** @internal */ closing = false;
  private readonly listeners = new Map<WorkerEvent, ((...args: any[]) => void)[]>();
  private closed?: Promise<void>;
  private drained?: () => void;

  /** @internal */
  constructor(
    private readonly owner: MockQueueProvider,
    queue: string,
    handler: JobHandler<unknown>,
    concurrency: number,
    private readonly defaultCloseTimeoutMs: number,
  ) {
    this.queue = queue;
    this.handler = handler;
    this.concurrency = concurrency;
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

  /** @internal */
  emit(event: WorkerEvent, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        // A throwing listener must not derail job bookkeeping; it is reported, never rethrown.
        if (event !== 'error') this.emit('error', err);
      }
    }
  }

  /** @internal */
  get freeSlots(): number {
    return this.closing ? 0 : this.concurrency - this.running.size;
  }

  /** @internal called by the provider when one of this worker's runs is over. */
  settled(run: Run): void {
    this.running.delete(run);
    if (this.running.size === 0) this.drained?.();
  }

  /**
   * Stops taking jobs and waits for running ones, up to `timeoutMs` (default: the provider's
   * `closeTimeoutMs`, 30 s). Jobs still running then have their signal aborted and go back to
   * pending, so another worker delivers them again. Idempotent.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closed ??= this.shutdown(opts.timeoutMs ?? this.defaultCloseTimeoutMs);
    return this.closed;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, Math.max(0, timeoutMs));
      });
      clearTimeout(timer);
      for (const run of [...this.running]) this.owner.abandon(run);
    }
    this.owner.detach(this);
  }
}

/**
 * In-memory QueueProvider for tests: no I/O, `new MockQueueProvider()`, every capability. It keeps
 * the full contract — `process()` really runs handlers with concurrency, retries with backoff,
 * timeouts, priority, delays, dedup, pause and close semantics — and adds recording, assertions
 * and failure injection. Data goes through JSON like on a real backend, so non-serialisable
 * payloads fail here too. The worker lease (`visibilityTimeoutMs`) has no meaning in one process
 * and is ignored.
 */
export class MockQueueProvider implements QueueProvider {
  readonly name = 'mock';
  readonly capabilities: QueueCapabilities = {
    priority: true,
    delay: true,
    dedup: true,
    inspect: true,
    retryById: true,
    pause: true,
  };

  private readonly opts: MockQueueOptions;
  private readonly random: () => number;
  private readonly maxJobBytes: number;
  private readonly closeTimeoutMs: number;
  private readonly defaultConcurrency: number;
  private readonly queues = new Map<string, Map<string, MockJobRecord>>();
  private readonly paused = new Set<string>();
  private readonly workers = new Set<MockWorker>();
  private readonly active = new Map<string, Run>();
  private readonly timers = new Map<string, { at: number; handle: NodeJS.Timeout }>();
  private readonly pumpScheduled = new Set<string>();
  private readonly starts = new Map<string, number[]>();
  private readonly operations: MockQueueOperation[] = [];
  private failing = false;
  private failureMessage = 'Mock queue failure';
  private closed = false;
  private closing?: Promise<void>;

  constructor(opts: MockQueueOptions = {}) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.maxJobBytes = opts.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.defaultConcurrency = assertConcurrency(opts.concurrency);
  }

  // ---------------------------------------------------------------- test helpers

  /**
   * While true every operation rejects with IN502 ProviderUnavailable, `healthCheck()` is false and
   * workers take no jobs (they resume when it is set back to false).
   */
  get shouldFail(): boolean {
    return this.failing;
  }

  set shouldFail(value: boolean) {
    this.failing = value;
    if (!value) for (const q of this.queues.keys()) this.schedulePump(q);
  }

  /** Makes every following operation fail with `message` until `shouldFail` is set to false. */
  failWith(message: string): void {
    this.failureMessage = message;
    this.shouldFail = true;
  }

  /** Every successful write so far (a copy), oldest first. */
  recordedOperations(): MockQueueOperation[] {
    return this.operations.map((op) => ({ ...op }));
  }

  /** Forgets the recorded operations (jobs stay). */
  clearRecordedOperations(): void {
    this.operations.length = 0;
  }

  /** The live job records of a queue, oldest first, in every state. */
  jobsInQueue(queue: string): MockJobRecord[] {
    return [...(this.queues.get(queue)?.values() ?? [])];
  }

  /**
   * Throws (listing every recorded operation) unless a job was enqueued on `queue` — and, with
   * `match`, unless one of its jobs' data satisfies it.
   */
  assertEnqueued(queue: string, match?: (data: unknown) => boolean): void {
    const ids = new Set<string>();
    for (const op of this.operations) {
      if (op.queue !== queue) continue;
      if (op.type === 'enqueue' || op.type === 'enqueueDelayed') ids.add(op.jobId);
      if (op.type === 'enqueueMany') for (const id of op.jobIds) ids.add(id);
    }
    const records = this.queues.get(queue);
    const ok = match ? [...ids].some((id) => records?.has(id) && match(records.get(id)!.data)) : ids.size > 0;
    if (!ok) {
      const what = match ? `a matching job enqueued to '${queue}'` : `a job enqueued to '${queue}'`;
      throw new AssertionError({
        message: `Expected ${what}, operations: ${JSON.stringify(this.operations, null, 2)}`,
      });
    }
  }

  /**
   * Puts a job into `state` as if a worker had got it there (`failed` stamps `failedAt`,
   * `completed` stamps `completedAt`, `pending` makes it due now) and wakes the workers.
   */
  setJobState(queue: string, id: string, state: JobState, lastError?: string): void {
    if (!STATES.includes(state)) throw badQuery(`Unknown job state ${JSON.stringify(state)}`, 'state');
    const rec = this.queues.get(queue)?.get(id);
    if (!rec) throw IntegrationError.jobNotFound(id);
    const run = this.active.get(id);
    if (run && state !== 'running') this.detachRun(run, 'state changed by setJobState');
    const now = new Date();
    rec.state = state;
    if (lastError !== undefined) rec.lastError = lastError;
    if (state === 'failed') rec.failedAt = now;
    if (state === 'completed') rec.completedAt = now;
    if (state === 'pending') rec.runAt = now;
    this.operations.push({ type: 'setJobState', queue, jobId: id, state });
    this.schedulePump(queue);
  }

  // ---------------------------------------------------------------- provider

  async healthCheck(): Promise<boolean> {
    return !this.failing && !this.closed;
  }

  /** Closes every worker (with the default grace period), clears every timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.workers].map((w) => w.close()));
      this.closed = true;
      for (const t of this.timers.values()) clearTimeout(t.handle);
      this.timers.clear();
    })();
    return this.closing;
  }

  async enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string> {
    this.guard();
    const prepared = this.prepare(queue, data, opts);
    return this.insert(queue, prepared, opts, 'enqueue');
  }

  async enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: EnqueueOptions): Promise<string> {
    this.guard();
    const merged = { ...opts, delayMs };
    const prepared = this.prepare(queue, data, merged);
    return this.insert(queue, prepared, merged, 'enqueueDelayed');
  }

  async enqueueMany<T>(queue: string, items: { data: T; opts?: EnqueueOptions }[]): Promise<string[]> {
    this.guard();
    assertQueueName(queue);
    if (!Array.isArray(items))
      throw IntegrationError.invalidInput(ErrorCode.InvalidJobData, 'items must be an array', 'items');
    // Validate everything first so a bad item leaves the queue untouched, as a transaction would.
    const prepared = items.map((item) => this.prepare(queue, item?.data, item?.opts));
    const ids = prepared.map((p, i) => this.insert(queue, p, items[i]!.opts, null));
    this.operations.push({ type: 'enqueueMany', queue, jobIds: [...ids] });
    return ids;
  }

  async queueLength(queue: string): Promise<number> {
    return this.count(queue, 'pending');
  }

  async failedCount(queue: string): Promise<number> {
    return this.count(queue, 'failed');
  }

  async getJob(queue: string, id: string): Promise<JobInfo | null> {
    this.guard();
    assertQueueName(queue);
    const rec = this.queues.get(queue)?.get(id);
    return rec ? info(rec) : null;
  }

  async listJobs(queue: string, q: ListJobsQuery): Promise<JobInfo[]> {
    this.guard();
    assertQueueName(queue);
    const { state, limit = DEFAULT_LIST_LIMIT, offset = 0 } = q ?? ({} as ListJobsQuery);
    if (!STATES.includes(state)) throw badQuery(`state must be one of ${STATES.join(', ')}`, 'state');
    if (!Number.isInteger(limit) || limit < 0)
      throw badQuery('limit must be a non-negative integer', 'limit');
    if (!Number.isInteger(offset) || offset < 0)
      throw badQuery('offset must be a non-negative integer', 'offset');
    let recs = this.jobsInQueue(queue).filter((r) => r.state === state);
    if (state === 'pending') recs = recs.sort(byDeliveryOrder);
    return recs.slice(offset, offset + limit).map(info);
  }

  async retryJob(queue: string, id: string): Promise<boolean> {
    this.guard();
    assertQueueName(queue);
    const rec = this.queues.get(queue)?.get(id);
    const retried = rec?.state === 'failed';
    if (rec && retried) {
      rec.state = 'pending';
      rec.attempts = 0;
      rec.runAt = new Date();
      delete rec.lastError;
      delete rec.failedAt;
      this.schedulePump(queue);
    }
    this.operations.push({ type: 'retryJob', queue, jobId: id, retried });
    return retried;
  }

  async deleteJob(queue: string, id: string): Promise<boolean> {
    this.guard();
    assertQueueName(queue);
    const jobs = this.queues.get(queue);
    const deleted = jobs?.delete(id) ?? false;
    const run = this.active.get(id);
    // A deleted running job keeps its handler running, but its outcome has nowhere to go.
    if (deleted && run) this.detachRun(run, 'job deleted');
    this.operations.push({ type: 'deleteJob', queue, jobId: id, deleted });
    return deleted;
  }

  async pause(queue: string): Promise<void> {
    this.guard();
    assertQueueName(queue);
    this.paused.add(queue);
    this.clearTimer(queue);
    this.operations.push({ type: 'pause', queue });
  }

  async resume(queue: string): Promise<void> {
    this.guard();
    assertQueueName(queue);
    this.paused.delete(queue);
    this.operations.push({ type: 'resume', queue });
    this.schedulePump(queue);
  }

  async isPaused(queue: string): Promise<boolean> {
    this.guard();
    assertQueueName(queue);
    return this.paused.has(queue);
  }

  /** Starts a worker. While `shouldFail` is set it stays idle rather than throwing, like a worker whose backend is down. */
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): MockWorker {
    if (this.closed || this.closing) throw unavailable('MockQueueProvider is closed');
    assertQueueName(queue);
    if (typeof handler !== 'function') {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        'handler must be a function',
        'handler',
      );
    }
    const concurrency =
      opts?.concurrency === undefined ? this.defaultConcurrency : assertConcurrency(opts.concurrency);
    const worker = new MockWorker(
      this,
      queue,
      handler as JobHandler<unknown>,
      concurrency,
      this.closeTimeoutMs,
    );
    this.workers.add(worker);
    this.operations.push({ type: 'process', queue, concurrency });
    this.schedulePump(queue);
    return worker;
  }

  // ---------------------------------------------------------------- internals

  private guard(): void {
    if (this.closed || this.closing) throw unavailable('MockQueueProvider is closed');
    if (this.failing) throw unavailable(this.failureMessage);
  }

  private count(queue: string, state: JobState): number {
    this.guard();
    assertQueueName(queue);
    let n = 0;
    for (const rec of this.queues.get(queue)?.values() ?? []) if (rec.state === state) n++;
    return n;
  }

  private settings(queue: string): ResolvedQueueOptions {
    return resolveQueueOptions(this.opts, queue);
  }

  private prepare(queue: string, data: unknown, opts: EnqueueOptions | undefined): { data: unknown } {
    assertQueueName(queue);
    assertEnqueueOptions(opts);
    return { data: JSON.parse(toJson(data, ErrorCode.InvalidJobData, 'Job data', this.maxJobBytes)) };
  }

  private insert(
    queue: string,
    prepared: { data: unknown },
    opts: EnqueueOptions | undefined,
    record: 'enqueue' | 'enqueueDelayed' | null,
  ): string {
    let jobs = this.queues.get(queue);
    if (!jobs) {
      jobs = new Map();
      this.queues.set(queue, jobs);
    }
    const priority = opts?.priority ?? 0;
    const dedupKey = opts?.dedupKey;
    let existing: MockJobRecord | undefined;
    if (dedupKey !== undefined) {
      for (const rec of jobs.values()) {
        if (rec.dedupKey === dedupKey && (rec.state === 'pending' || rec.state === 'running')) existing = rec;
      }
    }
    const id = existing?.id ?? randomUUID();
    if (!existing) {
      const settings = this.settings(queue);
      const now = Date.now();
      const delayMs = opts?.delayMs;
      const rec: MockJobRecord = {
        id,
        queue,
        data: prepared.data,
        state: 'pending',
        priority,
        attempts: 0,
        maxRetries: opts?.maxRetries ?? settings.maxRetries,
        timeoutMs: opts?.timeoutMs ?? settings.timeoutMs,
        createdAt: new Date(now),
        runAt: new Date(now + (delayMs ?? 0)),
      };
      if (dedupKey !== undefined) rec.dedupKey = dedupKey;
      if (delayMs !== undefined) rec.delayMs = delayMs;
      jobs.set(id, rec);
      this.schedulePump(queue);
    }
    if (record) {
      const base = { queue, jobId: id, priority, deduplicated: existing !== undefined };
      const extra = dedupKey === undefined ? {} : { dedupKey };
      if (record === 'enqueueDelayed') {
        this.operations.push({ type: 'enqueueDelayed', ...base, delayMs: opts?.delayMs ?? 0, ...extra });
      } else {
        const delay = opts?.delayMs === undefined ? {} : { delayMs: opts.delayMs };
        this.operations.push({ type: 'enqueue', ...base, ...delay, ...extra });
      }
    }
    return id;
  }

  /** Coalesces wake-ups: many state changes in one tick cost one scan of the queue. */
  private schedulePump(queue: string): void {
    if (this.pumpScheduled.has(queue)) return;
    this.pumpScheduled.add(queue);
    queueMicrotask(() => {
      this.pumpScheduled.delete(queue);
      this.pump(queue);
    });
  }

  private pump(queue: string): void {
    if (this.closed || this.failing || this.paused.has(queue)) return;
    const workers = [...this.workers].filter((w) => w.queue === queue && w.freeSlots > 0);
    if (workers.length === 0) return;
    const now = Date.now();
    const pending = this.jobsInQueue(queue).filter((r) => r.state === 'pending');
    const due = pending.filter((r) => r.runAt.getTime() <= now).sort(byDeliveryOrder);
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const r of pending) if (r.runAt.getTime() > now) wakeAt = Math.min(wakeAt, r.runAt.getTime());

    const limit = this.settings(queue).rateLimit;
    let starts = this.starts.get(queue) ?? [];
    const windowMs = limit ? limit.perSeconds * 1000 : 0;
    if (limit) starts = starts.filter((t) => t > now - windowMs);

    let next = 0;
    while (next < due.length) {
      // Spread jobs over workers: the one with the most free slots goes first.
      const worker = workers.reduce((a, b) => (b.freeSlots > a.freeSlots ? b : a));
      if (worker.freeSlots <= 0) break;
      if (limit && starts.length >= limit.max) {
        wakeAt = Math.min(wakeAt, starts[0]! + windowMs);
        break;
      }
      if (limit) starts.push(now);
      this.start(worker, due[next++]!);
    }
    if (limit) this.starts.set(queue, starts);
    this.armTimer(queue, wakeAt);
  }

  /** One timer per queue, for the earliest moment something could become deliverable. */
  private armTimer(queue: string, at: number): void {
    const current = this.timers.get(queue);
    if (!Number.isFinite(at)) return;
    if (current && current.at <= at) return;
    if (current) clearTimeout(current.handle);
    // Timers can fire a millisecond early against Date.now(); pump() re-checks and re-arms.
    const handle = setTimeout(
      () => {
        this.timers.delete(queue);
        this.pump(queue);
      },
      Math.max(1, at - Date.now() + 1),
    );
    this.timers.set(queue, { at, handle });
  }

  private clearTimer(queue: string): void {
    const t = this.timers.get(queue);
    if (t) clearTimeout(t.handle);
    this.timers.delete(queue);
  }

  private start(worker: MockWorker, rec: MockJobRecord): void {
    rec.state = 'running';
    rec.attempts += 1;
    const controller = new AbortController();
    const run: Run = { rec, worker, controller, stop: () => {} };
    worker.running.add(run);
    this.active.set(rec.id, run);
    const job: Job<unknown> = {
      id: rec.id,
      queue: rec.queue,
      // Each run gets its own copy: a handler mutating its data must not change the next attempt.
      data: copy(rec.data),
      attempts: rec.attempts,
      maxRetries: rec.maxRetries,
      createdAt: new Date(rec.createdAt),
      signal: controller.signal,
    };
    void this.execute(run, job);
  }

  private async execute(run: Run, job: Job<unknown>): Promise<void> {
    const { timeoutMs } = run.rec;
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<Outcome>((resolve) => {
      run.stop = resolve;
      timer = setTimeout(() => resolve({ kind: 'timeout', timeoutMs }), timeoutMs);
    });
    const handled = (async (): Promise<Outcome> => {
      try {
        const result = await run.worker.handler(job);
        const o = interpretJobResult(result);
        if (o.kind === 'retry') {
          return o.delayMs === undefined
            ? { kind: 'retry', reason: o.reason, error: undefined }
            : { kind: 'retry', reason: o.reason, delayMs: o.delayMs, error: undefined };
        }
        if (o.kind === 'failed') return { kind: 'failed', reason: o.reason };
        // An unknown status is a failed attempt, exactly like a throw.
        if (o.kind === 'error') return { kind: 'retry', reason: o.error.message, error: o.error };
        return { kind: 'complete', result: result ?? undefined };
      } catch (err) {
        return { kind: 'retry', reason: describeError(err), error: err };
      }
    })();
    const outcome = await Promise.race([handled, stopped]);
    clearTimeout(timer);
    if (outcome.kind === 'timeout') run.controller.abort(this.timeoutError(run.rec, timeoutMs));
    // The run may have been abandoned (worker closed past its grace period) or the job deleted.
    if (outcome.kind === 'detached' || this.active.get(run.rec.id) !== run) return;
    this.active.delete(run.rec.id);
    // Record the outcome before freeing the slot, so a close() waiting on this run sees it done.
    this.apply(run, outcome);
    run.worker.settled(run);
    this.schedulePump(run.rec.queue);
  }

  private apply(run: Run, outcome: Exclude<Outcome, { kind: 'detached' }>): void {
    const { rec, worker } = run;
    const now = Date.now();
    if (outcome.kind === 'complete') {
      rec.state = 'completed';
      rec.completedAt = new Date(now);
      worker.emit('completed', info(rec), outcome.result);
      return;
    }
    if (outcome.kind === 'failed') {
      this.fail(rec, worker, outcome.reason, ErrorCode.JobProcessingFailed, undefined);
      return;
    }
    const reason =
      outcome.kind === 'timeout' ? `Job timed out after ${outcome.timeoutMs} ms` : outcome.reason;
    const cause = outcome.kind === 'retry' ? outcome.error : undefined;
    if (rec.attempts <= rec.maxRetries) {
      const delayMs =
        outcome.kind === 'retry' && outcome.delayMs !== undefined
          ? outcome.delayMs
          : retryBackoffMs(rec.attempts, this.settings(rec.queue).retryDelayMs, this.random);
      rec.state = 'pending';
      rec.lastError = reason;
      rec.runAt = new Date(now + delayMs);
      const code = outcome.kind === 'timeout' ? ErrorCode.JobTimeout : ErrorCode.JobProcessingFailed;
      const err = new IntegrationError(code, `Job ${rec.id} attempt ${rec.attempts} failed: ${reason}`, {
        provider: 'mock',
        resourceType: 'job',
        cause,
      });
      worker.emit('retrying', info(rec), err, delayMs);
      return;
    }
    this.fail(rec, worker, reason, ErrorCode.MaxRetriesExceeded, cause);
  }

  private fail(
    rec: MockJobRecord,
    worker: MockWorker,
    reason: string,
    code: ErrorCode,
    cause: unknown,
  ): void {
    rec.state = 'failed';
    rec.lastError = reason;
    rec.failedAt = new Date();
    const message =
      code === ErrorCode.MaxRetriesExceeded
        ? `Job ${rec.id} failed after ${rec.attempts} attempts: ${reason}`
        : `Job ${rec.id} failed: ${reason}`;
    worker.emit(
      'failed',
      info(rec),
      new IntegrationError(code, message, { provider: 'mock', resourceType: 'job', cause }),
    );
  }

  private timeoutError(rec: MockJobRecord, timeoutMs: number): IntegrationError {
    return new IntegrationError(ErrorCode.JobTimeout, `Job ${rec.id} timed out after ${timeoutMs} ms`, {
      provider: 'mock',
      resourceType: 'job',
    });
  }

  /** Forgets a run: its handler may still be running, but its outcome will be ignored. */
  private detachRun(run: Run, why: string): void {
    this.active.delete(run.rec.id);
    run.worker.settled(run);
    run.stop({ kind: 'detached' });
    run.controller.abort(unavailable(`Job ${run.rec.id} was interrupted: ${why}`));
  }

  /** @internal A worker gave up waiting for `run`: the job goes back to pending for another worker. */
  abandon(run: Run): void {
    if (this.active.get(run.rec.id) !== run) return;
    this.detachRun(run, 'worker closed before the job finished');
    if (run.rec.state === 'running') {
      run.rec.state = 'pending';
      // Shutdown is not the job's fault, so the interrupted run does not use up a retry.
      run.rec.attempts = Math.max(0, run.rec.attempts - 1);
      run.rec.runAt = new Date();
    }
    this.schedulePump(run.rec.queue);
  }

  /** @internal */
  detach(worker: MockWorker): void {
    this.workers.delete(worker);
    const queue = worker.queue;
    if (![...this.workers].some((w) => w.queue === queue)) this.clearTimer(queue);
    this.schedulePump(queue);
  }
}
