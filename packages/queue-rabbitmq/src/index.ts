import { type RabbitQueueOptions, resolveOptions } from './options';
import { RabbitQueueProvider } from './provider';

export type { Envelope } from './envelope';
export { JOB_TYPE } from './message';
export type { RabbitQueueOptions, RabbitQueueSettings } from './options';
export type { RabbitQueueProvider } from './provider';
export {
  DEFAULT_MAX_PRIORITY,
  delayTolerance,
  LEGACY_MAX_PRIORITY,
  MAX_PRIORITY_LEVEL,
  nextRung,
  priorityLevel,
  type QueueNames,
  queueNames,
  RUNGS_MS,
} from './topology';
export type { RabbitWorker } from './worker';

/**
 * A QueueProvider on RabbitMQ (amqplib): durable queues, persistent messages, publisher
 * confirms, manual acks, `prefetch = concurrency`, a dead-letter queue per queue, delays and
 * retry backoff through TTL "rung" queues (no broker plugin), priorities through
 * `x-max-priority`, pause across processes, and reconnects after any connection loss.
 *
 * Connects before it resolves; an unreachable broker or a refused login fails here (IN501/IN500,
 * IN404), with the URL's password masked.
 *
 * ```ts
 * const queue = await createRabbitQueue({ url: 'amqp://guest:guest@localhost:5672', concurrency: 5 });
 * await queue.enqueue('emails', { to: 'a@example.com' }, { priority: 5 });
 * queue.process('emails', async (job) => send(job.data));
 * ```
 */
export async function createRabbitQueue(opts: RabbitQueueOptions): Promise<RabbitQueueProvider> {
  const provider = new RabbitQueueProvider(resolveOptions(opts));
  await provider.connect();
  return provider;
}
