import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  assertConcurrency,
  assertQueueName,
  DEFAULT_MAX_JOB_BYTES,
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type JobHandler,
  type JobInfo,
  type ListJobsQuery,
  type QueueCapabilities,
  type QueueCommonOptions,
  type QueueProvider,
  type ResolvedQueueOptions,
  resolveQueueOptions,
  type Worker,
  type WorkerOptions,
  wrapError,
} from '@fraiseql/core';
import { assertIdentifier, migrate, type SqlClient, type SqlExecutor } from '@fraiseql/postgres';
import {
  countJobs,
  deleteJobRow,
  listingQuery,
  listJobRows,
  readJob,
  readPaused,
  retryFailedJob,
  sweepAndPrune,
  writePaused,
} from './admin';
import { insertJobs } from './enqueue';
import { PROVIDER, type QueueInternals } from './internals';
import { isUuid } from './rows';
import { type QueueTables, queueMigrations, queueTables } from './schema';
import { PostgresWorker } from './worker';

export interface PostgresQueueOptions extends QueueCommonOptions {
  /** The connection (server or PGlite) from `@fraiseql/postgres`. Not closed by `close()`: the caller owns it. */
  sql: SqlClient;
  /** Schema holding the queue tables; created when missing. Default `"_system"`. */
  schema?: string;
  /**
   * Longest an idle worker waits before looking for jobs again. NOTIFY wakes workers at once
   * on enqueue, so this only bounds the delay when a notification is lost (connection drop).
   * Default 1000.
   */
  pollIntervalMs?: number;
  /** Largest job payload as JSON, in bytes. Default 1 MiB. */
  maxJobBytes?: number;
  /** Completed jobs are deleted after this long. Default 86_400_000 (1 day); 0 deletes them on completion. */
  completedRetentionMs?: number;
  /** Failed jobs are deleted after this long. Default 604_800_000 (7 days). */
  failedRetentionMs?: number;
  /** How often expired leases are swept back to pending and old jobs pruned. Default: half the lease, at most 5000. */
  maintenanceIntervalMs?: number;
  /** Rows deleted per pruning statement (bounded work per sweep). Default 1000. */
  pruneBatchSize?: number;
}

/** Options of `enqueue` on this backend: the contract's, plus a transaction to enqueue in. */
export interface PostgresEnqueueOptions extends EnqueueOptions {
  /**
   * Run the INSERT on this executor — the `tx` of `sql.transaction(tx => …)` — so the job exists
   * only if the caller's transaction commits (and workers are woken on commit).
   */
  client?: SqlExecutor;
}

const CAPABILITIES: QueueCapabilities = {
  priority: true,
  delay: true,
  dedup: true,
  inspect: true,
  retryById: true,
  pause: true,
};

/**
 * Our PostgreSQL job queue. One table holds every queue's jobs; workers take due jobs with
 * `FOR UPDATE SKIP LOCKED` in batches, are woken by LISTEN/NOTIFY, hold a lease renewed by a
 * heartbeat, and expired leases go back to pending — so a `kill -9` loses nothing.
 */
export class PostgresQueue implements QueueProvider {
  readonly name = PROVIDER;
  readonly capabilities = CAPABILITIES;
  readonly schema: string;
  readonly #sql: SqlClient;
  readonly #t: QueueTables;
  readonly #common: QueueCommonOptions;
  readonly #resolved = new Map<string, ResolvedQueueOptions>();
  readonly #maxJobBytes: number;
  readonly #workers = new Set<PostgresWorker>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #internals: QueueInternals;
  readonly #maintenanceMs: number;
  readonly #failedRetentionMs: number;
  readonly #pruneBatch: number;
  #unlisten: (() => Promise<void>) | undefined;
  #maintenance: NodeJS.Timeout | undefined;
  #maintaining = false;
  #closed = false;

