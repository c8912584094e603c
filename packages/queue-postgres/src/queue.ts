import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  assertConcurrency,
  assertEnqueueOptions,
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
  toJson,
  type Worker,
  type WorkerOptions,
  wrapError,
} from '@fraiseql/core';
import {
  assertIdentifier,
  isUniqueViolation,
  migrate,
  type SqlClient,
  type SqlExecutor,
} from '@fraiseql/postgres';
import { isUuid, JOB_COLUMNS, type JobRow, rowToInfo } from './rows';
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

const PROVIDER = 'postgresql';
const CAPABILITIES: QueueCapabilities = {
  priority: true,
  delay: true,
  dedup: true,
  inspect: true,
  retryById: true,
  pause: true,
};

export interface QueueInternals {
  sql: SqlClient;
  t: QueueTables;
  workerId: string;
  visibilityTimeoutMs: number;
  pollIntervalMs: number;
  completedRetentionMs: number;
  options(queue: string): ResolvedQueueOptions;
  subscribe(queue: string, wake: () => void): () => void;
  ensureMaintenance(): void;
  error(err: unknown, context: string): IntegrationError;
}

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
    if (items.length === 0) return [];
    const defaults = this.#options(queue);
    const ids: (string | null)[] = new Array(items.length).fill(null);
    const firstOfKey = new Map<string, number>();
    const sameAs: number[] = [];
    // Rows go to Postgres as two JSON array parameters built as text, so each payload is
    // serialised once: the options ($1, read with json_to_recordset) and the payloads ($4, read
    // with json_array_elements, which keeps them verbatim — json_to_recordset would choke on \u0000).
    const records: string[] = [];
    const datas: string[] = [];
    items.forEach((item, i) => {
      if (!item || typeof item !== 'object')
        throw IntegrationError.invalidInput(
          ErrorCode.InvalidJobData,
          `item ${i} must be { data, opts? }`,
          'items',
        );
      const o = item.opts ?? {};
      assertEnqueueOptions(o);
      const data = toJson(item.data, ErrorCode.InvalidJobData, 'Job data', this.#maxJobBytes);
      const dedup = o.dedupKey ?? null;
      if (dedup !== null) {
        const first = firstOfKey.get(dedup);
        if (first !== undefined) {
          sameAs[i] = first; // a second item with a key of this batch: the first one's job
          return;
        }
        firstOfKey.set(dedup, i);
      }
      datas[i] = data;
      records[i] =
        `"ord":${i},"id":"${randomUUID()}","priority":${o.priority ?? 0},"delay":${o.delayMs ?? 0},` +
        `"max_retries":${o.maxRetries ?? defaults.maxRetries},"timeout_ms":${o.timeoutMs === undefined ? 'null' : Math.ceil(o.timeoutMs)},` +
        `"dedup_key":${dedup === null ? 'null' : JSON.stringify(dedup)}}`;
    });
    const exec = client ?? this.#sql;
    const sql = `
WITH input AS (
  SELECT x.*, d.data FROM json_to_recordset($1::json)
    AS x(pos int, ord int, id uuid, priority int, delay double precision, max_retries int, timeout_ms int, dedup_key text)
  JOIN json_array_elements($4::json) WITH ORDINALITY AS d(data, n) ON d.n = x.pos + 1
), ins AS (
  INSERT INTO ${this.#t.jobs} (id, queue, data, priority, run_at, max_retries, timeout_ms, dedup_key)
  SELECT id, $2, data, priority, now() + delay * interval '1 millisecond', max_retries, timeout_ms, dedup_key
  FROM input ORDER BY ord
  ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('pending', 'running') DO NOTHING
  RETURNING id
), wake AS (
  SELECT pg_notify($3, $2) AS n WHERE EXISTS (SELECT 1 FROM ins)
)
SELECT input.ord, COALESCE(ins.id, existing.id) AS id
FROM input
LEFT JOIN ins ON ins.id = input.id
LEFT JOIN LATERAL (
  SELECT j.id FROM ${this.#t.jobs} j
  WHERE ins.id IS NULL AND j.queue = $2 AND j.dedup_key = input.dedup_key AND j.state IN ('pending', 'running')
  LIMIT 1
) existing ON true
LEFT JOIN wake ON true`;
    let todo = records.map((_, i) => i).filter((i) => records[i] !== undefined);
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt > 5) {
        throw new IntegrationError(
          ErrorCode.DuplicateJob,
          `[queue-postgres] enqueue into "${queue}": dedup keys kept changing hands; try again`,
          {
            provider: PROVIDER,
          },
        );
      }
      const meta = `[${todo.map((i, pos) => `{"pos":${pos},${records[i]}`).join(',')}]`;
      const payloads = `[${todo.map((i) => datas[i]).join(',')}]`;
      let rows: { ord: number; id: string | null }[];
      try {
        rows = (
          await exec.query<{ ord: number; id: string | null }>(
            sql,
            [meta, queue, this.#t.channel, payloads],
            {
              prepare: true,
            },
          )
        ).rows;
      } catch (err) {
        throw this.#error(err, `enqueue into "${queue}" failed`);
      }
      for (const r of rows) ids[r.ord] = r.id;
      // A null id: the job holding its dedup key was committed after this statement's snapshot,
      // or finished in between. Only those rows are tried again (the others are in).
      todo = todo.filter((i) => ids[i] === null);
    }
    sameAs.forEach((first, i) => {
      ids[i] = ids[first]!;
    });
    return ids as string[];
  }

  async queueLength(queue: string): Promise<number> {
    assertQueueName(queue);
    return this.#run(`counting pending jobs of "${queue}" failed`, async () => {
      const r = await this.#sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${this.#t.jobs} WHERE queue = $1 AND state = 'pending'`,
        [queue],
      );
      return r.rows[0]?.n ?? 0;
    });
  }

  async failedCount(queue: string): Promise<number> {
    assertQueueName(queue);
    return this.#run(`counting failed jobs of "${queue}" failed`, async () => {
      const r = await this.#sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${this.#t.jobs} WHERE queue = $1 AND state = 'failed'`,
        [queue],
      );
      return r.rows[0]?.n ?? 0;
    });
  }

  async getJob(queue: string, id: string): Promise<JobInfo | null> {
    assertQueueName(queue);
    if (!isUuid(id)) return null;
    return this.#run(`reading job ${id} failed`, async () => {
      const r = await this.#sql.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM ${this.#t.jobs} WHERE id = $1 AND queue = $2`,
        [id, queue],
      );
      return r.rows[0] ? rowToInfo(r.rows[0]) : null;
    });
  }

  async listJobs(queue: string, q: ListJobsQuery): Promise<JobInfo[]> {
    assertQueueName(queue);
    const states = ['pending', 'running', 'completed', 'failed'];
    if (!q || !states.includes(q.state)) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        `state must be one of ${states.join(', ')}`,
        'state',
      );
    }
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > 10_000 || !Number.isInteger(offset) || offset < 0) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        'limit must be 0-10000 and offset ≥ 0 (integers)',
        'limit',
      );
    }
    // Pending in delivery order; the others newest first (what an operator looks at).
    const order = q.state === 'pending' ? 'priority DESC, seq' : 'seq DESC';
    return this.#run(`listing ${q.state} jobs of "${queue}" failed`, async () => {
      const r = await this.#sql.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM ${this.#t.jobs} WHERE queue = $1 AND state = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`,
        [queue, q.state, limit, offset],
      );
      return r.rows.map(rowToInfo);
    });
  }

  async retryJob(queue: string, id: string): Promise<boolean> {
    assertQueueName(queue);
    if (!isUuid(id)) return false;
    return this.#run(`retrying job ${id} failed`, async () => {
      try {
        const r = await this.#sql.query(
          `WITH upd AS (
             UPDATE ${this.#t.jobs} SET state = 'pending', attempts = 0, run_at = now(), failed_at = NULL, locked_by = NULL, locked_until = NULL
             WHERE id = $1 AND queue = $2 AND state = 'failed' RETURNING id
           ) SELECT id, pg_notify($3, $2) FROM upd`,
          [id, queue, this.#t.channel],
        );
        return r.rowCount > 0;
      } catch (err) {
        // Its dedup key is taken by a newer pending/running job.
        if (isUniqueViolation(err))
          throw IntegrationError.duplicateJob(`job ${id} (its dedup key is held by another pending job)`);
        throw err;
      }
    });
  }

  async deleteJob(queue: string, id: string): Promise<boolean> {
    assertQueueName(queue);
    if (!isUuid(id)) return false;
    return this.#run(`deleting job ${id} failed`, async () => {
      const r = await this.#sql.query(`DELETE FROM ${this.#t.jobs} WHERE id = $1 AND queue = $2`, [
        id,
        queue,
      ]);
      return r.rowCount > 0;
    });
  }

  async pause(queue: string): Promise<void> {
    await this.#setPaused(queue, true);
  }

  async resume(queue: string): Promise<void> {
    await this.#setPaused(queue, false);
  }

  async #setPaused(queue: string, paused: boolean): Promise<void> {
    assertQueueName(queue);
    await this.#run(`${paused ? 'pausing' : 'resuming'} "${queue}" failed`, async () => {
      await this.#sql.query(
        `WITH up AS (
           INSERT INTO ${this.#t.queueState} (queue, paused, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (queue) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now() RETURNING queue
         ) SELECT pg_notify($3, $1) FROM up`,
        [queue, paused, this.#t.channel],
      );
    });
  }

  async isPaused(queue: string): Promise<boolean> {
    assertQueueName(queue);
    return this.#run(`reading the pause state of "${queue}" failed`, async () => {
      const r = await this.#sql.query<{ paused: boolean }>(
        `SELECT paused FROM ${this.#t.queueState} WHERE queue = $1`,
        [queue],
      );
      return r.rows[0]?.paused === true;
    });
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
   */
  async maintain(): Promise<{ recovered: number; pruned: number }> {
    if (this.#maintaining || this.#closed) return { recovered: 0, pruned: 0 };
    this.#maintaining = true;
    try {
      const swept = await this.#sql.query<{ queue: string; state: string }>(
        `WITH expired AS (
           SELECT id FROM ${this.#t.jobs} WHERE state = 'running' AND locked_until < now()
           ORDER BY locked_until LIMIT $1 FOR UPDATE SKIP LOCKED
         ), upd AS (
           UPDATE ${this.#t.jobs} j SET
             state = CASE WHEN j.attempts > j.max_retries THEN 'failed' ELSE 'pending' END,
             failed_at = CASE WHEN j.attempts > j.max_retries THEN now() END,
             last_error = 'lease expired after attempt ' || j.attempts || ': the worker stopped renewing it (crashed or stalled)',
             run_at = now(), locked_by = NULL, locked_until = NULL
           FROM expired WHERE j.id = expired.id
           RETURNING j.queue, j.state
         )
         SELECT queue, state, pg_notify($2, queue) FROM upd`,
        [this.#pruneBatch, this.#t.channel],
      );
      let pruned = 0;
      const completedMs = this.#internals.completedRetentionMs;
      for (const [state, column, ms] of [
        ['completed', 'completed_at', completedMs],
        ['failed', 'failed_at', this.#failedRetentionMs],
      ] as const) {
        const r = await this.#sql.query(
          `DELETE FROM ${this.#t.jobs} WHERE id IN (
             SELECT id FROM ${this.#t.jobs} WHERE state = '${state}' AND ${column} < now() - $1 * interval '1 millisecond'
             LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [ms, this.#pruneBatch],
        );
        pruned += r.rowCount;
      }
      await this.#sql.query(`DELETE FROM ${this.#t.rateLimits} WHERE window_start < $1`, [
        Date.now() - 86_400_000,
      ]);
      return { recovered: swept.rowCount, pruned };
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
