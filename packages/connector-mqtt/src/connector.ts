import {
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  isPlainObject,
  isTransient,
  sleep,
  withTimeout,
} from '@fraiseql/core';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { badArgument, decodePayload, encodePayload, mqttError, PROVIDER } from './errors.ts';
import { Inbox } from './inbox.ts';
import { qosOption, resolveOptions } from './options.ts';
import { topicMatches, validFilter, validTopic } from './topics.ts';
import type {
  MqttConnector,
  MqttConnectorOptions,
  MqttMessage,
  MqttPublishOptions,
  MqttStats,
} from './types.ts';

type Handler = (msg: MqttMessage) => Promise<void>;

/** A failure redelivery cannot fix (the flow refused the message as malformed): acknowledge it. */
const permanent = (err: unknown) =>
  isIntegrationError(err) &&
  (err.kind === 'invalid_input' || err.kind === 'serialization') &&
  !isTransient(err.code);

/**
 * An MQTT 3.1.1 connector for flows (mqtt.js v5). Resolves once connected; a refused connection or
 * login rejects with an IntegrationError. Reconnects by itself (every `reconnectPeriodMs`) and
 * subscribes again when the broker did not keep the session.
 *
 * Incoming messages are handled `concurrency` at a time (default 1: in arrival order) and a QoS 1/2
 * message is acknowledged (PUBACK / PUBCOMP) only once every matching handler resolved (see Inbox).
 */
