import { randomUUID } from 'node:crypto';
import type {
  EnqueueOptions,
  JobHandler,
  JobInfo,
  JobState,
  ListJobsQuery,
  QueueCapabilities,
  QueueCommonOptions,
  QueueProvider,
  Worker,
  WorkerOptions,
} from '@fraiseql/core';
import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  DEFAULT_MAX_JOB_BYTES,
  ErrorCode,
  IntegrationError,
  numberOption,
  redactSecrets,
  resolveQueueOptions,
  timeoutError,
  toJson,
  withTimeout,
} from '@fraiseql/core';
import { Queue as BullQueue, type JobType, type KeepJobs } from 'bullmq';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  bullmqQueueName,
  isLookupId,
  type OurJobsOptions,
  PROVIDER,
  redisError,
  toBullPriority,
  toJobInfo,
  toState,
} from './mapping';
import { closeConnection, RedisWorker } from './worker';

/** Default key prefix: one hash tag, so every key of every queue lives in one Redis Cluster slot. */
export const DEFAULT_PREFIX = '{fraiseql}';

/** How long finished jobs are kept. Both limits apply; `{}` keeps every job. */
export interface RetentionOptions {
  /** Jobs older than this (since they finished) are removed. Default: see the option using it. */
  maxAgeMs?: number;
  /** At most this many jobs are kept, newest first. Default: see the option using it. */
  maxCount?: number;
}

export interface RedisQueueOptions extends QueueCommonOptions {
  /**
   * Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). Default
   * `redis://127.0.0.1:6379`. Not allowed together with `client`.
   */
  url?: string;
  /**
   * An ioredis client (`Redis` or `Cluster`) to use instead of a URL. The provider never closes
   * it; workers get duplicates of it (with `maxRetriesPerRequest: null`, which BullMQ needs for
   * blocking commands) that the provider owns and closes. It must not use ioredis `keyPrefix`
   * (use `prefix`). Default: none — a connection is made from `url`.
   */
  client?: Redis | Cluster;
  /**
   * BullMQ key prefix: a queue's keys are `<prefix>:<queue>:…`. Default `{fraiseql}`. The braces
   * are a Redis Cluster hash tag: every key of every queue under the prefix lands in one slot,
   * which BullMQ's multi-key Lua scripts require. On a cluster the prefix must contain a hash tag
   * (`{…}`, non-empty); use different prefixes to spread queues over shards.
   */
  prefix?: string;
  /** Extra ioredis options for the connection made from `url`. Default `{}`. */
  redisOptions?: RedisOptions;
  /** Largest job payload, as JSON, in bytes; larger data is refused with IN308. Default 1 MiB. */
  maxJobBytes?: number;
  /** How long `Worker.close()` waits for running jobs when no `timeoutMs` is given. Default 30_000. */
  closeTimeoutMs?: number;
  /**
   * How many times a job may be recovered from a dead worker (lease expired) before it is failed
   * with "job stalled more than allowable limit" — a job that crashes every worker taking it must
   * not crash them forever. Recoveries do not use up `maxRetries`. Default 10.
   */
  maxStalledCount?: number;
  /** Retention of completed jobs. Default `{ maxAgeMs: 86_400_000 (1 day), maxCount: 10_000 }`. */
  keepCompleted?: RetentionOptions;
  /** Retention of failed jobs. Default `{ maxAgeMs: 604_800_000 (7 days), maxCount: 100_000 }`. */
  keepFailed?: RetentionOptions;
  /** Limit for connecting at start-up. Default 10_000. */
  connectTimeoutMs?: number;
  /** Limit for `healthCheck()` (a PING). Default 2_000. */
  healthCheckTimeoutMs?: number;
}

const DEFAULT_KEEP_COMPLETED: RetentionOptions = { maxAgeMs: 86_400_000, maxCount: 10_000 };
const DEFAULT_KEEP_FAILED: RetentionOptions = { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 };
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const MAX_LIST_LIMIT = 10_000;

