import {
  assertEnqueueOptions,
  type EnqueueOptions,
  ErrorCode,
  resolveQueueOptions,
  toJson,
} from '@fraiseql/core';
import type { Envelope } from './envelope';
import { invalidArgument, unsupported } from './errors';
import { uuidV7 } from './ids';
import { maxPriorityOf, type ResolvedRabbitOptions } from './options';

/**
 * Publishes of one `enqueueMany` in flight at once: a caller's batch of up to 1000 goes out whole
 * and waits for its confirms once (amqplib buffers 1024 frames per channel before it asks for a
 * drain), instead of two half-batches each waiting a confirm round trip.
 */
export const PUBLISH_BATCH = 1000;

/**
 * Checks every item and builds its envelope (plus its data as JSON, validated and sized), before
 * anything is published: one bad item enqueues nothing. `queue` must be a valid name already.
 */
export function prepareJobs(
  opts: ResolvedRabbitOptions,
  queue: string,
  items: { data: unknown; opts?: EnqueueOptions | undefined }[],
): { env: Envelope; dataJson: string }[] {
  const queueOpts = resolveQueueOptions(opts.common, queue);
  const levels = maxPriorityOf(opts, queue);
  const now = Date.now();
  return items.map((item, i) => {
    if (item === null || typeof item !== 'object') {
      throw invalidArgument(`item ${i} must be an object { data, opts? }`, 'items');
    }
    const o = item.opts;
    assertEnqueueOptions(o);
    if (o?.dedupKey !== undefined) {
      throw unsupported(
        'dedupKey',
        'RabbitMQ cannot look up pending or running messages by key (capabilities.dedup is false)',
      );
    }
    if (levels === 0 && o?.priority !== undefined && Math.trunc(o.priority) !== 0) {
      throw unsupported(
        'priority',
        `queue "${queue}" has maxPriority 0 (a plain queue without priority levels); set its maxPriority to use priorities`,
      );
    }
    const dataJson = toJson(item.data, ErrorCode.InvalidJobData, 'Job data', opts.maxJobBytes);
    const delayMs = o?.delayMs ?? 0;
    const env: Envelope = {
      v: 1,
      // Version 7: the id carries `createdAt` (the message needs no property for it).
      id: uuidV7(now),
      queue,
      data: undefined,
      attempts: 0,
      failures: 0,
      lost: 0,
      maxRetries: o?.maxRetries ?? queueOpts.maxRetries,
      priority: o?.priority ?? 0,
      createdAt: now,
      runAt: now + delayMs,
    };
    if (o?.timeoutMs !== undefined) env.timeoutMs = o.timeoutMs;
    if (delayMs > 0) env.delayMs = delayMs;
    return { env, dataJson };
  });
}
