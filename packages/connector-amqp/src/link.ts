import { EventEmitter } from 'node:events';
import { describeError, type IntegrationError, timeoutError, withTimeout } from '@fraiseql/core';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { amqpError, unavailable } from './errors.ts';
import type { ResolvedAmqpOptions } from './options.ts';

/** The confirm channel every publish goes through, with what its close told us. */
export interface PubChannel {
  ch: ConfirmChannel;
  closed: boolean;
  /** The channel error that closed it (a 404 for a missing exchange), when there was one. */
  error?: unknown;
  /** correlationIds of publishes the broker returned as unroutable; their confirm follows. */
  returned: Set<string>;
  /** Set while the socket buffer is full; publishes wait for `drain`. */
  drain?: Promise<void>;
}

const noop = () => {};

/**
 * Owns the AMQP connection: the first connect (a failure is thrown, so a bad URL fails the
 * factory), then reconnects with capped exponential backoff after any loss, re-declaring the
 * topology each time. Emits `connected(model)` after every (re)connect so subscriptions re-consume.
 * Calls made while disconnected wait for the next connection up to `operationTimeoutMs`, then fail
 * with IN502 — nothing waits forever.
 */
export class AmqpLink extends EventEmitter {
  private model: ChannelModel | undefined;
  private pub: PubChannel | undefined;
  private pubOpening: Promise<PubChannel> | undefined;
  private closing = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters = new Set<(m: ChannelModel | undefined) => void>();
  reconnects = 0;
  lastError: unknown;

  constructor(private readonly o: ResolvedAmqpOptions) {
    super();
    // Nobody has to listen: an unhandled 'error' event would crash the process.
    this.on('error', noop);
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  async open(): Promise<void> {
    const m = await this.dial();
    try {
      await this.declare(m);
    } catch (err) {
      await m.close().catch(noop);
      throw err;
    }
    this.attach(m);
  }

  private async dial(): Promise<ChannelModel> {
    try {
      const m = await withTimeout(
        connect(this.o.url, { clientProperties: { connection_name: this.o.connectionName } }),
        this.o.operationTimeoutMs,
        () => timeoutError('connect', this.o.operationTimeoutMs),
      );
      m.on('error', noop);
      return m;
    } catch (err) {
      throw amqpError(err, this.o.tag, 'connect failed', this.o.secrets);
    }
  }

  /** Exchanges, queues and bindings; asserting what exists with the same arguments is a no-op. */
  private async declare(m: ChannelModel): Promise<void> {
    const ch = await m.createChannel();
    ch.on('error', noop);
    const step = async (what: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        throw amqpError(err, this.o.tag, `declare ${what} failed`, this.o.secrets);
      }
    };
    for (const e of this.o.exchanges)
      await step(`exchange "${e.name}"`, () => ch.assertExchange(e.name, e.type, { durable: e.durable }));
    for (const q of this.o.queues) {
      const args = q.deadLetterExchange ? { deadLetterExchange: q.deadLetterExchange } : {};
      await step(`queue "${q.name}"`, () => ch.assertQueue(q.name, { durable: q.durable, ...args }));
      for (const b of q.bindings)
        await step(`binding "${q.name}" ← "${b.exchange}" (${JSON.stringify(b.routingKey)})`, () =>
          ch.bindQueue(q.name, b.exchange, b.routingKey ?? ''),
        );
    }
    await ch.close().catch(noop);
  }

  private attach(m: ChannelModel): void {
    this.model = m;
    this.attempt = 0;
    m.on('close', (err?: unknown) => this.lost(m, err));
    for (const w of this.waiters) w(m);
    this.waiters.clear();
    this.emit('connected', m);
  }

  private lost(m: ChannelModel, err: unknown): void {
    if (this.model !== m) return;
    this.model = undefined;
    this.pub = undefined;
    this.pubOpening = undefined;
    if (this.closing) return;
    this.lastError = err ?? new Error('connection closed');
    this.o.onError(amqpError(this.lastError, this.o.tag, 'connection lost, reconnecting', this.o.secrets));
    this.emit('disconnected');
    this.schedule();
  }

  private schedule(): void {
    const delay = Math.min(this.o.reconnectMaxMs, this.o.reconnectInitialMs * 2 ** this.attempt++);
    this.timer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.timer = undefined;
    if (this.closing) return;
    let m: ChannelModel | undefined;
    try {
      m = await this.dial();
      await this.declare(m);
    } catch (err) {
      await m?.close().catch(noop);
      this.lastError = err;
      if (!this.closing) this.schedule();
      return;
    }
    if (this.closing) {
      await m.close().catch(noop);
      return;
    }
    this.reconnects++;
    this.attach(m);
  }

  /** The live connection, waiting for a reconnect up to `operationTimeoutMs`. */
  async connection(what: string): Promise<ChannelModel> {
    if (this.model) return this.model;
    if (this.closing) throw unavailable(this.o.tag, `${what}: the connector is closed`);
    let waiter: ((m: ChannelModel | undefined) => void) | undefined;
    const got = new Promise<ChannelModel | undefined>((resolve) => {
      waiter = resolve;
      this.waiters.add(resolve);
    });
    try {
      const m = await withTimeout(got, this.o.operationTimeoutMs, () =>
        this.notConnected(what, `no connection within ${this.o.operationTimeoutMs} ms`),
      );
      if (!m) throw unavailable(this.o.tag, `${what}: the connector is closed`);
      return m;
    } finally {
      if (waiter) this.waiters.delete(waiter);
    }
  }

  private notConnected(what: string, why: string): IntegrationError {
    const last =
      this.lastError === undefined ? '' : `; last error: ${describeError(this.lastError, this.o.secrets)}`;
    return unavailable(this.o.tag, `${what}: ${why}${last}`);
  }

  /** The open confirm channel, if there is one (the fast path of a publish: no await). */
  get openPub(): PubChannel | undefined {
    return this.pub && !this.pub.closed ? this.pub : undefined;
  }

  /** The shared confirm channel, reopened after a channel error closed it. */
  async confirmChannel(what: string): Promise<PubChannel> {
    if (this.pub && !this.pub.closed) return this.pub;
    this.pubOpening ??= (async () => {
      const m = await this.connection(what);
      let ch: ConfirmChannel;
      try {
        ch = await m.createConfirmChannel();
      } catch (err) {
        throw amqpError(err, this.o.tag, `${what}: opening a channel failed`, this.o.secrets);
      }
      const p: PubChannel = { ch, closed: false, returned: new Set() };
      ch.on('error', (err: unknown) => {
        p.error = err;
      });
      ch.on('close', () => {
        p.closed = true;
        // Publishes waiting for `drain` go on and fail on the closed channel.
        ch.emit('drain');
        if (this.pub === p) this.pub = undefined;
      });
      ch.on('return', (msg: { properties: { correlationId?: string } }) => {
        if (msg.properties.correlationId) p.returned.add(msg.properties.correlationId);
      });
      if (this.model === m) this.pub = p;
      return p;
    })().finally(() => {
      this.pubOpening = undefined;
    });
    return this.pubOpening;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    for (const w of this.waiters) w(undefined);
    this.waiters.clear();
    const m = this.model;
    this.model = undefined;
    this.pub = undefined;
    await m?.close().catch(noop);
  }
}
