import { randomUUID } from 'node:crypto';
import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  DEFAULT_MAX_JOB_BYTES,
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type Job,
  type JobHandler,
  type JobInfo,
  type JobState,
  type ListJobsQuery,
  type QueueCapabilities,
  type QueueProvider,
  type ResolvedQueueOptions,
  resolveQueueOptions,
  retryBackoffMs,
  toJson,
  type WorkerOptions,
} from '@fraiseql/core';
import { applyOutcome, jobFor, runHandler } from './queue-run';
import {
  assertEnqueuedIn,
  badJobQuery,
  byDeliveryOrder,
  checkListQuery,
  DEFAULT_CLOSE_TIMEOUT_MS,
  enqueueOperation,
  info,
  liveDuplicate,
  type MockJobRecord,
  type MockQueueOperation,
  type MockQueueOptions,
  newJobRecord,
  type Run,
  STATES,
  stampState,
  unavailable,
} from './queue-types';
import { MockWorker } from './queue-worker';

export type { MockJobRecord, MockQueueOperation, MockQueueOptions } from './queue-types';
export { MockWorker } from './queue-worker';

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
    assertEnqueuedIn(this.operations, this.queues.get(queue), queue, match);
  }

  /**
   * Puts a job into `state` as if a worker had got it there (`failed` stamps `failedAt`,
   * `completed` stamps `completedAt`, `pending` makes it due now) and wakes the workers.
   */
  setJobState(queue: string, id: string, state: JobState, lastError?: string): void {
    if (!STATES.includes(state)) throw badJobQuery(`Unknown job state ${JSON.stringify(state)}`, 'state');
    const rec = this.queues.get(queue)?.get(id);
    if (!rec) throw IntegrationError.jobNotFound(id);
    const run = this.active.get(id);
    if (run && state !== 'running') this.detachRun(run, 'state changed by setJobState');
    stampState(rec, state, lastError);
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
    const { state, limit, offset } = checkListQuery(q);
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
    const existing = liveDuplicate(jobs, opts?.dedupKey);
    const id = existing?.id ?? randomUUID();
    if (!existing) {
      jobs.set(id, newJobRecord(id, queue, prepared.data, opts, this.settings(queue)));
      this.schedulePump(queue);
    }
    if (record) this.operations.push(enqueueOperation(record, queue, id, opts, existing !== undefined));
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
    void this.execute(run, jobFor(rec, controller.signal));
  }

  private async execute(run: Run, job: Job<unknown>): Promise<void> {
    const outcome = await runHandler(run, job);
    // The run may have been abandoned (worker closed past its grace period) or the job deleted.
    if (outcome.kind === 'detached' || this.active.get(run.rec.id) !== run) return;
    this.active.delete(run.rec.id);
    // Record the outcome before freeing the slot, so a close() waiting on this run sees it done.
    applyOutcome(run, outcome, (attempts) =>
      retryBackoffMs(attempts, this.settings(run.rec.queue).retryDelayMs, this.random),
    );
    run.worker.settled(run);
    this.schedulePump(run.rec.queue);
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