export async function createMqttConnector(options: MqttConnectorOptions): Promise<MqttConnector> {
  const o = resolveOptions(options);
  const { tag, secrets } = o;
  const subs = new Map<string, Set<Handler>>();
  const counters = { handled: 0, failed: 0, malformed: 0, published: 0 };
  let reconnects = 0;
  let subscribed = true;
  let up = true;
  let closed = false;

  const clientOptions: IClientOptions = {
    clientId: o.clientId,
    clean: o.clean,
    keepalive: o.keepAliveS,
    reconnectPeriod: o.reconnectPeriodMs,
    connectTimeout: o.operationTimeoutMs,
    protocolVersion: 4,
    // Our own resubscription (below) knows when it is done and reports refusals.
    resubscribe: false,
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
  };
  const client = await connectFirst(o.broker, clientOptions, tag, secrets);

  // `dispatch` (below) runs each message; the inbox acknowledges it after.
  const inbox = new Inbox(client, o.concurrency, dispatch);

  const timeout = (what: string) => () =>
    new IntegrationError(
      ErrorCode.ConnectionTimeout,
      `[${tag}] ${what}: no answer within ${o.operationTimeoutMs} ms`,
      {
        provider: PROVIDER,
      },
    );

  async function subscribeOne(filter: string): Promise<void> {
    const qos = o.qosOf.get(filter) ?? 1;
    let granted: { qos: number }[];
    try {
      granted = await withTimeout(
        client.subscribeAsync(filter, { qos }),
        o.operationTimeoutMs,
        timeout(`subscribe "${filter}"`),
      );
    } catch (err) {
      throw mqttError(err, tag, `subscribe to "${filter}" failed`, secrets);
    }
    if (granted.some((g) => g.qos === 128))
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `[${tag}] subscribe to "${filter}" was refused by the broker`,
        {
          provider: PROVIDER,
          kind: 'configuration',
        },
      );
  }

  async function resubscribeAll(): Promise<void> {
    subscribed = false;
    try {
      for (const filter of subs.keys()) await subscribeOne(filter);
      subscribed = true;
    } catch (err) {
      o.onError(mqttError(err, tag, 're-subscribe failed', secrets));
    }
  }

  client.on('error', (err) => o.onError(mqttError(err, tag, 'client error', secrets)));
  client.on('close', () => {
    if (closed || !up) return;
    up = false;
    subscribed = subs.size === 0;
    o.onError(mqttError(new Error('connection lost'), tag, 'reconnecting', secrets));
  });
  client.on('connect', (connack) => {
    up = true;
    inbox.reconnected();
    reconnects++;
    // A broker that kept the session kept the subscriptions too.
    if (o.clean || !connack.sessionPresent) void resubscribeAll();
    else subscribed = true;
  });

  async function dispatch(packet: IPublishPacket): Promise<void> {
    const topic = packet.topic;
    const handlers = [...subs].filter(([f]) => topicMatches(f, topic)).flatMap(([, hs]) => [...hs]);
    if (handlers.length === 0) return; // unsubscribed meanwhile: nobody wants it
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    let body: unknown;
    try {
      body = decodePayload(payload, tag, topic);
    } catch (err) {
      counters.malformed++;
      o.onError(err as IntegrationError);
      if (o.deadLetterTopic)
        await client.publishAsync(o.deadLetterTopic, payload, { qos: 1 }).catch((e: unknown) => {
          o.onError(mqttError(e, tag, `dead-letter publish to "${o.deadLetterTopic}" failed`, secrets));
        });
      return;
    }
    const msg: MqttMessage = {
      body,
      headers: { 'mqtt-topic': topic, 'mqtt-qos': String(packet.qos), 'mqtt-retain': String(packet.retain) },
    };
    for (;;) {
      try {
        await Promise.all(handlers.map((h) => h(msg)));
        counters.handled++;
        return;
      } catch (err) {
        counters.failed++;
        o.onError(mqttError(err, tag, `handler for "${topic}" failed`, secrets));
        if (permanent(err)) return;
        // Not acknowledged: the broker redelivers it after a reconnect; meanwhile retry here.
        if (closed) throw err;
        await sleep(o.retryDelayMs);
        if (closed) throw err;
      }
    }
  }

  async function publish(topic: string, body: unknown, opts: MqttPublishOptions = {}): Promise<void> {
    if (typeof topic !== 'string' || !validTopic(topic))
      throw badArgument(
        tag,
        `publish: topic must be a non-empty topic without wildcards, got ${JSON.stringify(topic)}`,
        'topic',
      );
    if (!isPlainObject(opts)) throw badArgument(tag, 'publish options must be an object', 'opts');
    if (closed) throw mqttError(new Error('the connector is closed'), tag, `publish to "${topic}"`, secrets);
    const qos = qosOption(opts.qos, 'qos', o.publishQos, tag);
    const payload = encodePayload(body, tag);
    try {
      await withTimeout(
        client.publishAsync(topic, payload, { qos, retain: opts.retain === true }),
        o.operationTimeoutMs,
        timeout(`publish to "${topic}"`),
      );
    } catch (err) {
      throw mqttError(err, tag, `publish to "${topic}" failed`, secrets);
    }
    counters.published++;
  }

  return {
    name: o.name,
    type: 'mqtt',
    publish,
    async subscribe(filter, handler) {
      if (typeof filter !== 'string' || !validFilter(filter))
        throw badArgument(tag, `subscribe: ${JSON.stringify(filter)} is not an MQTT topic filter`, 'topic');
      if (typeof handler !== 'function')
        throw badArgument(tag, 'subscribe: handler must be a function', 'handler');
      const set = subs.get(filter) ?? new Set<Handler>();
      const first = set.size === 0;
      set.add(handler);
      subs.set(filter, set);
      if (first) {
        try {
          await subscribeOne(filter);
        } catch (err) {
          set.delete(handler);
          if (set.size === 0) subs.delete(filter);
          throw err;
        }
      }
      return async () => {
        set.delete(handler);
        if (set.size > 0 || subs.get(filter) !== set) return;
        subs.delete(filter);
        if (!closed && client.connected)
          await withTimeout(
            client.unsubscribeAsync(filter),
            o.operationTimeoutMs,
            timeout('unsubscribe'),
          ).catch(() => {});
      };
    },
    async deliver(message, destination) {
      if (!isPlainObject(destination)) throw badArgument(tag, 'deliver: destination must be an object', 'to');
      const topic = destination.topic ?? destination.routingKey;
      await publish(
        topic as string,
        message.body,
        destination.qos === undefined ? {} : { qos: destination.qos },
      );
    },
    async test() {
      if (closed) return { ok: false, latencyMs: 0, detail: 'connector is closed' };
      if (!client.connected) return { ok: false, latencyMs: 0, detail: 'not connected (reconnecting)' };
      const t0 = performance.now();
      const probe = `fraiseql/test/${o.clientId}`;
      try {
        // A SUBSCRIBE/SUBACK round trip proves the broker answers, not just that a socket is open.
        await withTimeout(client.subscribeAsync(probe, { qos: 0 }), o.operationTimeoutMs, timeout('test'));
        await withTimeout(client.unsubscribeAsync(probe), o.operationTimeoutMs, timeout('test'));
        const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
        return { ok: true, latencyMs, detail: `connected, ${subs.size} subscription(s)` };
      } catch (err) {
        return { ok: false, latencyMs: performance.now() - t0, detail: describeError(err, secrets) };
      }
    },
    stats(): MqttStats {
      return { connected: client.connected, reconnects, subscribed, ...counters };
    },
    async close() {
      if (closed) return;
      closed = true;
      inbox.close();
      subs.clear();
      // Pending acks and publishes get a moment on a live connection; a dead one is dropped at once.
      await withTimeout(client.endAsync(!client.connected), o.operationTimeoutMs, timeout('close')).catch(
        () => client.end(true),
      );
    },
  };
}

/**
 * The first connection: resolves when connected; the first failure rejects (and stops the client)
 * with the socket's own error (ECONNREFUSED → IN501) or the broker's refusal (bad login → IN002).
 */
function connectFirst(
  broker: string,
  opts: IClientOptions,
  tag: string,
  secrets: string[],
): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(broker, opts);
    let failure: unknown;
    const done = (err?: unknown) => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (err === undefined) return resolve(client);
      client.end(true);
      reject(mqttError(err, tag, 'connect failed', secrets));
    };
    const onConnect = () => done();
    const onError = (err: unknown) => {
      failure = err;
      done(err);
    };
    // The socket's error (with its code) may follow its close: wait a moment for it.
    const onClose = () => setTimeout(() => done(failure ?? new Error("couldn't connect to the broker")), 20);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}
