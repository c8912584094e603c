import { EventEmitter } from 'node:events';
import {
  describeError,
  ErrorCode,
  IntegrationError,
  type Job,
  type JobHandler,
  type JobResult,
  retryBackoffMs,
  type Worker,
  type WorkerEvent,
} from '@fraiseql/core';
import { PROVIDER, type QueueInternals } from './internals';
import { type Outcome, type TakenRow, toInfo, toOutcome } from './outcome';

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * How long a finished job's completion waits before it is written (with every other completion
 * of the meantime, in one statement). Written at once, each completion ran alongside the next
 * job's enqueue and take — a second statement competing for the CPU and the WAL flush on the
 * enqueue → start path, the p99 tail of an idle worker. Capped at a tenth of the lease: a
 * finished job is no longer renewed by the heartbeat.
 */
export const COMPLETION_LINGER_MS = 20;

interface PendingCompletion {
  id: string;
  resolve: (done: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Runs one queue's jobs with a fixed concurrency. The loop takes as many due jobs as it has free
 * slots in one statement, then sleeps until a NOTIFY, a freed slot, the next due delayed job or
 * the poll interval — whichever comes first.
 */
export class PostgresWorker extends EventEmitter implements Worker {
  readonly #q: QueueInternals;
  readonly #queue: string;
  readonly #handler: JobHandler<unknown>;
  readonly #concurrency: number;
  readonly #onClosed: () => void;
  readonly #running = new Map<string, Running>();
  // Results being written: the slot is already free for the next job, but close() waits for these.
  readonly #finishing = new Set<Promise<void>>();
  #stopping = false;
  #closed: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #dirty = true;
  #unsubscribe: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #consecutiveErrors = 0;
  // Completions not written yet: a timer writes them together after COMPLETION_LINGER_MS; while
  // one write is in flight, those finishing meanwhile go in the next one, right after it.
  #completions: PendingCompletion[] = [];
  #completionTimer: NodeJS.Timeout | undefined;
  #completionFlush: Promise<void> | undefined;
  readonly #lingerMs: number;

  constructor(
    q: QueueInternals,
    queue: string,
    handler: JobHandler<unknown>,
    concurrency: number,
    onClosed: () => void,
  ) {
    super();
    this.#q = q;
    this.#queue = queue;
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#onClosed = onClosed;
    this.#lingerMs = Math.min(COMPLETION_LINGER_MS, Math.floor(q.visibilityTimeoutMs / 10));
    // An 'error' event without a listener would crash the process; infrastructure errors are
    // retried by the loop anyway, so they are only reported to listeners that asked.
    this.on('error', () => {});
  }

  /** The queue this worker takes jobs from. */
  get queue(): string {
    return this.#queue;
  }

  /** Called by the provider's lease sweep: a job of this queue was taken back from a dead holder. */
  reportStalled(jobId: string): void {
    this.emit('stalled', jobId);
  }

  override on(event: WorkerEvent, fn: (...args: any[]) => void): this {
    return super.on(event, fn);
  }

  start(): void {
    this.#unsubscribe = this.#q.subscribe(this.#queue, () => this.#wake());
    const beat = Math.max(50, Math.floor(this.#q.visibilityTimeoutMs / 3));
    this.#heartbeat = setInterval(() => void this.#renewLeases(), beat);
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  /**
   * A job's slot is free again. Only a worker that was full needs waking for it: one with a free
   * slot already is asleep because the last take found no more due jobs, and a job arriving
   * later wakes it by NOTIFY. (Waking on every finished job cost a take and a due-time query per
   * job, which the next job's take then queued behind: the enqueue → start tail.)
   */
  #freeSlot(id: string): void {
    if (this.#running.delete(id) && this.#running.size === this.#concurrency - 1) this.#wake();
  }

  #wake(): void {
    this.#dirty = true;
    const w = this.#wakeUp;
    this.#wakeUp = undefined;
    w?.();
  }

  /** Waits for a wake-up (NOTIFY, freed slot, close) or `ms`, unless one came in meanwhile. */
  async #idle(ms: number): Promise<void> {
    if (this.#dirty || this.#stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const free = this.#concurrency - this.#running.size;
      if (free <= 0) {
        this.#dirty = false;
        await this.#idle(this.#q.pollIntervalMs);
        continue;
      }
      this.#dirty = false;
      let taken: TakenRow[];
      let asked: number;
      try {
        const allowed = await this.#rateLimitAllowance(free);
        if (allowed.take === 0) {
          await this.#idle(allowed.retryInMs);
          continue;
        }
        asked = allowed.take;
        taken = await this.#take(asked);
        if (allowed.take > taken.length && allowed.reserved)
          await this.#returnTokens(allowed.take - taken.length);
        this.#consecutiveErrors = 0;
      } catch (err) {
        this.#consecutiveErrors++;
        this.emit('error', this.#q.error(err, `taking jobs from "${this.#queue}" failed`));
        // Back off while the database is unreachable instead of spinning.
        await this.#idle(Math.min(5000, 100 * 2 ** Math.min(this.#consecutiveErrors, 6)));
        continue;
      }
      if (this.#stopping) {
        // Closing raced with the fetch: hand the jobs straight back.
        await this.#release(taken.map((t) => t.id));
        break;
      }
      for (const row of taken) this.#start(row);
      if (taken.length === 0) await this.#idle(await this.#nextDueIn());
      // Fewer than asked for: no other job was due when this take ran. Sleep until a NOTIFY (a
      // new or retried job), a freed slot or the next delayed job we know of, instead of asking
      // again at once to hear the same.
      else if (taken.length < asked) await this.#idle(this.#knownDueIn());
    }
  }

  async #take(n: number): Promise<TakenRow[]> {
    const { t, sql } = this.#q;
    const r = await sql.query<TakenRow>(
      `WITH next AS (
         SELECT id FROM ${t.jobs}
         WHERE queue = $1 AND state = 'pending' AND run_at <= now()
           AND NOT EXISTS (SELECT 1 FROM ${t.queueState} qs WHERE qs.queue = $1 AND qs.paused)
         ORDER BY priority DESC, seq
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE ${t.jobs} j SET state = 'running', attempts = j.attempts + 1, locked_by = $3,
         locked_until = now() + $4 * interval '1 millisecond', started_at = now()
       FROM next WHERE j.id = next.id
       RETURNING j.id, j.seq, j.data, j.attempts, j.max_retries, j.timeout_ms, j.created_at, j.run_at, j.priority`,
      [this.#queue, n, this.#q.workerId, this.#q.visibilityTimeoutMs],
      { prepare: true },
    );
    // UPDATE … RETURNING has no order; start them in delivery order.
    return r.rows.sort((a, b) => b.priority - a.priority || Number(a.seq) - Number(b.seq));
  }

  /**
   * The statement marking jobs completed (or deleting them, without retention): `$1` is a JSON
   * array of job ids, `$2` this worker's id — only jobs it still holds count.
   */
  #completeSql(): string {
    const { t } = this.#q;
    // Written so that the only index the planner can use is the primary key (the ids): with
    // `state = 'running'` it also scanned the partial lease index, whose dead entries (one per
    // job ever taken, until a vacuum) made every take slower than the last. `locked_by` is only
    // set on running jobs; the NOT IN says "running" (see the CHECK) without naming that index.
    const where = `id = ANY (ARRAY(SELECT value::uuid FROM json_array_elements_text($1::json))) AND locked_by = $2 AND state NOT IN ('pending', 'completed', 'failed')`;
    return this.#q.completedRetentionMs > 0
      ? `UPDATE ${t.jobs} SET state = 'completed', completed_at = now(), locked_by = NULL, locked_until = NULL, last_error = NULL
         WHERE ${where} RETURNING id`
      : `DELETE FROM ${t.jobs} WHERE ${where} RETURNING id`;
  }

  /** When the earliest delayed job is due as of the last {@link #nextDueIn} (performance.now()). */
  #dueAt = Number.POSITIVE_INFINITY;

  /** {@link #nextDueIn} without asking the database: from what it last answered. */
  #knownDueIn(): number {
    const poll = this.#q.pollIntervalMs;
    return Math.min(poll, Math.max(1, Math.ceil(this.#dueAt - performance.now())));
  }

  /** How long until the earliest delayed job of the queue is due (bounded by the poll interval). */
  async #nextDueIn(): Promise<number> {
    const poll = this.#q.pollIntervalMs;
    try {
      const r = await this.#q.sql.query<{ ms: number | null }>(
        // Only future jobs: due ones we could not take are paused or being taken by another
        // worker, and waiting on them would spin.
        `SELECT (EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000)::float8 AS ms FROM ${this.#q.t.jobs}
         WHERE queue = $1 AND state = 'pending' AND run_at > now()`,
        [this.#queue],
      );
      const ms = r.rows[0]?.ms;
      if (ms === null || ms === undefined) {
        this.#dueAt = Number.POSITIVE_INFINITY;
        return poll;
      }
      this.#dueAt = performance.now() + ms;
      return Math.min(poll, Math.max(1, Math.ceil(ms)));
    } catch {
      return poll;
    }
  }

  /**
   * Fixed-window limit shared by every worker of the queue: a row per window, whose `taken`
   * grows atomically (the row lock serialises workers), so `max` starts per window hold across
   * processes. A window boundary can let up to 2 × max start within one window's length.
   */
  async #rateLimitAllowance(free: number): Promise<{ take: number; reserved: boolean; retryInMs: number }> {
    const limit = this.#q.options(this.#queue).rateLimit;
    if (!limit) return { take: free, reserved: false, retryInMs: 0 };
    const windowMs = limit.perSeconds * 1000;
    const now = Date.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const { t, sql } = this.#q;
    await sql.query(
      `INSERT INTO ${t.rateLimits} (queue, window_start, taken) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`,
      [this.#queue, windowStart],
    );
    const r = await sql.query<{ granted: number }>(
      `UPDATE ${t.rateLimits} r SET taken = r.taken + g.granted
       FROM (SELECT LEAST($3::int, GREATEST(0, $4::int - taken)) AS granted FROM ${t.rateLimits}
             WHERE queue = $1 AND window_start = $2 FOR UPDATE) g
       WHERE r.queue = $1 AND r.window_start = $2
       RETURNING g.granted`,
      [this.#queue, windowStart, free, limit.max],
    );
    const granted = r.rows[0]?.granted ?? 0;
    return { take: granted, reserved: granted > 0, retryInMs: Math.max(1, windowStart + windowMs - now) };
  }

  async #returnTokens(n: number): Promise<void> {
    const limit = this.#q.options(this.#queue).rateLimit;
    if (!limit) return;
    const windowMs = limit.perSeconds * 1000;
    const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
    await this.#q.sql
      .query(
        `UPDATE ${this.#q.t.rateLimits} SET taken = GREATEST(0, taken - $3) WHERE queue = $1 AND window_start = $2`,
        [this.#queue, windowStart, n],
      )
      .catch(() => {});
  }

  #start(row: TakenRow): void {
    const controller = new AbortController();
    const job: Job<unknown> = {
      id: row.id,
      queue: this.#queue,
      data: row.data,
      attempts: row.attempts,
      maxRetries: row.max_retries,
      createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
      signal: controller.signal,
    };
    const done = this.#execute(job, row, controller).finally(() => this.#freeSlot(row.id));
    this.#running.set(row.id, { controller, done });
  }

  async #execute(job: Job<unknown>, row: TakenRow, controller: AbortController): Promise<void> {
    const timeoutMs = row.timeout_ms ?? this.#q.options(this.#queue).timeoutMs;
    let outcome: Outcome;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new IntegrationError(
            ErrorCode.JobTimeout,
            `job ${job.id} timed out after ${timeoutMs} ms`,
            { provider: PROVIDER },
          );
          controller.abort(err);
          reject(err);
        }, timeoutMs);
      });
      const result = (await Promise.race([
        Promise.resolve().then(() => this.#handler(job)),
        timedOut,
      ])) as JobResult | void;
      outcome = toOutcome(result);
    } catch (err) {
      outcome = { kind: 'retry', reason: describeError(err) };
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (
      controller.signal.aborted &&
      this.#stopping &&
      !(controller.signal.reason instanceof IntegrationError)
    ) {
      return; // handed back by close(): the job is pending again, whatever the handler did
    }
    // Free the slot as soon as the handler is done, not after its result is written: the next
    // take then overlaps this write instead of waiting for it (the write is batched anyway).
    this.#freeSlot(job.id);
    const write = this.#finish(job, row, outcome).catch((err) => {
      // The lease runs out and the sweeper makes the job pending again: at-least-once holds.
      this.emit('error', this.#q.error(err, `recording the result of job ${job.id} failed`));
    });
    this.#finishing.add(write);
    await write;
    this.#finishing.delete(write);
  }

  async #finish(job: Job<unknown>, row: TakenRow, outcome: Outcome): Promise<void> {
    const { t, sql, workerId } = this.#q;
    if (outcome.kind === 'complete') {
      if (await this.#complete(job.id))
        this.emit('completed', toInfo(job, row, 'completed', { completedAt: new Date() }), outcome.result);
      return;
    }
    const lastRun = job.attempts > job.maxRetries;
    if (outcome.kind === 'fail' || lastRun) {
      const r = await sql.query(
        `UPDATE ${t.jobs} SET state = 'failed', failed_at = now(), last_error = $3, locked_by = NULL, locked_until = NULL
         WHERE id = $1 AND locked_by = $2 AND state = 'running'`,
        [job.id, workerId, outcome.reason],
      );
      if (r.rowCount > 0) {
        const info = toInfo(job, row, 'failed', { failedAt: new Date(), lastError: outcome.reason });
        this.emit('failed', info, new Error(outcome.reason));
      }
      return;
    }
    const delayMs =
      outcome.delayMs ?? retryBackoffMs(job.attempts, this.#q.options(this.#queue).retryDelayMs);
    const r = await sql.query(
      `UPDATE ${t.jobs} SET state = 'pending', run_at = now() + $4 * interval '1 millisecond', last_error = $3,
         locked_by = NULL, locked_until = NULL
       WHERE id = $1 AND locked_by = $2 AND state = 'running'`,
      [job.id, workerId, outcome.reason, delayMs],
    );
    if (r.rowCount > 0) {
      const runAt = new Date(Date.now() + delayMs);
      const info = toInfo(job, row, 'pending', { runAt, lastError: outcome.reason });
      this.emit('retrying', info, new Error(outcome.reason), delayMs);
      this.#wake(); // the retry may be due before the current sleep ends
    }
  }

  /** Resolves with whether the job was still ours once its completion is written. */
  #complete(id: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#completions.push({ id, resolve, reject });
      // Closing: write now, close() is waiting for it.
      if (this.#stopping) void this.#flushCompletions();
      else
        this.#completionTimer ??= setTimeout(() => {
          this.#completionTimer = undefined;
          void this.#flushCompletions();
        }, this.#lingerMs);
    });
  }

  #clearCompletionTimer(): void {
    if (this.#completionTimer) clearTimeout(this.#completionTimer);
    this.#completionTimer = undefined;
  }

  /** Writes the waiting completions on their own (one statement at a time, batched meanwhile). */
  #flushCompletions(): Promise<void> {
    if (this.#completionFlush) return this.#completionFlush;
    if (this.#completions.length === 0) return Promise.resolve();
    const flush = (async () => {
      while (this.#completions.length > 0) {
        this.#clearCompletionTimer();
        const batch = this.#completions.splice(0, 1000);
        try {
          const r = await this.#q.sql.query<{ id: string }>(
            this.#completeSql(),
            [JSON.stringify(batch.map((c) => c.id)), this.#q.workerId],
            { prepare: true },
          );
          const done = new Set(r.rows.map((row) => row.id));
          for (const c of batch) c.resolve(done.has(c.id));
        } catch (err) {
          for (const c of batch) c.reject(err);
        }
      }
    })();
    this.#completionFlush = flush;
    void flush.finally(() => {
      if (this.#completionFlush === flush) this.#completionFlush = undefined;
    });
    return flush;
  }

  async #renewLeases(): Promise<void> {
    if (this.#running.size === 0) return;
    const ids = JSON.stringify([...this.#running.keys()]);
    try {
      await this.#q.sql.query(
        `UPDATE ${this.#q.t.jobs} SET locked_until = now() + $3 * interval '1 millisecond'
         WHERE id IN (SELECT value::uuid FROM json_array_elements_text($1::json)) AND locked_by = $2 AND state = 'running'`,
        [ids, this.#q.workerId, this.#q.visibilityTimeoutMs],
      );
    } catch (err) {
      this.emit('error', this.#q.error(err, `renewing leases on "${this.#queue}" failed`));
    }
  }

  /** Back to pending without counting the attempt (a graceful hand-back, not a failure). */
  async #release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const { t, sql, workerId } = this.#q;
    try {
      await sql.query(
        `WITH upd AS (
           UPDATE ${t.jobs} SET state = 'pending', attempts = GREATEST(0, attempts - 1), run_at = now(), locked_by = NULL, locked_until = NULL
           WHERE id IN (SELECT value::uuid FROM json_array_elements_text($1::json)) AND locked_by = $2 AND state = 'running'
           RETURNING queue
         ) SELECT pg_notify($3, queue) FROM upd`,
        [JSON.stringify(ids), workerId, t.channel],
      );
    } catch (err) {
      // The leases expire and the sweeper returns the jobs instead.
      this.emit('error', this.#q.error(err, `handing back ${ids.length} job(s) of "${this.#queue}" failed`));
    }
  }

  /**
   * Stops taking jobs and waits for the running ones up to `timeoutMs` (default: until they end).
   * Jobs still running then are aborted (`job.signal`) and handed back to pending for another
   * worker; their handlers' later results are ignored.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopping = true;
      this.#wake();
      // Completions lingering from before: close() is waiting for them.
      void this.#flushCompletions();
      await this.#loop?.catch(() => {});
      const waitAll = Promise.allSettled([...this.#running.values()].map((r) => r.done));
      if (opts.timeoutMs === undefined) await waitAll;
      else await Promise.race([waitAll, sleep(opts.timeoutMs)]);
      if (this.#running.size > 0) {
        const ids = [...this.#running.keys()];
        for (const r of this.#running.values()) r.controller.abort(new Error('worker closed'));
        await this.#release(ids);
      }
      await this.#flushCompletions();
      await Promise.allSettled([...this.#finishing]);
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      this.#unsubscribe?.();
      this.#onClosed();
    })();
    return this.#closed;
  }
}
