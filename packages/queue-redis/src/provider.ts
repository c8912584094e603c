import { randomUUID } from 'node:crypto';
import type {
  EnqueueOptions,
  JobHandler,
  JobInfo,
  ListJobsQuery,
  QueueCapabilities,
  QueueProvider,
  Worker,
  WorkerOptions,
} from '@fraiseql/core';
import {
  assertConcurrency,
  assertEnqueueOptions,
  assertQueueName,
  ErrorCode,
  IntegrationError,
  probeWithTimeout,
  redactSecrets,
  resolveQueueOptions,
  timeoutError,
  toJson,
  withTimeout,
} from '@fraiseql/core';
import { Queue as BullQueue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { closeConnection, workerConnection } from './connection';
import {
  listingQuery,
  listJobPage,
  readJob,
  retryFailedJob,
  runningJobNotDeletable,
  STATE_TYPES,
} from './inspection';
import {
  bullmqQueueName,
  isLookupId,
  type OurJobsOptions,
  PROVIDER,
  redisError,
  toBullPriority,
} from './mapping';
import {
  DEFAULT_URL,
  prioritiesOf,
  providerClient,
  type RedisQueueOptions,
  type ResolvedRedisOptions,
  resolveOptions,
} from './options';
import { RedisWorker } from './worker';

/** The per-queue part of every job's BullMQ options. */
interface JobDefaults {
  prioritized: boolean;
  maxRetries: number;
  backoff: Readonly<{ type: string; delay: number }>;
}

const NO_OPTIONS: EnqueueOptions = Object.freeze({});

/**
 * QueueProvider on BullMQ. BullMQ does storage, locks, stalled-job recovery, priorities, delays,
 * retries and pause; this class maps the contract onto it and keeps every queue readable by
 * BullMQ tooling (bull-board, Taskforce): a queue `q` is the BullMQ queue `bullmqQueueName(q)`
 * under `prefix`, a job's data is the BullMQ job's data, and its id is the BullMQ job id.
 */
export class RedisQueueProvider implements QueueProvider {
  readonly name = 'redis';
  /** `priority` is what a queue gets unless it is listed with its own `priorities` option. */
  readonly capabilities: QueueCapabilities;
  /** The BullMQ key prefix in use. */
  readonly prefix: string;

  readonly #opts: RedisQueueOptions;
  readonly #o: ResolvedRedisOptions;
  readonly #ownsClient: boolean;
  readonly #client: Redis | Cluster;
  readonly #secrets: (string | undefined)[];
  readonly #queues = new Map<string, BullQueue>();
  readonly #jobDefaults = new Map<string, JobDefaults>();
  readonly #workers = new Set<RedisWorker>();
  #closed?: Promise<void>;

  /** Use `createRedisQueue`, which also connects and checks the server. */
  constructor(opts: RedisQueueOptions = {}) {
    this.#o = resolveOptions(opts);
    this.#opts = opts;
    this.capabilities = {
      priority: opts.queueDefaults?.priorities !== false,
      delay: true,
      dedup: true,
      inspect: true,
      retryById: true,
      pause: true,
    };
    this.prefix = this.#o.prefix;
    const pc = providerClient(opts, this.prefix, this.#o.connectTimeoutMs);
    this.#client = pc.client;
    this.#ownsClient = pc.ownsClient;
    this.#secrets = pc.secrets;
  }

  /** @internal Connects (when the provider owns the connection) and checks the server answers. */
  async connect(): Promise<void> {
    const where = this.#ownsClient
      ? redactSecrets(this.#opts.url ?? DEFAULT_URL, this.#secrets)
      : 'the given client';
    const limit = this.#o.connectTimeoutMs;
    try {
      if (this.#client.status === 'wait') {
        await withTimeout(this.#client.connect(), limit, () => timeoutError(`connecting to ${where}`, limit));
      }
      await withTimeout(this.#client.ping(), limit, () => timeoutError(`PING to ${where}`, limit));
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

  /** What every job of `queue` gets unless its own options say otherwise (resolved once per queue). */
  #defaults(queue: string): JobDefaults {
    let d = this.#jobDefaults.get(queue);
    if (!d) {
      const settings = resolveQueueOptions(this.#opts, queue);
      d = {
        prioritized: prioritiesOf(this.#opts, queue),
        maxRetries: settings.maxRetries,
        // Shared by the jobs of the queue (BullMQ neither copies nor changes it): frozen.
        backoff: Object.freeze({ type: 'fraiseql', delay: settings.retryDelayMs }),
      };
      this.#jobDefaults.set(queue, d);
    }
    return d;
  }

  /** Validates one job and builds its BullMQ form; throws before anything is written. */
  #prepare(queue: string, data: unknown, opts: EnqueueOptions | undefined) {
    assertEnqueueOptions(opts);
    toJson(data, ErrorCode.InvalidJobData, 'Job data', this.#o.maxJobBytes);
    const d = this.#defaults(queue);
    const o = opts ?? NO_OPTIONS;
    if (!d.prioritized && o.priority !== undefined && Math.trunc(o.priority) !== 0) {
      throw new IntegrationError(
        ErrorCode.UnsupportedOperation,
        `[${PROVIDER}] priority is not supported on queue "${queue}": it has priorities: false (every job on BullMQ's plain wait list, oldest first)`,
        { provider: PROVIDER },
      );
    }
    const jobOpts: OurJobsOptions = {
      jobId: randomUUID(),
      attempts: (o.maxRetries ?? d.maxRetries) + 1,
      backoff: d.backoff,
      removeOnComplete: this.#o.keepCompleted,
      removeOnFail: this.#o.keepFailed,
    };
    // Only a job's own time limit is stored; without one the worker applies the queue's
    // `timeoutMs` when it runs the job (as the postgresql and rabbitmq backends do).
    if (o.timeoutMs !== undefined) jobOpts.fraiseql = { timeoutMs: o.timeoutMs };
    // Without a priority BullMQ adds the job to its plain wait list instead of the prioritized set.
    if (d.prioritized) jobOpts.priority = toBullPriority(o.priority ?? 0);
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
    return this.#call(`reading job ${id} of "${queue}" failed`, () =>
      readJob(this.#client, this.#queue(queue), queue, id),
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
    const query = listingQuery(q);
    if (query.limit === 0) return [];
    return this.#call(`listing the ${query.state} jobs of "${queue}" failed`, () =>
      listJobPage(this.#client, this.#queue(queue), queue, query),
    );
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
    return this.#call(`retrying job ${id} of "${queue}" failed`, () =>
      retryFailedJob(this.#client, this.#queue(queue), id),
    );
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
    if (removed === 'locked') throw runningJobNotDeletable(queue, id);
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
    const concurrency = assertConcurrency(opts?.concurrency ?? this.#o.concurrency);
    const bullName = bullmqQueueName(queue);
    // Named like BullMQ names a worker's blocking connection plus a suffix, so dashboards that
    // count workers by connection name (bull-board's getWorkers) count each worker once.
    const connection = workerConnection(
      this.#client,
      `${this.prefix}:${Buffer.from(bullName).toString('base64')}:fraiseql`,
    );
    const worker: RedisWorker = new RedisWorker(handler, {
      queue,
      bullName,
      prefix: this.prefix,
      settings: resolveQueueOptions(this.#opts, queue),
      concurrency,
      visibilityTimeoutMs: this.#o.visibilityTimeoutMs,
      maxStalledCount: this.#o.maxStalledCount,
      closeTimeoutMs: this.#o.closeTimeoutMs,
      connection,
      onClosed: () => this.#workers.delete(worker),
    });
    this.#workers.add(worker);
    return worker;
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    return probeWithTimeout(
      this.#client.ping().then((reply) => reply === 'PONG'),
      this.#o.healthCheckTimeoutMs,
    );
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
