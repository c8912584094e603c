import type { IntegrationError } from '@fraiseql/core';

export type Qos = 0 | 1 | 2;

export interface MqttTopic {
  /** A topic filter: `sensors/+/temperature`, `plant/#`, `$share/group/orders`. */
  name: string;
  /** Subscription QoS for this filter. Default 1. */
  qos: Qos;
}

export interface MqttConnectorOptions {
  /** Connector name, used by flows and in every error message. */
  name: string;
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` URL of the broker. */
  broker: string;
  /**
   * Client identifier. Default `fraiseql_<name>_<random>`. Set a stable one (with
   * `cleanSession: false`) for the broker to keep the session across restarts of this process.
   */
  clientId?: string;
  /**
   * Start each connection with a fresh session. Default false: the broker keeps subscriptions and
   * queues QoS 1/2 messages while the connection is down, and redelivers unacknowledged ones.
   */
  cleanSession?: boolean;
  /** MQTT keep-alive in seconds: a dead broker is detected within ~1.5× this. Default 30. */
  keepAliveS?: number;
  /** QoS of each topic filter a flow may subscribe to; a filter not listed is subscribed with QoS 1. */
  topics?: MqttTopic[];
  username?: string;
  password?: string;
  /** Limit of the first connect and of each publish acknowledgement. Default 10000 ms. */
  operationTimeoutMs?: number;
  /** Wait between reconnect attempts. Default 1000 ms. */
  reconnectPeriodMs?: number;
  /** QoS of `publish`/`deliver` when the call does not say. Default 1. */
  publishQos?: Qos;
  /**
   * Topic where payloads that are not UTF-8 JSON are republished (raw, QoS 1) before being
   * acknowledged, so they are kept rather than dropped. Default none (reported, then acknowledged).
   */
  deadLetterTopic?: string;
  /**
   * Messages handled at once. Default 1: strictly in arrival order. More than the broker's
   * in-flight window (mosquitto: 20) brings nothing for QoS 1/2, since each waits for its ack.
   */
  concurrency?: number;
  /** Wait before a failed handler runs again for the same message. Default 1000 ms. */
  retryDelayMs?: number;
  /** Told about what cannot be thrown at a caller: malformed payloads, failed handlers, connection losses. */
  onError?: (err: IntegrationError) => void;
}

/** A message received on a subscribed topic. */
export interface MqttMessage {
  /** The JSON-decoded payload. */
  body: unknown;
  /** `mqtt-topic` (the concrete topic), `mqtt-qos` and `mqtt-retain`. */
  headers: Record<string, string>;
}

export interface MqttPublishOptions {
  /** Default `publishQos` (1). */
  qos?: Qos;
  retain?: boolean;
  [key: string]: unknown;
}

export interface ConnectorTestResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface MqttStats {
  connected: boolean;
  /** Connections made after a loss. */
  reconnects: number;
  /** True once every subscription is active on the current connection. */
  subscribed: boolean;
  /** Messages whose handlers resolved (acknowledged for QoS 1/2). */
  handled: number;
  /** Handler failures (the handler runs again after `retryDelayMs`). */
  failed: number;
  /** Payloads that were not UTF-8 JSON. */
  malformed: number;
  published: number;
}

export interface MqttConnector {
  readonly name: string;
  readonly type: 'mqtt';
  /** Publishes and resolves once the broker acknowledged it (QoS 1/2) or it was written (QoS 0). */
  publish(topic: string, body: unknown, opts?: MqttPublishOptions): Promise<void>;
  /**
   * Subscribes to a topic filter: messages are handled `concurrency` at a time in arrival order and a QoS 1/2
   * message is acknowledged only after `handler` resolved. Survives reconnects.
   */
  subscribe(filter: string, handler: (msg: MqttMessage) => Promise<void>): Promise<() => Promise<void>>;
  /** A flow destination `{ topic, qos? }`. */
  deliver(
    message: { body: unknown },
    destination: { topic?: string; routingKey?: string; qos?: Qos; [key: string]: unknown },
  ): Promise<void>;
  test(): Promise<ConnectorTestResult>;
  stats(): MqttStats;
  close(): Promise<void>;
}
