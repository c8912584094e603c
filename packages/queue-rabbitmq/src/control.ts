import type { ConsumeMessage } from 'amqplib';
import type { RabbitConnection } from './connection';
import type { Declarations } from './declarations';
import { rabbitError, unavailable } from './errors';
import { controlExchange, PAUSED_ARGS } from './topology';

const noop = () => {};

/** What the pause control needs to reach the workers of this process. */
export interface ControlledWorker {
  readonly queue: string;
  refresh(): Promise<void>;
}

/**
 * Pause across processes: the state is a persistent message in a queue's pause flag; a note on
 * the control fan-out makes every worker, here and elsewhere, re-read it at once.
 */
export class PauseControl {
  private control: { gen: number; closed: boolean; ready: Promise<void> } | undefined;

  constructor(
    private readonly conn: RabbitConnection,
    private readonly decl: Declarations,
    private readonly opts: { prefix: string; password?: string | undefined },
    private readonly workers: ReadonlySet<ControlledWorker>,
    private readonly isClosed: () => boolean,
  ) {}

  /** The connection dropped: the subscription went with it. */
  reset(): void {
    this.control = undefined;
  }

  async readPaused(queue: string): Promise<boolean> {
    const n = this.decl.names(queue);
    const reply = await this.conn.withOp(`reading the pause flag of "${queue}"`, (ch) =>
      ch.assertQueue(n.paused, PAUSED_ARGS),
    );
    return reply.messageCount > 0;
  }

  /** Tells every worker of `queue`, here and elsewhere, to re-read the pause flag. */
  async announce(queue: string): Promise<void> {
    const exchange = controlExchange(this.opts.prefix);
    await this.decl.ensureFanout(exchange);
    // Not mandatory: with no worker anywhere, nobody is bound and that is fine.
    await this.conn.publish(
      exchange,
      '',
      Buffer.from(JSON.stringify({ queue })),
      { contentType: 'application/json' },
      `announcing the pause state of "${queue}"`,
      undefined,
      false,
    );
    await Promise.all([...this.workers].filter((w) => w.queue === queue).map((w) => w.refresh()));
  }

  /**
   * Subscribes this connection to the control fan-out (an exclusive, auto-deleted queue), once
   * per connection; workers call it before they read the pause flag, so no note is missed.
   */
  async ensureControl(): Promise<void> {
    const link = this.conn.current();
    if (!link) throw unavailable('not connected');
    if (this.control && this.control.gen === link.gen && !this.control.closed) return this.control.ready;
    const exchange = controlExchange(this.opts.prefix);
    const state = { gen: link.gen, closed: false, ready: Promise.resolve() };
    state.ready = (async () => {
      const ch = await link.model.createChannel();
      ch.on('error', noop);
      ch.on('close', () => {
        state.closed = true;
        if (this.control !== state) return;
        this.control = undefined;
        // Only the channel died (the connection lives on): subscribe again and re-read.
        if (!this.isClosed() && this.conn.current() === link) for (const w of this.workers) void w.refresh();
      });
      try {
        await ch.assertExchange(exchange, 'fanout', { durable: true });
        const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        await ch.bindQueue(queue, exchange, '');
        await ch.consume(queue, (msg) => this.onControl(msg), { noAck: true });
      } catch (err) {
        await ch.close().catch(noop);
        throw err;
      }
    })();
    this.control = state;
    try {
      await state.ready;
    } catch (err) {
      if (this.control === state) this.control = undefined;
      throw rabbitError(err, 'subscribing to the control exchange', this.opts.password);
    }
  }

  private onControl(msg: ConsumeMessage | null): void {
    if (!msg) return;
    let queue: unknown;
    try {
      queue = JSON.parse(msg.content.toString('utf8')).queue;
    } catch {
      return;
    }
    for (const w of this.workers) if (w.queue === queue) void w.refresh();
  }
}
