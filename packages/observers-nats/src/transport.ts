import {
  assertOptionsObject,
  configError,
  ErrorCode,
  IntegrationError,
  positiveIntOption,
  positiveOption,
  stringOption,
  withTimeout,
  wrapError,
} from '@fraiseql/core';
import type { EntityEvent, EventTransport, ObserverLogger } from '@fraiseql/observers';
import {
  AckPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions, nanos } from '@nats-io/transport-node';
import { decodeEvent, encodeEvent } from './codec';
import { eventSubject, NAME, SUBJECT_PREFIX } from './subjects';

const P = 'nats';

export interface NatsTransportOptions {
  /** NATS server URL(s), e.g. `'nats://127.0.0.1:4222'`. Required. */
  servers: string | string[];
  /** JetStream stream (created when absent: WorkQueue retention, file storage). Default `'FRAISEQL_EVENTS'`. */
  stream?: string;
  /** Events go to `<subjectPrefix>.<source>.<entity>.<kind>`; the stream takes `<subjectPrefix>.>`. Default `'fraiseql.events'`. */
  subjectPrefix?: string;
  /** Durable pull consumer shared by all workers. Default `'fraiseql-observers'`. */
  durable?: string;
  /** Unacked messages are redelivered after this. Default 30000. */
  ackWaitMs?: number;
  /** Deliveries of one message before it is terminated. Default 5. */
  maxDeliver?: number;
  /** Messages a worker handles at once. Default 64. */
  maxInFlight?: number;
  /** JetStream de-duplication window for `Nats-Msg-Id` (only for a stream this creates). Default 120000. */
  duplicateWindowMs?: number;
  /** First connection (and JetStream set-up) must succeed within this. Default 5000. */
  connectTimeoutMs?: number;
  /** Wait between reconnect attempts; reconnects never stop. Default 1000. */
  reconnectTimeWaitMs?: number;
  /** One publish waits this long for its PubAck. Default 10000. */
  publishTimeoutMs?: number;
  /** PubAcks awaited at once by `publish`. Default 256. */
  publishConcurrency?: number;
  /** Nak delay after the first failed delivery; doubles per delivery. Default 1000. */
  nakDelayMs?: number;
  /** Longest nak delay. Default 60000. */
  maxNakDelayMs?: number;
  /** Malformed messages, terminations, handler failures and reconnects are logged here. Default: none. */
  logger?: ObserverLogger;
  /** Extra client options (auth, TLS, name); the options above win. Default none. */
  connectionOptions?: Omit<NodeConnectionOptions, 'servers'>;
}

/** An {@link EventTransport} on NATS JetStream, plus what tests and tools need. */
export interface NatsTransport extends EventTransport {
  readonly name: 'nats';
  readonly connection: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly durable: string;
  readonly subjectPrefix: string;
  /** The subject an event is published to. */
  subjectOf(event: Pick<EntityEvent, 'source' | 'entity' | 'kind'>): string;
}

interface Resolved {
  servers: string[];
  stream: string;
  subjectPrefix: string;
  durable: string;
  ackWaitMs: number;
  maxDeliver: number;
  maxInFlight: number;
  duplicateWindowMs: number;
  connectTimeoutMs: number;
  reconnectTimeWaitMs: number;
  publishTimeoutMs: number;
  publishConcurrency: number;
  nakDelayMs: number;
  maxNakDelayMs: number;
}

function resolve(o: NatsTransportOptions): Resolved {
  assertOptionsObject(o, P);
  const list = typeof o.servers === 'string' ? [o.servers] : o.servers;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s.trim() === ''))
    throw configError(P, 'servers must be a URL or a non-empty array of URLs', 'servers');
  return {
    servers: list,
    stream: stringOption(o.stream, 'stream', 'FRAISEQL_EVENTS', P, NAME),
    subjectPrefix: stringOption(o.subjectPrefix, 'subjectPrefix', 'fraiseql.events', P, SUBJECT_PREFIX),
    durable: stringOption(o.durable, 'durable', 'fraiseql-observers', P, NAME),
    ackWaitMs: positiveOption(o.ackWaitMs, 'ackWaitMs', 30_000, P, 'milliseconds'),
    maxDeliver: positiveIntOption(o.maxDeliver, 'maxDeliver', 5, P),
    maxInFlight: positiveIntOption(o.maxInFlight, 'maxInFlight', 64, P),
    duplicateWindowMs: positiveOption(o.duplicateWindowMs, 'duplicateWindowMs', 120_000, P, 'milliseconds'),
    connectTimeoutMs: positiveOption(o.connectTimeoutMs, 'connectTimeoutMs', 5000, P, 'milliseconds'),
    reconnectTimeWaitMs: positiveOption(
      o.reconnectTimeWaitMs,
      'reconnectTimeWaitMs',
      1000,
      P,
      'milliseconds',
    ),
    publishTimeoutMs: positiveOption(o.publishTimeoutMs, 'publishTimeoutMs', 10_000, P, 'milliseconds'),
    publishConcurrency: positiveIntOption(o.publishConcurrency, 'publishConcurrency', 256, P),
    nakDelayMs: positiveOption(o.nakDelayMs, 'nakDelayMs', 1000, P, 'milliseconds'),
    maxNakDelayMs: positiveOption(o.maxNakDelayMs, 'maxNakDelayMs', 60_000, P, 'milliseconds'),
  };
}

