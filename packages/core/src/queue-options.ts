import type { EnqueueOptions, QueueCommonOptions, QueueOptions } from './contracts/queue';
import { DEFAULT_QUEUE_OPTIONS } from './contracts/queue';
import { ErrorCode, IntegrationError } from './errors';

export interface ResolvedQueueOptions {
  maxRetries: number;
  retryDelayMs: number;
  timeoutMs: number;
  rateLimit?: { max: number; perSeconds: number };
}

/** Settings of one queue: its own entry over `queueDefaults` over the built-in defaults. */
export function resolveQueueOptions(common: QueueCommonOptions, queue: string): ResolvedQueueOptions {
  const own: QueueOptions = common.queues?.[queue] ?? {};
  const defaults: QueueOptions = common.queueDefaults ?? {};
  const rateLimit = own.rateLimit ?? defaults.rateLimit;
  return {
    maxRetries: own.maxRetries ?? defaults.maxRetries ?? DEFAULT_QUEUE_OPTIONS.maxRetries,
    retryDelayMs: own.retryDelayMs ?? defaults.retryDelayMs ?? DEFAULT_QUEUE_OPTIONS.retryDelayMs,
    timeoutMs: own.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_QUEUE_OPTIONS.timeoutMs,
    ...(rateLimit ? { rateLimit } : {}),
  };
}

/**
 * Delay before retry number `attempt` (1-based): `base × 2^(attempt-1)`, with ±20% jitter so
 * jobs that failed together do not come back together. Capped at one day.
 */
export function retryBackoffMs(
  attempt: number,
  baseDelayMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(baseDelayMs * 2 ** Math.max(0, attempt - 1), 86_400_000);
  return Math.max(0, Math.round(exp * (0.8 + 0.4 * random())));
}

function badOption(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, message, field);
}

const MAX_PRIORITY = 2 ** 31 - 1;

/** Validates enqueue options (IN309), so no backend gets a NaN priority or a negative delay. */
export function assertEnqueueOptions(opts: EnqueueOptions | undefined): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object') throw badOption('Enqueue options must be an object', 'opts');
  const { priority, dedupKey, maxRetries, timeoutMs, delayMs } = opts;
  if (priority !== undefined && (!Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY)) {
    throw badOption(`priority must be an integer between ${-MAX_PRIORITY} and ${MAX_PRIORITY}`, 'priority');
  }
  if (
    dedupKey !== undefined &&
    (typeof dedupKey !== 'string' ||
      dedupKey.length === 0 ||
      dedupKey.length > 512 ||
      dedupKey.includes('\u0000'))
  ) {
    throw badOption('dedupKey must be a non-empty string of at most 512 characters, without NUL', 'dedupKey');
  }
  if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 1000)) {
    throw badOption('maxRetries must be an integer from 0 to 1000', 'maxRetries');
  }
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
  ) {
    throw badOption('timeoutMs must be a positive number of milliseconds', 'timeoutMs');
  }
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
    throw badOption('delayMs must be a non-negative number of milliseconds', 'delayMs');
  }
}

/** Validates a worker concurrency (IN309). */
export function assertConcurrency(concurrency: unknown): number {
  if (concurrency === undefined) return 1;
  if (!Number.isInteger(concurrency) || (concurrency as number) < 1 || (concurrency as number) > 1000) {
    throw badOption('concurrency must be an integer from 1 to 1000', 'concurrency');
  }
  return concurrency as number;
}

/** Largest job payload as JSON, in bytes, unless a provider is configured otherwise. */
export const DEFAULT_MAX_JOB_BYTES = 1024 * 1024;
