import { type IntegrationError, isIntegrationError, isTransient, sleep } from '@fraiseql/core';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { decodeBody, flowHeaders } from './codec.ts';
import { amqpError } from './errors.ts';
import type { AmqpLink } from './link.ts';
import type { ResolvedAmqpOptions } from './options.ts';
import type { AmqpMessage, AmqpStats } from './types.ts';

const noop = () => {};

/** A handler failure that must not come back (a body the flow refuses as malformed). */
function permanentFailure(err: unknown): boolean {
  return (
    isIntegrationError(err) &&
    (err.kind === 'invalid_input' || err.kind === 'serialization') &&
    !isTransient(err.code)
  );
}

/**
 * One consumer of one queue on its own channel with `basic.qos(prefetch)`: at most `prefetch`
 * messages are unacknowledged at once, so a slow handler stops the broker from pushing more.
 * Acks after the handler resolved; a failed handler is nacked back to the queue after
 * `requeueDelayMs`; an undecodable body is rejected without requeue (to the queue's DLX if any).
 * After a reconnect the link's `connected` event makes it consume again on the new connection.
 */
export class Subscription {
  private ch: Channel | undefined;
  private consumerTag: string | undefined;
  private active = true;
  private pending = new Set<Promise<void>>();
  private retry: NodeJS.Timeout | undefined;
  private readonly onConnected = (m: ChannelModel) => void this.restart(m);

  constructor(
    private readonly link: AmqpLink,
    private readonly o: ResolvedAmqpOptions,
    private readonly stats: AmqpStats,
    readonly queue: string,
    private readonly handler: (msg: AmqpMessage) => Promise<void>,
  ) {}

  /** The first consume: its failure (a missing queue) is thrown to the caller. */
  async start(): Promise<void> {
    await this.consume(await this.link.connection(`subscribe to queue "${this.queue}"`));
    this.link.on('connected', this.onConnected);
  }

  private async restart(m: ChannelModel): Promise<void> {
    if (!this.active) return;
    try {
      await this.consume(m);
    } catch (err) {
      this.o.onError(
        amqpError(err, this.o.tag, `re-subscribe to queue "${this.queue}" failed`, this.o.secrets),
      );
      // The queue may come back (or a new connection will call us again): try again later.
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        this.link
          .connection('re-subscribe')
          .then((c) => this.restart(c))
          .catch(noop);
      }, this.o.reconnectMaxMs);
    }
  }

  private async consume(m: ChannelModel): Promise<void> {
    const what = `subscribe to queue "${this.queue}"`;
    let ch: Channel;
    try {
      ch = await m.createChannel();
    } catch (err) {
      throw amqpError(err, this.o.tag, `${what}: opening a channel failed`, this.o.secrets);
    }
    ch.on('error', noop);
    ch.on('close', () => {
      if (this.ch !== ch) return;
      this.ch = undefined;
      // Closed under a live connection (the queue was deleted): consume again later. A lost
      // connection is handled by the link's `connected` event instead.
      if (this.active && this.link.connected) {
        clearTimeout(this.retry);
        this.retry = setTimeout(
          () => void this.link.connection(what).then((c) => this.restart(c), noop),
          this.o.reconnectMaxMs,
        );
      }
    });
    try {
      await ch.prefetch(this.o.prefetch);
      const ok = await ch.consume(this.queue, (msg) => this.onMessage(ch, msg), { noAck: false });
      this.ch = ch;
      this.consumerTag = ok.consumerTag;
    } catch (err) {
      await ch.close().catch(noop);
      throw amqpError(err, this.o.tag, `${what} failed`, this.o.secrets);
    }
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) return; // consumer cancelled by the broker: the channel close handler takes over
    const s = this.stats;
    let body: unknown;
    try {
      body = decodeBody(msg.content, this.o.tag, `message on queue "${this.queue}"`);
    } catch (err) {
      safe(() => ch.nack(msg, false, false));
      s.rejected++;
      this.o.onError(err as IntegrationError);
      return;
    }
    s.inFlight++;
    if (s.inFlight > s.maxInFlight) s.maxInFlight = s.inFlight;
    const message: AmqpMessage = {
      body,
      headers: flowHeaders(msg.properties.headers, msg.fields.exchange, msg.fields.routingKey),
      ...(typeof msg.properties.messageId === 'string' ? { id: msg.properties.messageId } : {}),
    };
    const p = this.handle(ch, msg, message).finally(() => {
      s.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  private async handle(ch: Channel, msg: ConsumeMessage, message: AmqpMessage): Promise<void> {
    try {
      await this.handler(message);
    } catch (err) {
      const e = amqpError(err, this.o.tag, `handler for queue "${this.queue}" failed`, this.o.secrets);
      this.o.onError(e);
      if (permanentFailure(err)) {
        safe(() => ch.nack(msg, false, false));
        this.stats.rejected++;
        return;
      }
      // A short pause so a failing destination is not hit in a tight loop; the message keeps
      // its place in the prefetch window meanwhile (backpressure still holds).
      if (this.o.requeueDelayMs > 0) await sleep(this.o.requeueDelayMs);
      safe(() => ch.nack(msg, false, true));
      this.stats.requeued++;
      return;
    }
    // On a channel closed by a connection loss the ack is impossible: the broker has already
    // requeued the message and redelivers it (at least once).
    if (safe(() => ch.ack(msg))) this.stats.acked++;
  }

  /** Stops consuming, lets running handlers finish (their acks go through), closes the channel. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    clearTimeout(this.retry);
    this.link.off('connected', this.onConnected);
    const ch = this.ch;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(noop);
    await Promise.race([Promise.allSettled([...this.pending]), sleep(this.o.operationTimeoutMs)]);
    this.ch = undefined;
    await ch?.close().catch(noop);
  }
}

function safe(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