/** BullMQ states that make up each of ours, in the order a listing walks them. */
const STATE_TYPES: Record<JobState, JobType[]> = {
  // Delivery order: handed-back/stalled jobs (wait) go first, then by priority, then not yet due.
  // 'paused' is the list older BullMQ versions parked waiting jobs in while a queue was paused.
  pending: ['wait', 'paused' as JobType, 'prioritized', 'delayed', 'waiting-children'],
  running: ['active'],
  completed: ['completed'],
  failed: ['failed'],
};

function configError(message: string): IntegrationError {
  return IntegrationError.configuration(ErrorCode.InvalidConfiguration, `[${PROVIDER}] ${message}`);
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Redis Cluster hashes only the part between the first `{` and the next `}`, when non-empty. */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}

function keep(opt: RetentionOptions | undefined, fallback: RetentionOptions, what: string): false | KeepJobs {
  const r = opt ?? fallback;
  if (r === null || typeof r !== 'object') throw configError(`${what} must be an object`);
  const { maxAgeMs, maxCount } = r;
  if (maxAgeMs !== undefined && !(Number.isFinite(maxAgeMs) && maxAgeMs > 0)) {
    throw configError(`${what}.maxAgeMs must be a positive number of milliseconds`);
  }
  if (maxCount !== undefined && !(Number.isInteger(maxCount) && maxCount >= 0)) {
    throw configError(`${what}.maxCount must be a non-negative integer`);
  }
  if (maxAgeMs === undefined) return maxCount === undefined ? false : { count: maxCount };
  const age = Math.max(1, Math.ceil(maxAgeMs / 1000));
  return maxCount === undefined ? { age } : { age, count: maxCount };
}

/**
 * QueueProvider on BullMQ. BullMQ does storage, locks, stalled-job recovery, priorities, delays,
 * retries and pause; this class maps the contract onto it and keeps every queue readable by
 * BullMQ tooling (bull-board, Taskforce): a queue `q` is the BullMQ queue `bullmqQueueName(q)`
 * under `prefix`, a job's data is the BullMQ job's data, and its id is the BullMQ job id.
 */
export class RedisQueueProvider implements QueueProvider {
  readonly name = 'redis';
  readonly capabilities: QueueCapabilities = {
    priority: true,
    delay: true,
    dedup: true,
    inspect: true,
    retryById: true,
    pause: true,
  };
  /** The BullMQ key prefix in use. */
  readonly prefix: string;

  readonly #opts: RedisQueueOptions;
  readonly #ownsClient: boolean;
  readonly #client: Redis | Cluster;
  readonly #secrets: (string | undefined)[];
  readonly #queues = new Map<string, BullQueue>();
  readonly #workers = new Set<RedisWorker>();
  readonly #maxJobBytes: number;
  readonly #closeTimeoutMs: number;
  readonly #visibilityTimeoutMs: number;
  readonly #concurrency: number;
  readonly #maxStalledCount: number;
  readonly #healthCheckTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #keepCompleted: false | KeepJobs;
  readonly #keepFailed: false | KeepJobs;
  #closed?: Promise<void>;

