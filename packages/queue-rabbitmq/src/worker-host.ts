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
  /** Acks of this channel's deliveries, sent together (see {@link AckBatcher}). */
  acks: AckBatcher;
}

/**
 * Acks the deliveries of one channel in as few frames as it may: acks requested within one turn
 * of the event loop go out together once it ends, as one `basic.ack` with `multiple` for the
 * longest run of finished deliveries at the head of the channel's unsettled ones, and one
 * `basic.ack` each for finished deliveries behind a delivery that is still running (never held
 * back: an unacked delivery counts against the prefetch and would be run again after a crash).
 *
 * Why: a worker of no-op jobs sent one ack frame per job, and the broker, on the same cores,
 * spent its time on them. `multiple` acks only what this channel was delivered with a lower tag;
 * every one of those is finished (acked here) or already settled (nacked), so nothing still
 * running is acked by it.
 */
export class AckBatcher {
  /** Unsettled deliveries by tag, in delivery order: the message once it may be acked, else null. */
  private readonly open = new Map<number, ConsumeMessage | null>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly ch: Channel) {}

  /** A delivery arrived on the channel (call before it can be acked or nacked). */
  delivered(msg: ConsumeMessage): void {
    this.open.set(msg.fields.deliveryTag, null);
  }

  /** Acks `msg` at the end of this turn of the event loop (at once if it was not registered). */
  ack(msg: ConsumeMessage): void {
    const tag = msg.fields.deliveryTag;
    if (!this.open.has(tag)) {
      this.ch.ack(msg);
      return;
    }
    this.open.set(tag, msg);
    this.scheduled ??= setImmediate(this.flushNow);
  }

  /** Nacks (requeues) `msg` now; it no longer holds back the acks behind it. */
  nack(msg: ConsumeMessage): void {
    this.open.delete(msg.fields.deliveryTag);
    this.ch.nack(msg, false, true);
  }

  /** The channel is gone: the broker requeued every unsettled delivery, nothing is sent. */
  drop(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.open.clear();
  }

  /** Sends the pending acks now (before the channel is closed, so they are not requeued). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    let head: ConsumeMessage | undefined;
    for (const [tag, msg] of this.open) {
      if (msg === null) break;
      head = msg;
      this.open.delete(tag);
    }
    if (head) this.ch.ack(head, true);
    for (const [tag, msg] of this.open) {
      if (msg === null) continue;
      this.open.delete(tag);
      this.ch.ack(msg);
    }
  }

  private readonly flushNow = (): void => {
    try {
      this.flush();
    } catch {
      // The channel closed meanwhile (IllegalOperationError): the broker requeues the deliveries.
      this.drop();
    }
  };
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
          wch.acks.nack(msg);
        } catch {
          // The channel closed meanwhile: RabbitMQ requeues the delivery anyway.
        }
      }
      return false;
    }
  }
  return ackDelivery(wch, msg);
}

/** Acks the delivery (see {@link AckBatcher}); false when its channel is gone. */
export function ackDelivery(wch: WorkerChannel, msg: ConsumeMessage): boolean {
  // Closed after the confirm: the delivery comes back as well — a duplicate, never a loss.
  if (wch.closed) return false;
  try {
    wch.acks.ack(msg);
    return true;
  } catch {
    return false;
  }
}