function natsError(err: unknown, context: string): IntegrationError {
  const text = String((err as Error)?.message ?? err).toLowerCase();
  const code = text.includes('timeout') ? ErrorCode.ConnectionTimeout : ErrorCode.ProviderUnavailable;
  return wrapError(err, code, P, context);
}

function apiCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Counts free slots; `acquire` waits while none is free. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}

class Transport implements NatsTransport {
  readonly name = 'nats' as const;
  private readonly js: JetStreamClient;
  private closing = false;
  private subscribed = false;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: ObserverLogger | undefined;

  constructor(
    private readonly o: Resolved,
    readonly connection: NatsConnection,
    readonly jsm: JetStreamManager,
    logger: ObserverLogger | undefined,
  ) {
    this.js = jetstream(connection, { timeout: o.publishTimeoutMs });
    this.log = logger;
  }

  get stream(): string {
    return this.o.stream;
  }
  get durable(): string {
    return this.o.durable;
  }
  get subjectPrefix(): string {
    return this.o.subjectPrefix;
  }

  subjectOf(event: Pick<EntityEvent, 'source' | 'entity' | 'kind'>): string {
    return eventSubject(this.o.subjectPrefix, event.source, event.entity, event.kind);
  }

  async publish(events: EntityEvent[]): Promise<void> {
    if (this.closing) throw configError(P, 'publish after close');
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && next < events.length) {
        const event = events[next++] as EntityEvent;
        const subject = this.subjectOf(event);
        try {
          await this.js.publish(subject, encodeEvent(event), {
            msgID: `${event.source}:${event.id}`,
            timeout: this.o.publishTimeoutMs,
          });
        } catch (err) {
          failure ??= natsError(err, `publishing event ${event.source}:${event.id} to ${subject}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.publishConcurrency, events.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  async subscribe(handler: (event: EntityEvent) => Promise<void>): Promise<void> {
    if (typeof handler !== 'function')
      throw configError(P, 'subscribe: handler must be a function', 'handler');
    if (this.subscribed) throw configError(P, 'subscribe: this transport already has a handler', 'handler');
    if (this.closing) throw configError(P, 'subscribe after close');
    this.subscribed = true;
    // The first pull must work (a broken set-up fails start()); later losses are retried forever.
    const first = await this.open().catch((err) => {
      this.subscribed = false;
      throw err;
    });
    this.loop = this.consumeLoop(first, handler);
  }

  private async open(): Promise<ConsumerMessages> {
    try {
      const consumer = await this.js.consumers.get(this.o.stream, this.o.durable);
      const messages = await consumer.consume({ max_messages: this.o.maxInFlight });
      this.messages = messages;
      return messages;
    } catch (err) {
      throw natsError(err, `consuming ${this.o.stream}/${this.o.durable}`);
    }
  }

  private async consumeLoop(
    first: ConsumerMessages,
    handler: (e: EntityEvent) => Promise<void>,
  ): Promise<void> {
    const slots = new Slots(this.o.maxInFlight);
    let messages: ConsumerMessages | undefined = first;
    while (!this.closing) {
      try {
        messages ??= await this.open();
        for await (const m of messages) {
          await slots.acquire();
          if (this.closing) {
            // Not started: hand it straight back to the other workers.
            m.nak();
            slots.release();
            continue;
          }
          const p = this.handle(m, handler).finally(() => {
            slots.release();
            this.inFlight.delete(p);
          });
          this.inFlight.add(p);
        }
      } catch (err) {
        if (!this.closing) this.log?.warn({ err }, '[observers-nats] consuming failed; retrying');
      }
      messages = undefined;
      if (!this.closing) await new Promise((r) => setTimeout(r, this.o.reconnectTimeWaitMs));
    }
  }

  private async handle(m: JsMsg, handler: (e: EntityEvent) => Promise<void>): Promise<void> {
    const event = decodeEvent(m.data);
    if (typeof event === 'string') {
      this.log?.warn(
        { subject: m.subject, seq: m.seq, reason: event },
        '[observers-nats] malformed message terminated',
      );
      // No reason text: servers before 2.10 ignore a `+TERM` with one.
      m.term();
      return;
    }
    // A handler slower than ackWait keeps its message (no redelivery while it runs).
    const keepAlive = setInterval(() => m.working(), Math.max(250, this.o.ackWaitMs / 2));
    try {
      await handler(event);
      m.ack();
    } catch (err) {
      const n = m.info.deliveryCount;
      if (n >= this.o.maxDeliver) {
        this.log?.error(
          { err, eventId: event.id, source: event.source, deliveries: n },
          '[observers-nats] event failed on its last delivery; terminated',
        );
        m.term();
      } else {
        const delay = Math.min(this.o.nakDelayMs * 2 ** (n - 1), this.o.maxNakDelayMs);
        this.log?.warn(
          { err, eventId: event.id, source: event.source, deliveries: n, delay },
          '[observers-nats] event failed; redelivering',
        );
        m.nak(delay);
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close());
  }
}

async function ensureStream(jsm: JetStreamManager, o: Resolved, log?: ObserverLogger): Promise<void> {
  const subject = `${o.subjectPrefix}.>`;
  try {
    const info = await jsm.streams.info(o.stream);
    if (!info.config.subjects?.includes(subject))
      throw configError(
        P,
        `stream ${o.stream} exists but does not take ${subject} (subjects: ${info.config.subjects?.join(', ')})`,
        'stream',
      );
    if (info.config.retention !== RetentionPolicy.Workqueue)
      log?.warn(
        { stream: o.stream, retention: info.config.retention },
        '[observers-nats] stream is not a work queue',
      );
    return;
  } catch (err) {
    if (apiCode(err) !== 10059) throw err;
  }
  try {
    await jsm.streams.add({
      name: o.stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(o.duplicateWindowMs),
    });
  } catch (err) {
    // Created by another process in between: fine.
    await jsm.streams.info(o.stream).catch(() => {
      throw err;
    });
  }
}

async function ensureConsumer(jsm: JetStreamManager, o: Resolved): Promise<void> {
  const wanted = { ack_wait: nanos(o.ackWaitMs), max_deliver: o.maxDeliver };
  try {
    const info = await jsm.consumers.info(o.stream, o.durable);
    if (info.config.ack_wait !== wanted.ack_wait || info.config.max_deliver !== wanted.max_deliver)
      await jsm.consumers.update(o.stream, o.durable, wanted);
    return;
  } catch (err) {
    if (apiCode(err) !== 10014) throw err;
  }
  try {
    await jsm.consumers.add(o.stream, {
      durable_name: o.durable,
      ack_policy: AckPolicy.Explicit,
      ...wanted,
    });
  } catch (err) {
    await jsm.consumers.info(o.stream, o.durable).catch(() => {
      throw err;
    });
  }
}

/**
 * Connects to NATS and makes sure the stream and the durable pull consumer exist (DESIGN §8.6).
 * Bad options: IN002. NATS unreachable or JetStream unusable: IN502 (IN500 on a timeout) within
 * `connectTimeoutMs`. After the first connection the client reconnects forever.
 */
export async function createNatsTransport(opts: NatsTransportOptions): Promise<NatsTransport> {
  const o = resolve(opts);
  const log = opts.logger;
  let nc: NatsConnection | undefined;
  const where = o.servers.join(', ');
  try {
    nc = await withTimeout(
      connect({
        ...(opts.connectionOptions ?? {}),
        servers: o.servers,
        timeout: o.connectTimeoutMs,
        waitOnFirstConnect: false,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: o.reconnectTimeWaitMs,
      }),
      o.connectTimeoutMs + 1000,
      () => new Error(`connect timeout after ${o.connectTimeoutMs} ms`),
    );
  } catch (err) {
    // Refused, unknown host, timeout: all "NATS is not there" (IN502), IN500 for a timeout.
    const e = natsError(err, `cannot connect to ${where}`);
    throw e.code === ErrorCode.ConnectionTimeout || e.code === ErrorCode.ProviderUnavailable
      ? e
      : IntegrationError.provider(ErrorCode.ProviderUnavailable, P, e.message, err);
  }
  const conn = nc;
  try {
    const jsm = await withTimeout(
      (async () => {
        const m = await jetstreamManager(conn, { timeout: o.connectTimeoutMs });
        await ensureStream(m, o, log);
        await ensureConsumer(m, o);
        return m;
      })(),
      o.connectTimeoutMs * 3,
      () => new Error(`JetStream set-up timeout after ${o.connectTimeoutMs * 3} ms`),
    );
    if (log)
      void (async () => {
        for await (const s of conn.status())
          if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
            log.info(
              { status: s.type, server: (s as { server?: string }).server },
              `[observers-nats] ${s.type}`,
            );
      })().catch(() => undefined);
    return new Transport(o, conn, jsm, log);
  } catch (err) {
    await conn.close().catch(() => undefined);
    if (err instanceof IntegrationError) throw err;
    throw natsError(err, `JetStream set-up of stream ${o.stream} on ${where}`);
  }
}