  private constructor(opts: PostgresQueueOptions) {
    this.#sql = opts.sql;
    this.schema = opts.schema ?? '_system';
    assertIdentifier(this.schema, 'schema');
    this.#t = queueTables(this.schema);
    this.#common = opts;
    this.#maxJobBytes = opts.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES;
    const visibilityTimeoutMs = opts.visibilityTimeoutMs ?? 30_000;
    if (!(visibilityTimeoutMs >= 100)) {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        '[queue-postgres] visibilityTimeoutMs must be at least 100',
      );
    }
    this.#maintenanceMs =
      opts.maintenanceIntervalMs ?? Math.min(5000, Math.max(50, Math.floor(visibilityTimeoutMs / 2)));
    this.#failedRetentionMs = opts.failedRetentionMs ?? 604_800_000;
    this.#pruneBatch = opts.pruneBatchSize ?? 1000;
    this.#internals = {
      sql: this.#sql,
      t: this.#t,
      workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      visibilityTimeoutMs,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      completedRetentionMs: opts.completedRetentionMs ?? 86_400_000,
      options: (queue) => this.#options(queue),
      subscribe: (queue, wake) => this.#subscribe(queue, wake),
      ensureMaintenance: () => this.#startMaintenance(),
      error: (err, context) => this.#error(err, context),
    };
  }

  /** Creates the schema (idempotently, safe with concurrent starts) and starts listening for wake-ups. */
  static async create(opts: PostgresQueueOptions): Promise<PostgresQueue> {
    if (!opts?.sql) {
      throw IntegrationError.configuration(
        ErrorCode.MissingConfiguration,
        '[queue-postgres] createPostgresQueue needs { sql } from @fraiseql/postgres',
      );
    }
    const q = new PostgresQueue(opts);
    try {
      await migrate(opts.sql, {
        namespace: 'queue-postgres',
        schema: q.schema,
        steps: queueMigrations(q.#t),
      });
      q.#unlisten = await opts.sql.listen(q.#t.channel, (queue) => q.#wake(queue), {
        onReconnect: () => q.#wakeAll(),
      });
    } catch (err) {
      throw q.#error(err, `creating the queue schema "${q.schema}" failed`);
    }
    return q;
  }

  #error(err: unknown, context: string): IntegrationError {
    return wrapError(err, ErrorCode.PostgresError, PROVIDER, context);
  }

  #options(queue: string): ResolvedQueueOptions {
    let o = this.#resolved.get(queue);
    if (!o) {
      o = resolveQueueOptions(this.#common, queue);
      this.#resolved.set(queue, o);
    }
    return o;
  }

  #subscribe(queue: string, wake: () => void): () => void {
    let set = this.#waiters.get(queue);
    if (!set) {
      set = new Set();
      this.#waiters.set(queue, set);
    }
    set.add(wake);
    return () => set.delete(wake);
  }

  #wake(queue: string): void {
    const set = this.#waiters.get(queue);
    if (set) for (const w of set) w();
  }

  #wakeAll(): void {
    for (const set of this.#waiters.values()) for (const w of set) w();
  }

  #open(): void {
    if (this.#closed)
      throw new IntegrationError(
        ErrorCode.ProviderUnavailable,
        '[queue-postgres] the queue provider is closed',
        { provider: PROVIDER },
      );
  }

  async #run<T>(context: string, fn: () => Promise<T>): Promise<T> {
    this.#open();
    try {
      return await fn();
    } catch (err) {
      throw this.#error(err, context);
    }
  }

  async enqueue<T>(queue: string, data: T, opts?: PostgresEnqueueOptions): Promise<string> {
    const [id] = await this.#insert(queue, [{ data, opts }], opts?.client);
    return id!;
  }

  enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: PostgresEnqueueOptions): Promise<string> {
    return this.enqueue(queue, data, { ...opts, delayMs });
  }

  enqueueMany<T>(queue: string, items: { data: T; opts?: PostgresEnqueueOptions }[]): Promise<string[]> {
    if (!Array.isArray(items)) {
      return Promise.reject(
        IntegrationError.invalidInput(
          ErrorCode.InvalidJobData,
          'enqueueMany takes an array of { data, opts }',
          'items',
        ),
      );
    }
    return this.#insert(queue, items, items.find((i) => i?.opts?.client)?.opts?.client);
  }

  async #insert<T>(
    queue: string,
    items: { data: T; opts?: EnqueueOptions | undefined }[],
    client?: SqlExecutor,
  ): Promise<string[]> {
    assertQueueName(queue);
    this.#open();
    return insertJobs(
      {
        t: this.#t,
        exec: client ?? this.#sql,
        defaults: () => this.#options(queue),
        maxJobBytes: this.#maxJobBytes,
        error: (err, context) => this.#error(err, context),
      },
      queue,
      items,
    );
  }

  async queueLength(queue: string): Promise<number> {
    assertQueueName(queue);
    return this.#run(`counting pending jobs of "${queue}" failed`, () =>
      countJobs(this.#sql, this.#t, queue, 'pending'),
    );
  }

  async failedCount(queue: string): Promise<number> {
    assertQueueName(queue);
    return this.#run(`counting failed jobs of "${queue}" failed`, () =>
      countJobs(this.#sql, this.#t, queue, 'failed'),
    );
  }

  async getJob(queue: string, id: string): Promise<JobInfo | null> {
    assertQueueName(queue);
    if (!isUuid(id)) return null;
    return this.#run(`reading job ${id} failed`, () => readJob(this.#sql, this.#t, queue, id));
  }

  async listJobs(queue: string, q: ListJobsQuery): Promise<JobInfo[]> {
    assertQueueName(queue);
    const page = listingQuery(q);
    return this.#run(`listing ${page.state} jobs of "${queue}" failed`, () =>
      listJobRows(this.#sql, this.#t, queue, page),
    );
  }

  async retryJob(queue: string, id: string): Promise<boolean> {
    assertQueueName(queue);
    if (!isUuid(id)) return false;
    return this.#run(`retrying job ${id} failed`, () => retryFailedJob(this.#sql, this.#t, queue, id));
  }

  async deleteJob(queue: string, id: string): Promise<boolean> {
    assertQueueName(queue);
    if (!isUuid(id)) return false;
    return this.#run(`deleting job ${id} failed`, () => deleteJobRow(this.#sql, this.#t, queue, id));
  }

  async pause(queue: string): Promise<void> {
    await this.#setPaused(queue, true);
  }

  async resume(queue: string): Promise<void> {
    await this.#setPaused(queue, false);
  }

  async #setPaused(queue: string, paused: boolean): Promise<void> {
    assertQueueName(queue);
    await this.#run(`${paused ? 'pausing' : 'resuming'} "${queue}" failed`, () =>
      writePaused(this.#sql, this.#t, queue, paused),
    );
  }

  async isPaused(queue: string): Promise<boolean> {
    assertQueueName(queue);
    return this.#run(`reading the pause state of "${queue}" failed`, () =>
      readPaused(this.#sql, this.#t, queue),
    );
  }

  process<T>(queue: string, handler: JobHandler<T>, opts: WorkerOptions = {}): Worker {
    assertQueueName(queue);
    this.#open();
    if (typeof handler !== 'function')
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        'process() needs a handler function',
        'handler',
      );
    const concurrency = assertConcurrency(opts.concurrency ?? this.#common.concurrency ?? 1);
    const worker = new PostgresWorker(
      this.#internals,
      queue,
      handler as JobHandler<unknown>,
      concurrency,
      () => this.#workers.delete(worker),
    );
    this.#workers.add(worker);
    this.#startMaintenance();
    worker.start();
    return worker;
  }

  #startMaintenance(): void {
    if (this.#maintenance || this.#closed) return;
    this.#maintenance = setInterval(() => void this.maintain().catch(() => {}), this.#maintenanceMs);
    this.#maintenance.unref();
  }

  /**
   * One maintenance pass: jobs whose lease expired (their worker died) go back to pending — or to
   * failed when that was their last attempt — and finished jobs past retention are deleted, in
   * bounded batches. Runs on a timer while workers are active; exposed for tests and the CLI.
   * This provider's workers of a job's queue emit `stalled` for each job made pending again.
   */
  async maintain(): Promise<{ recovered: number; pruned: number }> {
    if (this.#maintaining || this.#closed) return { recovered: 0, pruned: 0 };
    this.#maintaining = true;
    try {
      const { swept, pruned } = await sweepAndPrune(this.#sql, this.#t, {
        batch: this.#pruneBatch,
        completedRetentionMs: this.#internals.completedRetentionMs,
        failedRetentionMs: this.#failedRetentionMs,
      });
      for (const job of swept) {
        if (job.state !== 'pending') continue;
        for (const w of this.#workers) if (w.queue === job.queue) w.reportStalled(job.id);
      }
      return { recovered: swept.length, pruned };
    } catch (err) {
      throw this.#error(err, 'queue maintenance failed');
    } finally {
      this.#maintaining = false;
    }
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    return this.#sql.healthCheck();
  }

  /** Closes every worker of this provider (waiting up to 30 s for running jobs), then stops listening. Idempotent. */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#maintenance) clearInterval(this.#maintenance);
    await Promise.allSettled([...this.#workers].map((w) => w.close({ timeoutMs: opts.timeoutMs ?? 30_000 })));
    await this.#unlisten?.().catch(() => {});
  }
}

/** Creates the PostgreSQL queue provider (runs its migrations first). */
export function createPostgresQueue(opts: PostgresQueueOptions): Promise<PostgresQueue> {
  return PostgresQueue.create(opts);
}
