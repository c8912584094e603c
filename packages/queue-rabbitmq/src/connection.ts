import { EventEmitter } from 'node:events';
import type { IntegrationError } from '@fraiseql/core';
import { withTimeout } from '@fraiseql/core';
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type Options } from 'amqplib';
import { Deadlines } from './deadlines';
import { amqpCode, rabbitError, timedOut, unavailable } from './errors';
import { connectUrl, type ResolvedRabbitOptions } from './options';

/** One live AMQP connection; `gen` grows with every reconnect, so stale channels are recognisable. */
export interface Link {
  readonly model: ChannelModel;
  readonly gen: number;
}

export interface PubChannel {
  ch: ConfirmChannel;
  gen: number;
  closed: boolean;
  /** Publishes whose basic.return has arrived (by correlationId); their confirm follows. */
  returned: Set<string>;
  /** Set while the socket buffer is full; publishes wait for it. */
  drain?: Promise<void>;
}

interface OpChannel {
  ch: Channel;
  gen: number;
}

type PublishOutcome = 'ok' | 'returned' | 'lost' | 'nacked';

const noop = () => {};

/**
 * Owns the AMQP connection: the first connect, reconnects with capped exponential backoff after
 * any loss, and two shared channels on the live connection — a confirm channel for every publish
 * and a plain one for declares and counts. Emits `connected(link)` after every (re)connect and
 * `disconnected(error)` after every loss, so workers can re-create their channels and consumers.
 *
 * Calls made while disconnected wait for the next connection up to `operationTimeoutMs`, then
 * fail with IN502 — nothing waits forever, and nothing is reported published without a confirm.
 */
export class RabbitConnection extends EventEmitter {
  private link: Link | undefined;
  private gen = 0;
  private closing = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters = new Set<{ resolve: (l: Link) => void; reject: (e: unknown) => void }>();
  private pub: PubChannel | undefined;
  private pubOpening: Promise<PubChannel> | undefined;
  private op: OpChannel | undefined;
  private opOpening: Promise<OpChannel> | undefined;
  private seq = 0;
  /** Deadlines of the publishes waiting for their confirm. */
  private readonly deadlines = new Deadlines();
  private blocked = false;
  /** The reason of the last loss or failed reconnect, for error messages. */
  lastError: unknown;

  constructor(readonly opts: ResolvedRabbitOptions) {
    super();
    // Nobody has to listen for these; an unhandled 'error' event would crash the process.
    this.on('error', noop);
  }

