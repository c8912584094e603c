import type { IntegrationError } from '@fraiseql/core';

export interface AmqpExchange {
  name: string;
  type: 'topic' | 'direct' | 'fanout';
  /** Survives a broker restart. Default true. */
  durable?: boolean;
}

export interface AmqpBinding {
  exchange: string;
  /** Routing key or topic pattern (`sensors.*.temperature`, `orders.#`). Default `''`. */
  routingKey?: string;
}

export interface AmqpQueue {
  name: string;
  /** Survives a broker restart (and its persistent messages with it). Default true. */
  durable?: boolean;
  bindings?: AmqpBinding[];
  /**
   * Exchange that receives the messages this connector rejects (undecodable bodies): the queue's
   * `x-dead-letter-exchange`. Default none (RabbitMQ drops rejected messages).
   */
  deadLetterExchange?: string;
}

export interface AmqpConnectorOptions {
  /** Connector name, used by flows and in every error message. */
  name: string;
  /** `amqp://` or `amqps://` URL; credentials in it are never shown in errors. */
  url: string;
  /** Virtual host; overrides the URL's path. Default: the URL's (RabbitMQ's `/`). */
  vhost?: string;
  /** Declared (idempotently) at start and after every reconnect. */
  exchanges?: AmqpExchange[];
  /** Declared with their bindings at start and after every reconnect. */
  queues?: AmqpQueue[];
  /**
   * Unacknowledged messages a subscription holds at once (basic.qos). A slow flow stops pulling
   * from the broker beyond this: the backpressure bound. Default 32.
   */
  prefetch?: number;
  /** Wait for a connection (publish during a reconnect) and for a publisher confirm. Default 10000 ms. */
  operationTimeoutMs?: number;
  /** Reconnect backoff: first delay, doubled up to `reconnectMaxMs`. Default 100 ms. */
  reconnectInitialMs?: number;
  /** Longest delay between reconnect attempts. Default 5000 ms. */
  reconnectMaxMs?: number;
  /**
   * Wait before a message whose handler failed goes back to the queue (nack + requeue), so a
   * failing destination is not hammered in a tight loop. Default 1000 ms.
   */
  requeueDelayMs?: number;
  /**
   * Publishes with the `mandatory` flag: a message no queue is bound for fails with IN404 (a
   * permanent error: the flow dead-letters it) instead of being dropped silently. Default true.
   */
  mandatory?: boolean;
  /** AMQP heartbeat in seconds (a dead peer is detected within ~2 heartbeats). Default 10. */
  heartbeatS?: number;
  /** Shown by `rabbitmqctl list_connections name client_properties`. Default `fraiseql:<name>`. */
  connectionName?: string;
  /**
   * Told about what cannot be thrown at a caller: undecodable messages rejected, failed handlers,
   * connection losses. Default: nothing.
   */
  onError?: (err: IntegrationError) => void;
}

/** A message received from a queue. */
export interface AmqpMessage {
  /** The JSON-decoded body. */
  body: unknown;
  /** String AMQP headers plus `amqp-exchange` and `amqp-routing-key`. */
  headers: Record<string, string>;
  /** The `message-id` property, when the publisher set one. */
  id?: string;
}

/** Where `publish` sends: `exchange` (default `''`, the default exchange) and `routingKey`. */
export interface AmqpPublishOptions {
  exchange?: string;
  routingKey?: string;
  headers?: Record<string, string>;
  messageId?: string;
  /** Default true: the broker writes the message to disk on durable queues. */
  persistent?: boolean;
  [key: string]: unknown;
}

export interface ConnectorTestResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface AmqpStats {
  connected: boolean;
  /** Successful reconnects after a loss. */
  reconnects: number;
  /** Messages handed to handlers whose ack is still outstanding (all subscriptions). */
  inFlight: number;
  /** Highest `inFlight` seen since the last `resetStats()`. */
  maxInFlight: number;
  acked: number;
  /** Handler failures: nacked back to the queue. */
  requeued: number;
  /** Undecodable messages: rejected without requeue. */
  rejected: number;
  published: number;
}

export interface AmqpConnector {
  readonly name: string;
  readonly type: 'amqp';
  /** Publishes one message and resolves once the broker confirmed it. */
  publish(target: string, body: unknown, opts?: AmqpPublishOptions): Promise<void>;
  /**
   * Consumes `queue`: every message is acked after `handler` resolved, nacked and requeued when
   * it rejects, rejected (no requeue) when its body is not UTF-8 JSON. Survives reconnects.
   */
  subscribe(queue: string, handler: (msg: AmqpMessage) => Promise<void>): Promise<() => Promise<void>>;
  /** A flow destination `{ exchange?, routingKey? | topic? }`. */
  deliver(
    message: { id?: string; body: unknown; headers?: Record<string, string> },
    destination: { exchange?: string; routingKey?: string; topic?: string; [key: string]: unknown },
  ): Promise<void>;
  test(): Promise<ConnectorTestResult>;
  stats(): AmqpStats;
  resetStats(): void;
  close(): Promise<void>;
}
