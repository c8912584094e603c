import type { Provider } from './provider';

export type JobState = 'pending' | 'running' | 'completed' | 'failed';

export interface EnqueueOptions {
  /** Higher runs first among due jobs. Default 0, may be negative. */
  priority?: number;
  /** While a pending or running job of the queue has this key, enqueue returns that job's id instead. */
  dedupKey?: string;
  /** Retries after the first run; at most `maxRetries + 1` runs. Default: the queue's `maxRetries` (3). */
  maxRetries?: number;
  /** Handler time limit; aborts `job.signal` and counts as a failed attempt. Default: the queue's `timeoutMs`. */
  timeoutMs?: number;
  /** Not delivered before now + delayMs. Default 0. */
  delayMs?: number;
}

export interface Job<T> {
  id: string;
  queue: string;
  data: T;
  /** Runs started so far, this one included (1 on the first delivery). */
  attempts: number;
  maxRetries: number;
  createdAt: Date;
  /** Aborted on timeout and when the worker shuts down past its grace period. */
  signal: AbortSignal;
}

export interface JobInfo extends Omit<Job<unknown>, 'signal'> {
  state: JobState;
  priority: number;
  /** When the job is (or was) due. */
  runAt: Date;
  lastError?: string;
  completedAt?: Date;
  failedAt?: Date;
}

export type JobResult =
  | { status: 'complete' }
  | { status: 'retry'; reason: string; delayMs?: number }
  | { status: 'failed'; reason: string };

export type JobHandler<T> = (job: Job<T>) => Promise<JobResult | void>;

export interface WorkerOptions {
  /** Jobs run at once by this worker. Default: the provider's `concurrency` (1 when unset). */
  concurrency?: number;
}

/**
 * The events of every worker, with their arguments (the way BullMQ's `WorkerListener` types its
 * worker), so `worker.on('failed', (job, err) => …)` is checked by the compiler.
 */
export interface WorkerEvents {
  /** A run finished; `result` is what the handler returned, where it returned something. */
  completed: (job: JobInfo, result?: unknown) => void;
  /** The job failed for good: retries spent, `{ status: 'failed' }`, or an unrecoverable error. */
  failed: (job: JobInfo, error: Error) => void;
  /** A run failed and the job will run again after `delayMs`. */
  retrying: (job: JobInfo, error: Error, delayMs: number) => void;
  /** A job's lease expired while taken (its worker died or hung); it is pending again. */
  stalled: (jobId: string) => void;
  /** A backend error the worker survived (it keeps polling / reconnecting). */
  error: (error: Error) => void;
}

export type WorkerEvent = keyof WorkerEvents;

export interface Worker {
  /** Stops taking jobs and waits for running ones up to `timeoutMs`; unfinished jobs go back to pending. */
  close(opts?: { timeoutMs?: number }): Promise<void>;
  on<E extends WorkerEvent>(event: E, fn: WorkerEvents[E]): this;
  off?<E extends WorkerEvent>(event: E, fn: WorkerEvents[E]): this;
}

export interface QueueCapabilities {
  priority: boolean;
  delay: boolean;
  dedup: boolean;
  /** getJob / listJobs */
  inspect: boolean;
  retryById: boolean;
  pause: boolean;
}

export interface ListJobsQuery {
  state: JobState;
  /** Default 100. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

export interface QueueProvider extends Provider {
  readonly capabilities: QueueCapabilities;
  /** Returns the job id (a UUID), or the existing job's id when `dedupKey` matches. */
  enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string>;
  enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: EnqueueOptions): Promise<string>;
  enqueueMany<T>(queue: string, items: { data: T; opts?: EnqueueOptions }[]): Promise<string[]>;
  /** Pending jobs, delayed ones included. */
  queueLength(queue: string): Promise<number>;
  failedCount(queue: string): Promise<number>;
  getJob(queue: string, id: string): Promise<JobInfo | null>;
  listJobs(queue: string, q: ListJobsQuery): Promise<JobInfo[]>;
  /** failed → pending with attempts reset; false when the job is not failed or absent. */
  retryJob(queue: string, id: string): Promise<boolean>;
  deleteJob(queue: string, id: string): Promise<boolean>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): Worker;
}

/** Per-queue settings (config `[queues.queues.<name>]`). */
export interface QueueOptions {
  /** Default 3. */
  maxRetries?: number;
  /** Base of the exponential backoff: retry n waits retryDelayMs × 2^(n-1), with jitter. Default 1000. */
  retryDelayMs?: number;
  /** Handler time limit. Default 30_000. */
  timeoutMs?: number;
  /** At most `max` job starts per `perSeconds` seconds, across workers. Default: unlimited. */
  rateLimit?: { max: number; perSeconds: number };
}

/** Options every queue factory accepts. */
export interface QueueCommonOptions {
  /** Settings for queues not listed in `queues`. */
  queueDefaults?: QueueOptions;
  queues?: Record<string, QueueOptions>;
  /** Default worker concurrency. Default 1. */
  concurrency?: number;
  /** Lease of a taken job, renewed while the handler runs. Default 30_000. */
  visibilityTimeoutMs?: number;
}

export const DEFAULT_QUEUE_OPTIONS: Required<Omit<QueueOptions, 'rateLimit'>> = {
  maxRetries: 3,
  retryDelayMs: 1000,
  timeoutMs: 30_000,
};