  /** The first connection; a failure is thrown (no retry), so a bad URL fails the factory. */
  async open(): Promise<void> {
    try {
      this.attach(await this.dial());
    } catch (err) {
      throw this.connectError(err);
    }
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  current(): Link | undefined {
    return this.link;
  }

  /** The live connection, waiting for a reconnect until `deadline` (epoch ms). */
  ready(deadline: number, what: string): Promise<Link> {
    if (this.link) return Promise.resolve(this.link);
    if (this.closing) return Promise.reject(unavailable(`${what}: the provider is closed`));
    return new Promise<Link>((resolve, reject) => {
      const waiter = {
        resolve: (l: Link) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(
        () => {
          this.waiters.delete(waiter);
          reject(
            unavailable(
              `${what}: no connection to ${this.opts.safeUrl} (reconnecting; last error: ${this.describeLast()})`,
              this.lastError,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiters.add(waiter);
    });
  }

  /**
   * Publishes one message and resolves once the broker has confirmed it. Messages are published
   * `mandatory`: an unroutable one (its queue was deleted) comes back, `onReturned` re-declares
   * and it is sent once more. A connection lost before the confirm means "maybe published": it is
   * sent again on the next connection (a possible duplicate, never a loss).
   */
  async publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    props: Options.Publish,
    what: string,
    onReturned?: () => Promise<void>,
    mandatory = true,
  ): Promise<void> {
    const deadline = Date.now() + this.opts.operationTimeoutMs;
    // Job messages come with `mandatory` set already: no copy of their properties per publish.
    const publishProps = props.mandatory === mandatory ? props : { ...props, mandatory };
    let returns = 0;
    for (;;) {
      // The open channel as it is (the common case), without a trip through a promise.
      const pub = this.openPub() ?? (await this.acquirePub(deadline, what));
      if (pub === undefined) continue;
      const outcome = await this.publishOnce(pub, exchange, routingKey, body, publishProps, deadline, what);
      if (outcome === 'ok') return;
      if (outcome === 'nacked') {
        throw rabbitError(new Error('the broker refused the message (basic.nack)'), what, this.opts.password);
      }
      if (outcome === 'returned') {
        if (returns++ > 0 || !onReturned) {
          throw rabbitError(
            new Error(`no queue is bound to ${exchange || '(default exchange)'} "${routingKey}"`),
            what,
          );
        }
        await onReturned();
      }
      if (Date.now() >= deadline)
        throw timedOut(`${what}: not confirmed within ${this.opts.operationTimeoutMs} ms`);
    }
  }

  /** The publish channel of the live connection when it is open, else undefined. @internal */
  openPub(): PubChannel | undefined {
    const open = this.pub;
    return open && this.link && open.gen === this.link.gen && !open.closed ? open : undefined;
  }

  /**
   * The publish channel of the live connection, waiting for a reconnect until `deadline`;
   * `undefined` when the connection changed meanwhile (ask again). @internal
   */
  async acquirePub(deadline: number, what: string): Promise<PubChannel | undefined> {
    const link = await this.ready(deadline, what);
    // The open channel as it is (the common case); a timer only while one is being opened.
    const open = this.pub;
    if (open && open.gen === link.gen && !open.closed) return open;
    try {
      return await withTimeout(this.pubChannel(link), deadline - Date.now(), () =>
        timedOut(`${what}: opening a channel took longer than ${this.opts.operationTimeoutMs} ms`),
      );
    } catch (err) {
      if (this.link !== link && Date.now() < deadline) return undefined;
      throw rabbitError(err, what, this.opts.password);
    }
  }

  /** Deadlines of the publishes waiting for their confirm (one timer for all). @internal */
  get confirmDeadlines(): Deadlines {
    return this.deadlines;
  }

  /** How long a publish may wait for its confirm. @internal */
  get operationTimeoutMs(): number {
    return this.opts.operationTimeoutMs;
  }

  /** The password to mask in error messages. @internal */
  get password(): string | undefined {
    return this.opts.password;
  }

  private publishOnce(
    pub: PubChannel,
    exchange: string,
    routingKey: string,
    body: Buffer,
    props: Options.Publish,
    deadline: number,
    what: string,
  ): Promise<PublishOutcome> {
    if (pub.drain) {
      return withTimeout(pub.drain, deadline - Date.now(), () =>
        timedOut(`${what}: the connection stayed congested for ${this.opts.operationTimeoutMs} ms`),
      ).then(() => this.publishNow(pub, exchange, routingKey, body, props, deadline, what));
    }
    return this.publishNow(pub, exchange, routingKey, body, props, deadline, what);
  }

  private publishNow(
    pub: PubChannel,
    exchange: string,
    routingKey: string,
    body: Buffer,
    props: Options.Publish,
    deadline: number,
    what: string,
  ): Promise<PublishOutcome> {
    if (pub.closed) return Promise.resolve('lost');
    // The token that matches a basic.return to its publish: the message id when there is one (a
    // job's), so no extra property goes on the wire; a counter otherwise.
    let token = props.messageId;
    let publishProps = props;
    if (typeof token !== 'string') {
      token = String(++this.seq);
      publishProps = { ...props, correlationId: token };
    }
    return new Promise<PublishOutcome>((resolve, reject) => {
      // One timer for every pending confirm (see Deadlines), not one per publish.
      const done = this.deadlines.add(deadline, () =>
        reject(
          timedOut(
            `${what}: no publisher confirm within ${this.opts.operationTimeoutMs} ms${this.blocked ? ' (the broker is blocking publishers: resource alarm)' : ''}`,
          ),
        ),
      );
      try {
        const ok = pub.ch.publish(exchange, routingKey, body, publishProps, (err: unknown) => {
          done();
          const returned = pub.returned.delete(token);
          // amqplib fails pending confirms with 'channel closed' from its own close handler,
          // which runs before ours: only its 'message nacked' is a refusal by the broker.
          if (err) resolve((err as Error)?.message === 'message nacked' ? 'nacked' : 'lost');
          else resolve(returned ? 'returned' : 'ok');
        });
        if (!ok && !pub.drain) {
          pub.drain = new Promise<void>((r) => {
            const drained = () => {
              pub.ch.off('drain', drained);
              pub.ch.off('close', drained);
              pub.drain = undefined;
              r();
            };
            pub.ch.on('drain', drained);
            pub.ch.on('close', drained);
          });
        }
      } catch {
        // The channel was already closing (IllegalOperationError): nothing was sent.
        done();
        resolve('lost');
      }
    });
  }

  /**
   * Runs `fn` on the shared operations channel, waiting for a connection first. A connection lost
   * mid-call retries it on the next one (declares and counts are idempotent) until the deadline.
   */
  async withOp<T>(what: string, fn: (ch: Channel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opts.operationTimeoutMs;
    for (;;) {
      const link = await this.ready(deadline, what);
      try {
        const op = await this.opChannel(link);
        return await withTimeout(fn(op.ch), deadline - Date.now(), () =>
          timedOut(`${what}: no answer within ${this.opts.operationTimeoutMs} ms`),
        );
      } catch (err) {
        if (this.link !== link && !this.closing && Date.now() < deadline) continue;
        throw rabbitError(err, what, this.opts.password);
      }
    }
  }

  /**
   * Runs `fn` on a channel of its own, closed afterwards: for calls that may kill their channel
   * (a passive declare of a missing queue is a 404 channel error) or that must hold unacked
   * messages (peeking the dead-letter queue; closing the channel requeues them).
   */
  async withTempChannel<T>(what: string, fn: (ch: Channel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opts.operationTimeoutMs;
    for (;;) {
      const link = await this.ready(deadline, what);
      let ch: Channel | undefined;
      try {
        ch = await link.model.createChannel();
        ch.on('error', noop);
        return await withTimeout(fn(ch), deadline - Date.now(), () =>
          timedOut(`${what}: no answer within ${this.opts.operationTimeoutMs} ms`),
        );
      } catch (err) {
        if (this.link !== link && !this.closing && Date.now() < deadline) continue;
        throw rabbitError(err, what, this.opts.password);
      } finally {
        // Awaited: closing is what returns unacked messages (a peek's) to their queue, and the
        // caller's next read must see them back.
        // Bounded: a broker that stopped answering must not hang the caller here.
        if (ch) {
          await withTimeout(ch.close(), 2000, () => new Error('closing the channel timed out')).catch(noop);
        }
      }
    }
  }

  /** True when `err` is a 404 NOT_FOUND channel error (a passive declare of a missing queue). */
  static isNotFound(err: unknown): boolean {
    let e: any = err;
    for (let i = 0; e && i < 3; i++, e = e.cause) if (amqpCode(e) === 404) return true;
    return false;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w.reject(unavailable('the provider is closed'));
    this.waiters.clear();
    const link = this.link;
    this.link = undefined;
    this.pub = undefined;
    this.op = undefined;
    if (link) await link.model.close().catch(noop);
  }

  // ------------------------------------------------------------------ internals

  private dial(): Promise<ChannelModel> {
    return connect(connectUrl(this.opts), {
      timeout: this.opts.connectTimeoutMs,
      // Without it Nagle + delayed ACKs hold every ~50th confirm or delivery for ~40 ms (p99).
      noDelay: true,
      clientProperties: { connection_name: this.opts.connectionName },
    });
  }

  private connectError(err: unknown): IntegrationError {
    const msg = err instanceof Error ? err.message : String(err);
    if (/ETIMEDOUT/.test(msg)) {
      return timedOut(`cannot connect to ${this.opts.safeUrl} within ${this.opts.connectTimeoutMs} ms`);
    }
    return rabbitError(err, `cannot connect to ${this.opts.safeUrl}`, this.opts.password);
  }

  private describeLast(): string {
    const e = this.lastError;
    if (e === undefined) return 'none';
    return this.connectError(e).message;
  }

  private attach(model: ChannelModel): void {
    const link: Link = { model, gen: ++this.gen };
    this.link = link;
    this.blocked = false;
    model.on('error', (err: Error) => {
      this.lastError = err;
    });
    model.on('close', (err?: Error) => this.lost(link, err));
    model.on('blocked', () => {
      this.blocked = true;
    });
    model.on('unblocked', () => {
      this.blocked = false;
    });
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.resolve(link);
    this.emit('connected', link);
  }

  private lost(link: Link, err: Error | undefined): void {
    if (this.link !== link) return;
    this.link = undefined;
    this.pub = undefined;
    this.pubOpening = undefined;
    this.op = undefined;
    this.opOpening = undefined;
    if (this.closing) return;
    this.lastError = err ?? new Error('connection closed');
    this.emit('disconnected', this.lastError);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing || this.timer) return;
    const { reconnectInitialDelayMs: first, reconnectMaxDelayMs: cap } = this.opts;
    const base = Math.min(cap, first * 2 ** Math.min(this.attempt, 30));
    const delay = Math.min(cap, Math.round(base * (0.8 + 0.4 * Math.random())));
    this.attempt++;
    this.timer = setTimeout(async () => {
      let model: ChannelModel;
      try {
        model = await this.dial();
      } catch (err) {
        this.timer = undefined;
        this.lastError = err;
        this.scheduleReconnect();
        return;
      }
      this.timer = undefined;
      if (this.closing) {
        await model.close().catch(noop);
        return;
      }
      this.attempt = 0;
      this.attach(model);
    }, delay);
  }

  private pubChannel(link: Link): Promise<PubChannel> {
    if (this.pub && this.pub.gen === link.gen && !this.pub.closed) return Promise.resolve(this.pub);
    this.pubOpening ??= (async () => {
      try {
        const ch = await link.model.createConfirmChannel();
        const pub: PubChannel = { ch, gen: link.gen, closed: false, returned: new Set() };
        ch.on('error', noop);
        ch.on('return', (msg) => {
          // The token publishOnce matched it by: the correlation id it added, else the message id.
          const token = msg.properties.correlationId ?? msg.properties.messageId;
          if (typeof token === 'string') pub.returned.add(token);
        });
        ch.on('close', () => {
          pub.closed = true;
          if (this.pub === pub) this.pub = undefined;
        });
        if (this.link === link) this.pub = pub;
        return pub;
      } finally {
        this.pubOpening = undefined;
      }
    })();
    return this.pubOpening;
  }

  private async opChannel(link: Link): Promise<OpChannel> {
    if (this.op && this.op.gen === link.gen) return this.op;
    this.opOpening ??= (async () => {
      try {
        const ch = await link.model.createChannel();
        const op: OpChannel = { ch, gen: link.gen };
        ch.on('error', noop);
        ch.on('close', () => {
          if (this.op === op) this.op = undefined;
        });
        if (this.link === link) this.op = op;
        return op;
      } finally {
        this.opOpening = undefined;
      }
    })();
    return this.opOpening;
  }
}