  /** Use `createRedisQueue`, which also connects and checks the server. */
  constructor(opts: RedisQueueOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw configError('options must be an object');
    this.#opts = opts;
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 256 || /\s/.test(prefix)) {
      throw configError('prefix must be a non-empty string of at most 256 characters without whitespace');
    }
    this.prefix = prefix;
    if (opts.client && opts.url !== undefined) throw configError('give either url or client, not both');
    this.#maxJobBytes = numberOption(opts.maxJobBytes, 'maxJobBytes', DEFAULT_MAX_JOB_BYTES, {
      provider: PROVIDER,
      min: 1,
    });
    this.#closeTimeoutMs = numberOption(opts.closeTimeoutMs, 'closeTimeoutMs', 30_000, {
      provider: PROVIDER,
      min: 0,
    });
    this.#visibilityTimeoutMs = Math.round(
      numberOption(opts.visibilityTimeoutMs, 'visibilityTimeoutMs', 30_000, { provider: PROVIDER, min: 200 }),
    );
    this.#healthCheckTimeoutMs = numberOption(opts.healthCheckTimeoutMs, 'healthCheckTimeoutMs', 2_000, {
      provider: PROVIDER,
      min: 1,
    });
    this.#connectTimeoutMs = numberOption(opts.connectTimeoutMs, 'connectTimeoutMs', 10_000, {
      provider: PROVIDER,
      min: 1,
    });
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
      throw configError('concurrency must be an integer from 1 to 1000');
    }
    this.#concurrency = concurrency;
    const stalled = opts.maxStalledCount ?? 10;
    if (!Number.isInteger(stalled) || stalled < 0)
      throw configError('maxStalledCount must be an integer ≥ 0');
    this.#maxStalledCount = stalled;
    this.#keepCompleted = keep(opts.keepCompleted, DEFAULT_KEEP_COMPLETED, 'keepCompleted');
    this.#keepFailed = keep(opts.keepFailed, DEFAULT_KEEP_FAILED, 'keepFailed');

    if (opts.client) {
      const client = opts.client;
      if (typeof (client as Redis).duplicate !== 'function')
        throw configError('client must be an ioredis client');
      const clientOptions = isCluster(client) ? client.options.redisOptions : (client as Redis).options;
      if (clientOptions?.keyPrefix) {
        throw configError('the client must not use an ioredis keyPrefix: BullMQ needs `prefix` instead');
      }
      this.#client = client;
      this.#ownsClient = false;
      this.#secrets = [clientOptions?.password];
    } else {
      const url = opts.url ?? DEFAULT_URL;
      if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
        throw configError(
          `url must start with redis:// or rediss:// (got ${JSON.stringify(redactSecrets(String(url)))})`,
        );
      }
      let password: string | undefined;
      try {
        password = decodeURIComponent(new URL(url).password) || undefined;
      } catch {
        throw configError(`url is not a valid URL: ${redactSecrets(url)}`);
      }
      this.#secrets = [password, opts.redisOptions?.password];
      this.#client = new Redis(url, {
        lazyConnect: true,
        connectTimeout: this.#connectTimeoutMs,
        ...opts.redisOptions,
      });
      this.#ownsClient = true;
    }
    if (isCluster(this.#client) && !hasHashTag(prefix)) {
      throw configError(
        `prefix "${prefix}" has no hash tag: on Redis Cluster every key of a BullMQ queue must be in one slot — use a prefix such as "{fraiseql}"`,
      );
    }
    // ioredis reports connection trouble as 'error' events; the calls that fail report it to
    // their callers, and an unhandled 'error' event would only print noise. A caller's client is
    // left as it is.
    if (this.#ownsClient) this.#client.on('error', () => {});
  }

  /** @internal Connects (when the provider owns the connection) and checks the server answers. */
  async connect(): Promise<void> {
    const where = this.#ownsClient
      ? redactSecrets(this.#opts.url ?? DEFAULT_URL, this.#secrets)
      : 'the given client';
    try {
      if (this.#client.status === 'wait') {
        await withTimeout(this.#client.connect(), this.#connectTimeoutMs, () =>
          timeoutError(`connecting to ${where}`, this.#connectTimeoutMs),
        );
      }
      await withTimeout(this.#client.ping(), this.#connectTimeoutMs, () =>
        timeoutError(`PING to ${where}`, this.#connectTimeoutMs),
      );
    } catch (err) {
      if (this.#ownsClient) this.#client.disconnect();
      throw redisError(err, `cannot connect to ${where}`, this.#secrets);
    }
  }

  #guard(): void {
    if (this.#closed) {
      throw new IntegrationError(
        ErrorCode.ProviderUnavailable,
        `[${PROVIDER}] the queue provider is closed`,
        {
          provider: PROVIDER,
        },
      );
    }
  }

  /** The BullMQ Queue of one of our queues (one per name, sharing the provider's connection). */
  #queue(queue: string): BullQueue {
    let q = this.#queues.get(queue);
    if (!q) {
      q = new BullQueue(bullmqQueueName(queue), { connection: this.#client as any, prefix: this.prefix });
      // Failures reach the awaiting caller; the event copy would only print noise.
      q.on('error', () => {});
      this.#queues.set(queue, q);
    }
    return q;
  }

  async #call<T>(context: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw redisError(err, context, this.#secrets);
    }
  }

  /** Validates one job and builds its BullMQ form; throws before anything is written. */
  #prepare(queue: string, data: unknown, opts: EnqueueOptions | undefined) {
    assertEnqueueOptions(opts);
    toJson(data, ErrorCode.InvalidJobData, 'Job data', this.#maxJobBytes);
    const settings = resolveQueueOptions(this.#opts, queue);
    const o = opts ?? {};
    const jobOpts: OurJobsOptions = {
      jobId: randomUUID(),
      priority: toBullPriority(o.priority ?? 0),
      attempts: (o.maxRetries ?? settings.maxRetries) + 1,
      backoff: { type: 'fraiseql', delay: settings.retryDelayMs },
      removeOnComplete: this.#keepCompleted,
      removeOnFail: this.#keepFailed,
      fraiseql: { timeoutMs: o.timeoutMs ?? settings.timeoutMs },
    };
    // Rounded up: a delayed job must never be delivered before its due time.
    if (o.delayMs) jobOpts.delay = Math.ceil(o.delayMs);
    if (o.dedupKey !== undefined) jobOpts.deduplication = { id: o.dedupKey };
    return { name: queue, data, opts: jobOpts };
  }

  async enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string> {
    this.#guard();
    assertQueueName(queue);
    const job = this.#prepare(queue, data, opts);
    return this.#call(`enqueueing a job to "${queue}" failed`, async () => {
      const added = await this.#queue(queue).add(job.name, job.data, job.opts);
      return String(added.id);
    });
  }

  enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: EnqueueOptions): Promise<string> {
    return this.enqueue(queue, data, { ...opts, delayMs });
  }

  /**
   * Adds the jobs in one pipelined round trip (BullMQ `addBulk`). Every item is validated before
   * anything is written; the writes themselves are not one transaction, so a connection failure
   * part-way can leave the first items enqueued.
   */
  async enqueueMany<T>(queue: string, items: { data: T; opts?: EnqueueOptions }[]): Promise<string[]> {
    this.#guard();
    assertQueueName(queue);
    if (!Array.isArray(items)) {
      throw IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, 'items must be an array', 'items');
    }
    const jobs = items.map((item) => {
      if (item === null || typeof item !== 'object') {
        throw IntegrationError.invalidInput(
          ErrorCode.InvalidJobOptions,
          'each item must be { data, opts? }',
          'items',
        );
      }
      return this.#prepare(queue, item.data, item.opts);
    });
    if (jobs.length === 0) return [];
    return this.#call(`enqueueing ${jobs.length} jobs to "${queue}" failed`, async () => {
      const added = await this.#queue(queue).addBulk(jobs);
      return added.map((j) => String(j.id));
    });
  }

  /** Jobs waiting to run: waiting, prioritised, delayed (and paused). Running jobs are not counted. */
  async queueLength(queue: string): Promise<number> {
    this.#guard();
    assertQueueName(queue);
    return this.#call(`counting the jobs of "${queue}" failed`, () =>
      this.#queue(queue).getJobCountByTypes(...STATE_TYPES.pending),
    );
  }

  async failedCount(queue: string): Promise<number> {
    this.#guard();
    assertQueueName(queue);
    return this.#call(`counting the failed jobs of "${queue}" failed`, () =>
      this.#queue(queue).getFailedCount(),
    );
  }

  async getJob(queue: string, id: string): Promise<JobInfo | null> {
    this.#guard();
    assertQueueName(queue);
    if (!isLookupId(id)) return null;
    return this.#call(`reading job ${id} of "${queue}" failed`, async () => {
      const q = this.#queue(queue);
      const job = await q.getJob(id);
      if (!job) return null;
      const bullState = await job.getState();
      // A job whose hash outlived its state (removed concurrently) is gone for the caller too.
      if (bullState === 'unknown') return null;
      const runAt = bullState === 'delayed' ? (await this.#delayedRunAt(q, [id]))[0] : undefined;
      return toJobInfo(queue, job, toState(bullState), runAt);
    });
  }

  /** Due times of delayed jobs: the delayed set's score is `dueMs × 4096 + a tie-breaker`. */
  async #delayedRunAt(q: BullQueue, ids: string[]): Promise<(number | undefined)[]> {
    if (ids.length === 0) return [];
    const key = q.toKey('delayed');
    const pipeline = this.#client.pipeline();
    for (const id of ids) pipeline.zscore(key, id);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, score]) =>
      err || score === null || score === undefined ? undefined : Math.floor(Number(score) / 0x1000),
    );
  }

  /**
   * Jobs in one state. Pending jobs come in delivery order (handed-back jobs, then by priority and
   * age, then delayed ones by due time); running ones oldest first; completed and failed newest
   * first. `limit` 0-10_000 (default 100), `offset` ≥ 0 (default 0).
   */
  async listJobs(queue: string, q: ListJobsQuery): Promise<JobInfo[]> {
    this.#guard();
    assertQueueName(queue);
    const state = q?.state;
    if (!q || !(state in STATE_TYPES)) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        `state must be one of ${Object.keys(STATE_TYPES).join(', ')}`,
        'state',
      );
    }
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    if (
      !Number.isInteger(limit) ||
      limit < 0 ||
      limit > MAX_LIST_LIMIT ||
      !Number.isInteger(offset) ||
      offset < 0
    ) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        `limit must be an integer from 0 to ${MAX_LIST_LIMIT} and offset an integer ≥ 0`,
        'limit',
      );
    }
    if (limit === 0) return [];
    return this.#call(`listing the ${state} jobs of "${queue}" failed`, async () => {
      const bq = this.#queue(queue);
      const types = STATE_TYPES[state];
      const asc = state === 'pending' || state === 'running';
      // BullMQ pages each state separately, so the page is cut across states here.
      const counts = await bq.getJobCounts(...types);
      const out: JobInfo[] = [];
      let skip = offset;
      let remaining = limit;
      for (const type of types) {
        const n = counts[type] ?? 0;
        if (skip >= n) {
          skip -= n;
          continue;
        }
        const take = Math.min(remaining, n - skip);
        const jobs = await bq.getJobs([type], skip, skip + take - 1, asc);
        const runAts =
          type === 'delayed'
            ? await this.#delayedRunAt(
                bq,
                jobs.map((j) => String(j.id)),
              )
            : [];
        jobs.forEach((job, i) => {
          out.push(toJobInfo(queue, job, toState(type), runAts[i]));
        });
        remaining -= jobs.length;
        skip = 0;
        if (remaining <= 0) break;
      }
      return out.slice(0, limit);
    });
  }

  /**
   * A failed job back to pending, with its attempts reset (BullMQ `job.retry('failed')`). False
   * when the job is absent or not failed. Its dedup key, released when it failed, is claimed
   * again unless a newer job holds it.
   */
  async retryJob(queue: string, id: string): Promise<boolean> {
    this.#guard();
    assertQueueName(queue);
    if (!isLookupId(id)) return false;
    return this.#call(`retrying job ${id} of "${queue}" failed`, async () => {
      const q = this.#queue(queue);
      const job = await q.getJob(id);
      if (!job) return false;
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch (err) {
        // Negative codes are BullMQ's "not in the failed state" / "missing" / "locked" answers.
        if (typeof (err as { code?: unknown }).code === 'number') return false;
        throw err;
      }
      if (job.deduplicationId) {
        await this.#client.set(`${q.qualifiedName}:de:${job.deduplicationId}`, id, 'NX');
      }
      return true;
    });
  }

  /**
   * Removes a pending, completed or failed job (BullMQ `job.remove()`); false when there is no
   * such job. A running job cannot be deleted: BullMQ holds its lock for the worker running it,
   * so this throws IN005 — delete it once it has finished.
   */
  async deleteJob(queue: string, id: string): Promise<boolean> {
    this.#guard();
    assertQueueName(queue);
    if (!isLookupId(id)) return false;
    const removed = await this.#call(`deleting job ${id} of "${queue}" failed`, async () => {
      const q = this.#queue(queue);
      if (!(await q.getJob(id))) return false;
      return (await q.remove(id)) === 1 ? true : 'locked';
    });
    if (removed === 'locked') {
      throw new IntegrationError(
        ErrorCode.UnsupportedOperation,
        `[${PROVIDER}] job ${id} of "${queue}" is running: BullMQ cannot delete a job a worker holds the lock of; delete it once it has finished`,
        { provider: PROVIDER, resourceType: 'job' },
      );
    }
    return removed;
  }

  /** Stops delivery of the queue to every worker, in every process (BullMQ `queue.pause()`). */
  async pause(queue: string): Promise<void> {
    this.#guard();
    assertQueueName(queue);
    await this.#call(`pausing "${queue}" failed`, () => this.#queue(queue).pause());
  }

  async resume(queue: string): Promise<void> {
    this.#guard();
    assertQueueName(queue);
    await this.#call(`resuming "${queue}" failed`, () => this.#queue(queue).resume());
  }

  async isPaused(queue: string): Promise<boolean> {
    this.#guard();
    assertQueueName(queue);
    return this.#call(`reading the pause state of "${queue}" failed`, () => this.#queue(queue).isPaused());
  }

  /**
   * Starts a BullMQ worker on the queue, on its own connection. The lease of a taken job is
   * `visibilityTimeoutMs` (BullMQ `lockDuration`), renewed every half lease while the handler runs;
   * a job whose worker died is pending again one to two leases after its last renewal.
   */
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): Worker {
    this.#guard();
    assertQueueName(queue);
    if (typeof handler !== 'function') {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobOptions,
        'handler must be a function',
        'handler',
      );
    }
    const concurrency = assertConcurrency(opts?.concurrency ?? this.#concurrency);
    const bullName = bullmqQueueName(queue);
    // Named like BullMQ names a worker's blocking connection plus a suffix, so dashboards that
    // count workers by connection name (bull-board's getWorkers) count each worker once.
    const connection = this.#workerConnection(
      `${this.prefix}:${Buffer.from(bullName).toString('base64')}:fraiseql`,
    );
    const worker: RedisWorker = new RedisWorker(handler, {
      queue,
      bullName,
      prefix: this.prefix,
      settings: resolveQueueOptions(this.#opts, queue),
      concurrency,
      visibilityTimeoutMs: this.#visibilityTimeoutMs,
      maxStalledCount: this.#maxStalledCount,
      closeTimeoutMs: this.#closeTimeoutMs,
      connection,
      onClosed: () => this.#workers.delete(worker),
    });
    this.#workers.add(worker);
    return worker;
  }

  /** A worker's own connection: BullMQ requires `maxRetriesPerRequest: null` for workers. */
  #workerConnection(connectionName: string): Redis | Cluster {
    const client = this.#client;
    const conn = isCluster(client)
      ? client.duplicate(undefined, {
          lazyConnect: false,
          redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null, connectionName },
        })
      : (client as Redis).duplicate({ lazyConnect: false, maxRetriesPerRequest: null, connectionName });
    conn.on('error', () => {});
    return conn;
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const reply = await withTimeout(this.#client.ping(), this.#healthCheckTimeoutMs, () =>
        timeoutError('PING', this.#healthCheckTimeoutMs),
      );
      return reply === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * Closes every worker (each waits up to `closeTimeoutMs` for its running jobs, then hands them
   * back), the BullMQ queues, and the connection when the provider made it. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#workers].map((w) => w.close()));
      await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
      this.#queues.clear();
      if (this.#ownsClient) await closeConnection(this.#client);
    })();
    return this.#closed;
  }
}

/**
 * A QueueProvider on Redis through BullMQ (`name = "redis"`). Connects (or uses `client`) and
 * checks the server before resolving; an unreachable server is IN501/IN500/IN502, a bad option
 * IN002.
 */
export async function createRedisQueue(opts: RedisQueueOptions = {}): Promise<RedisQueueProvider> {
  const provider = new RedisQueueProvider(opts);
  await provider.connect();
  return provider;
}
