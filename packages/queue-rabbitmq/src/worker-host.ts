import type { Channel, ConsumeMessage } from 'amqplib';
import type { Envelope } from './envelope';
import type { RabbitWorker } from './worker';

/** What a worker needs from its provider. */
export interface WorkerHost {
  readonly shutdownTimeoutMs: number;
  readonly operationTimeoutMs: number;
  /** The live connection's generation and model, if connected. */
  currentLink(): { gen: number; model: { createChannel(): Promise<Channel> } } | undefined;
  jobsQueueName(queue: string): string;
  ensureQueue(queue: string): Promise<void>;
  ensureControl(): Promise<void>;
  readPaused(queue: string): Promise<boolean>;
  /** Publishes a job where it belongs now (jobs queue or a delay rung), confirmed. */
  send(env: Envelope, what: string): Promise<void>;
  /** Publishes a job to the dead-letter queue, confirmed. */
  sendToDlq(env: Envelope, what: string): Promise<void>;
  /** Publishes an unreadable message body to the dead-letter queue as it is, confirmed. */
  quarantine(queue: string, msg: ConsumeMessage, reason: string): Promise<void>;
  /** The queue vanished under a consumer: forget that it was declared. */
  forgetQueue(queue: string): void;
  unregister(worker: RabbitWorker<any>): void;
}

/** A worker's channel on one connection generation. */
export interface WorkerChannel {
  ch: Channel;
  gen: number;
  closed: boolean;
  consumerTag?: string;
}

/** One delivery being run. */
export interface Running {
  env: Envelope;
  msg: ConsumeMessage;
  wch: WorkerChannel;
  controller: AbortController;
  /** Resolves when the handler has returned or thrown (it may outlive a timeout). */
  handlerDone: Promise<void>;
  /** Resolves when the outcome is recorded (or abandoned): the delivery is no longer ours. */
  done: Promise<void>;
  /** Set when `close()` handed the job back; the handler's late result is then ignored. */
  released: boolean;
  /** Set once the outcome is being recorded, so `close()` does not hand it back as well. */
  finishing: boolean;
}

/**
 * Publishes the job's next state (if any), waits for the confirm, then acks the delivery.
 * False when the outcome could not be recorded: the delivery then goes back to the queue, and
 * `onError` hears why.
 */
export async function recordDelivery(
  wch: WorkerChannel,
  msg: ConsumeMessage,
  publish: (() => Promise<void>) | undefined,
  onError: (err: unknown) => void,
): Promise<boolean> {
  if (wch.closed) return false;
  if (publish) {
    try {
      await publish();
    } catch (err) {
      onError(err);
      if (!wch.closed) {
        try {
          wch.ch.nack(msg, false, true);
        } catch {
          // The channel closed meanwhile: RabbitMQ requeues the delivery anyway.
        }
      }
      return false;
    }
  }
  // Closed after the confirm: the delivery comes back as well — a duplicate, never a loss.
  if (wch.closed) return false;
  try {
    wch.ch.ack(msg);
    return true;
  } catch {
    return false;
  }
}
