import { ErrorCode, type IntegrationError, withTimeout, wrapError } from '@fraiseql/core';
import type { Redis } from 'ioredis';
import type { Bus, BusHandlers } from './bus';

/** Compare-and-delete: only the holder's token gives the lease back. */
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export interface RedisBusOptions {
  /** Publishes and takes leases; not closed by the bus when it was handed in. */
  client: Redis;
  /** Whether `client` belongs to the bus (created from a URL) and must be closed with it. */
  ownsClient: boolean;
  channel: string;
  /** Longest a publish or lease command may take. */
  timeoutMs: number;
}

/** Driver errors as IntegrationErrors (network codes where they apply), secrets scrubbed. */
function busError(what: string, err: unknown): IntegrationError {
  return wrapError(err, ErrorCode.RedisError, 'redis', `cache-tiered bus: ${what} failed`);
}

/**
 * Redis pub/sub. The subscriber is a dedicated connection (a subscribed connection can run no
 * other command) that resubscribes itself after every reconnect and only reports the bus up once
 * the SUBSCRIBE was acknowledged, so no window exists where L1 is trusted but deaf.
 */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #owns: boolean;
  readonly #channel: string;
  readonly #timeoutMs: number;
  #sub: Redis | undefined;
  #connected = false;
  #closed = false;

  constructor(opts: RedisBusOptions) {
    this.#client = opts.client;
    this.#owns = opts.ownsClient;
    this.#channel = opts.channel;
    this.#timeoutMs = opts.timeoutMs;
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(handlers: BusHandlers): Promise<void> {
    // Own retry strategy and no offline queue: a command on a dead connection fails at once.
    const sub = this.#client.duplicate({
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: true,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    });
    this.#sub = sub;
    let startedOnce = false;
    sub.on('error', () => {
      // Connection errors surface as 'close' + the state change below; never unhandled.
    });
    sub.on('close', () => {
      if (!this.#connected) return;
      this.#connected = false;
      handlers.onState(false);
    });
    sub.on('ready', () => {
      // After a reconnect (the first subscribe happens in start()).
      if (this.#connected || this.#closed || !startedOnce) return;
      sub.subscribe(this.#channel).then(
        () => {
          if (this.#closed || sub.status !== 'ready') return;
          this.#connected = true;
          handlers.onState(true);
        },
        () => sub.disconnect(true),
      );
    });
    sub.on('message', (_channel: string, payload: string) => handlers.onPayload(payload));
    try {
      await withTimeout(
        (async () => {
          await sub.connect();
          await sub.subscribe(this.#channel);
        })(),
        this.#timeoutMs * 4,
        () => new Error(`no answer within ${this.#timeoutMs * 4} ms`),
      );
    } catch (err) {
      sub.disconnect();
      throw busError(`subscribing to Redis channel "${this.#channel}"`, err);
    }
    startedOnce = true;
    this.#connected = true;
  }

  async publish(payload: string): Promise<void> {
    try {
      await withTimeout(this.#client.publish(this.#channel, payload), this.#timeoutMs, () =>
        timeout('publish'),
      );
    } catch (err) {
      throw busError(`publishing on Redis channel "${this.#channel}"`, err);
    }
  }

  async acquire(key: string, token: string, ms: number): Promise<boolean> {
    try {
      const r = await withTimeout(
        this.#client.set(this.#leaseKey(key), token, 'PX', ms, 'NX'),
        this.#timeoutMs,
        () => timeout('lease'),
      );
      return r === 'OK';
    } catch (err) {
      throw busError('taking a getOrSet lease in Redis', err);
    }
  }

  async release(key: string, token: string): Promise<void> {
    try {
      await withTimeout(this.#client.eval(RELEASE, 1, this.#leaseKey(key), token), this.#timeoutMs, () =>
        timeout('lease release'),
      );
    } catch {
      // The lease expires by itself; a failed release only delays other processes' loads.
    }
  }

  async healthCheck(): Promise<boolean> {
    if (!this.#connected) return false;
    try {
      return (await withTimeout(this.#client.ping(), this.#timeoutMs, () => timeout('ping'))) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    const sub = this.#sub;
    this.#sub = undefined;
    sub?.disconnect();
    if (this.#owns) this.#client.disconnect();
  }

  #leaseKey(key: string): string {
    return `${this.#channel}:lease:${key}`;
  }
}

function timeout(what: string): Error {
  return new Error(`${what} timed out`);
}
