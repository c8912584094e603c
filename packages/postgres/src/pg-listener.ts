import type { Notification, Pool, PoolClient } from 'pg';
import { postgresError } from './errors.ts';
import { quoteChannel } from './identifiers.ts';
import { deliver, Serial } from './util.ts';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

export interface Subscription {
  onPayload: (payload: string) => void;
  onReconnect: (() => void) | undefined;
}

/**
 * One pooled connection that carries every LISTEN of a client. When it dies (server restart,
 * `pg_terminate_backend`, network loss) it is replaced with jittered backoff and every channel is
 * LISTENed again; subscribers' `onReconnect` then tells them notifications may have been missed.
 */
export class PgListener {
  readonly #pool: Pool;
  readonly #wrap: (err: unknown, context: string) => Error;
  readonly #channels = new Map<string, Set<Subscription>>();
  readonly #serial = new Serial();
  #client: PoolClient | undefined;
  #detach: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;
  #closed = false;

  constructor(pool: Pool, wrap: (err: unknown, context: string) => Error) {
    this.#pool = pool;
    this.#wrap = wrap;
  }

  add(channel: string, sub: Subscription): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) throw postgresError('SqlClient is closed');
      let subs = this.#channels.get(channel);
      const first = !subs;
      if (!subs) {
        subs = new Set();
        this.#channels.set(channel, subs);
      }
      subs.add(sub);
      if (!first && this.#client) return;
      try {
        if (this.#client) await this.#client.query(`LISTEN ${quoteChannel(channel)}`);
        else {
          // Connect now rather than wait for a scheduled retry: the caller waits for an active LISTEN.
          this.#clearTimer();
          await this.#connect();
        }
      } catch (err) {
        subs.delete(sub);
        if (subs.size === 0) this.#channels.delete(channel);
        if (!this.#client && this.#channels.size > 0) this.#schedule();
        throw this.#wrap(err, `LISTEN ${JSON.stringify(channel)} failed`);
      }
    });
  }

  remove(channel: string, sub: Subscription): Promise<void> {
    return this.#serial.run(async () => {
      const subs = this.#channels.get(channel);
      if (!subs?.delete(sub) || subs.size > 0) return;
      this.#channels.delete(channel);
      const client = this.#client;
      if (!client) return;
      try {
        await client.query(`UNLISTEN ${quoteChannel(channel)}`);
      } catch {
        // A dead connection has no LISTEN left; the reconnect will not restore a removed channel.
      }
      if (this.#channels.size === 0 && this.#client === client) {
        // Nothing left to listen to: give the connection back to the pool.
        this.#detach?.();
        this.#client = undefined;
        this.#detach = undefined;
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.#serial.run(async () => {
      const client = this.#client;
      this.#client = undefined;
      this.#detach?.();
      this.#detach = undefined;
      // Destroy rather than reuse: it still has LISTENs registered.
      if (client) client.release(true);
    });
  }

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    const onError = (err: Error) => this.#dropped(client, err);
    const onEnd = () => this.#dropped(client, new Error('listener connection ended'));
    const onNotification = (msg: Notification) => this.#dispatch(msg.channel, msg.payload ?? '');
    client.on('error', onError);
    client.on('end', onEnd);
    client.on('notification', onNotification);
    const detach = () => {
      client.off('end', onEnd);
      client.off('notification', onNotification);
      // A released/destroyed client can still emit 'error' late; keep a no-op so it never goes unhandled.
      client.off('error', onError);
      client.on('error', () => {});
    };
    try {
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`);
    } catch (err) {
      detach();
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    this.#client = client;
    this.#detach = detach;
    this.#delay = RECONNECT_MIN_MS;
  }

  #dropped(client: PoolClient, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#detach?.();
    this.#detach = undefined;
    try {
      client.release(err);
    } catch {
      // already released
    }
    if (!this.#closed && this.#channels.size > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    const wait = Math.round(this.#delay * (0.5 + Math.random() / 2));
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MAX_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#reconnect();
    }, wait);
  }

  #reconnect(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed || this.#client || this.#channels.size === 0) return;
      try {
        await this.#connect();
      } catch {
        this.#schedule();
        return;
      }
      for (const subs of this.#channels.values()) {
        for (const sub of subs) if (sub.onReconnect) deliver(sub.onReconnect);
      }
    });
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #dispatch(channel: string, payload: string): void {
    const subs = this.#channels.get(channel);
    if (!subs) return;
    for (const sub of subs) deliver(() => sub.onPayload(payload));
  }
}
