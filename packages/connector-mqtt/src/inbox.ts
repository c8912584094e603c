import type { IPublishPacket, MqttClient } from 'mqtt';

/**
 * The parts of mqtt.js used to acknowledge a message late. mqtt.js v5 has no public manual-ack
 * API: it sends PUBACK/PUBCOMP from the callback of `handleMessage`, and its packet pump waits for
 * that callback — so waiting there for a slow flow would also stop the PUBACKs of our own
 * publishes (a handler publishing with QoS 1 would wait forever). Instead the callback is called
 * at once with a "skip" error (no ack is sent) and the ack is sent here once the handler resolved.
 * The connector tests fail if a later mqtt.js changes these internals.
 */
interface AckInternals {
  _sendPacket(packet: { cmd: 'puback' | 'pubcomp'; messageId: number }, cb?: () => void): void;
  _releaseIncomingQoS2Publish?(messageId: number): void;
  incomingStore: { del(packet: { messageId?: number }, cb: () => void): void };
}

/** Returned to mqtt.js's `handleMessage` callback: it then sends no ack and goes on. */
const SKIP_ACK = new Error('acknowledged later by @fraiseql/connector-mqtt');

interface Task {
  packet: IPublishPacket;
  gen: number;
}

/** QoS 0 messages queued beyond this make the pump wait (TCP backpressure). */
const QOS0_HIGH_WATER = 1000;

/**
 * Incoming messages: queued in arrival order and run `concurrency` at a time; each QoS 1/2 message
 * is acknowledged after `run` resolved, on the connection it arrived on (after a reconnect the
 * broker redelivers what was not acknowledged — an ack meant for the old connection could hit
 * another message with the same packet id on the new one, so it is not sent).
 *
 * QoS 1/2 messages are bounded by the broker's in-flight window (it sends no more than that many
 * unacknowledged ones); QoS 0 ones by `QOS0_HIGH_WATER`, past which the pump waits.
 */
export class Inbox {
  private queue: Task[] = [];
  private running = 0;
  private waiting: (() => void)[] = [];
  gen = 0;
  closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly concurrency: number,
    private readonly run: (packet: IPublishPacket) => Promise<void>,
  ) {
    client.handleMessage = (packet, callback) => this.accept(packet, callback);
  }

  private accept(packet: IPublishPacket, callback: (err?: Error) => void): void {
    if (this.closed) {
      callback(SKIP_ACK);
      return;
    }
    this.queue.push({ packet, gen: this.gen });
    this.pump();
    if (packet.qos > 0) callback(SKIP_ACK);
    else if (this.queue.length < QOS0_HIGH_WATER) callback();
    else this.waiting.push(() => callback());
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const task = this.queue.shift() as Task;
      this.running++;
      this.run(task.packet)
        .then(
          () => this.ack(task),
          () => {}, // not acknowledged: the broker redelivers it after a reconnect
        )
        .finally(() => {
          this.running--;
          if (this.queue.length < QOS0_HIGH_WATER) for (const w of this.waiting.splice(0)) w();
          if (!this.closed) this.pump();
        });
    }
  }

  private ack(task: Task): void {
    const { packet } = task;
    if (packet.qos === 0 || task.gen !== this.gen || this.closed || packet.messageId === undefined) return;
    const c = this.client as unknown as AckInternals;
    const messageId = packet.messageId;
    if (packet.qos === 1) {
      c._sendPacket({ cmd: 'puback', messageId });
      return;
    }
    c.incomingStore.del(packet, () => {});
    c._releaseIncomingQoS2Publish?.(messageId);
    c._sendPacket({ cmd: 'pubcomp', messageId });
  }

  /** A new connection: acks of messages from the old one are no longer sent. */
  reconnected(): void {
    // Queued messages of the old connection still run (the broker may have lost its session with
    // them); only their acks are skipped.
    this.gen++;
  }

  /** Messages queued or running. */
  get size(): number {
    return this.queue.length + this.running;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    for (const w of this.waiting.splice(0)) w();
  }
}
