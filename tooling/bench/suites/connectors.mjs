// connectors: messages/s from a broker source to an AMQP destination through a one-step flow
// (`deliver`), against a hand-written relay doing the same acknowledgements:
// - AMQP → AMQP: @fraiseql/connector-amqp as source (prefetch 32, ack after the delivery) and as
//   destination (publisher confirms, persistent + mandatory) vs amqplib consuming with the same
//   prefetch and publishing on a confirm channel, acking in the confirm callback.
// - MQTT (QoS 1) → AMQP: @fraiseql/connector-mqtt (concurrency 1: PUBACK after the confirm) vs
//   mqtt.js `handleMessage` calling back (→ PUBACK) from the amqplib confirm callback.
// Both sides run on the same non-durable queues of the local RabbitMQ (and the local Mosquitto),
// created fresh for each pass; a message counts once it is on the output queue (counted by a
// separate no-ack consumer). The connector packages are imported from their dists.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect as tcp } from 'node:net';
import { createFlowEngine } from '@fraiseql/flows';
import amqplib from 'amqplib';
import { createAmqpConnector } from '../../../packages/connector-amqp/dist/index.js';
import { createMqttConnector } from '../../../packages/connector-mqtt/dist/index.js';
import { compare, deferred, now, unmeasured } from '../lib/harness.mjs';

// mqtt.js is a dependency of the connector, not of the bench: load the same copy it uses.
const mqtt = createRequire(new URL('../../../packages/connector-mqtt/package.json', import.meta.url))('mqtt');

export const name = 'connectors';

const PREFETCH = 32;
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const tag = () => `bench_conn_${process.pid}_${randomBytes(3).toString('hex')}`;

function reachable(url, port) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const s = tcp({ host: u.hostname, port: Number(u.port) || port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Fresh IN/OUT queues and a counter of what reaches OUT. */
async function queues(amqpUrl) {
  const base = tag();
  const IN = `${base}.in`;
  const OUT = `${base}.out`;
  const conn = await amqplib.connect(amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(IN, { durable: false });
  await ch.assertQueue(OUT, { durable: false });
  let seen = 0;
  let target = Number.POSITIVE_INFINITY;
  let done = deferred();
  await ch.consume(
    OUT,
    () => {
      if (++seen === target) done.resolve(now());
    },
    { noAck: true },
  );
  return {
    IN,
    OUT,
    ch,
    get seen() {
      return seen;
    },
    /** Resolves with the time the `n`-th message reached OUT. */
    expect(n) {
      seen = 0;
      target = n;
      done = deferred();
      return done.promise;
    },
    async close() {
      await ch.deleteQueue(IN).catch(() => {});
      await ch.deleteQueue(OUT).catch(() => {});
      await conn.close().catch(() => {});
    },
  };
}

async function amqpPass(amqpUrl, kind, total) {
  const q = await queues(amqpUrl);
  const body = (i) => Buffer.from(JSON.stringify({ id: i, sensor: `s${i % 7}`, celsius: 20 + (i % 15) }));
  for (let i = 0; i < total; i++) q.ch.sendToQueue(q.IN, body(i));
  await q.ch.waitForConfirms();
  const arrived = q.expect(total);
  let stop;
  // The clock starts when consuming starts (startFlow / consume), on both sides: connecting,
  // declaring and building the engine are setup, not relaying.
  let t0;
  if (kind === 'flow') {
    const bus = await createAmqpConnector({ name: 'bus', url: amqpUrl, prefetch: PREFETCH });
    const engine = await createFlowEngine({ connectors: [bus] });
    await engine.createFlow({
      name: 'relay',
      source: { type: 'connector', connector: 'bus', queue: q.IN },
      steps: [{ type: 'deliver', name: 'out', to: { connector: 'bus', exchange: '', routingKey: q.OUT } }],
    });
    t0 = now();
    await engine.startFlow('relay');
    stop = async () => {
      await engine.close();
      await bus.close();
    };
  } else {
    const conn = await amqplib.connect(amqpUrl);
    const sub = await conn.createChannel();
    const pub = await conn.createConfirmChannel();
    await sub.prefetch(PREFETCH);
    t0 = now();
    await sub.consume(q.IN, (m) => {
      if (!m) return;
      pub.publish(
        '',
        q.OUT,
        m.content,
        { persistent: true, mandatory: true, contentType: 'application/json' },
        (err) => {
          // The count can complete before the last confirms: their channel may be closing then.
          try {
            if (err) sub.nack(m, false, true);
            else sub.ack(m);
          } catch {}
        },
      );
    });
    stop = () => conn.close();
  }
  const t1 = await arrived;
  await stop();
  await q.close();
  return { rate: (total / (t1 - t0)) * 1000 };
}

async function mqttPass(amqpUrl, kind, total) {
  const q = await queues(amqpUrl);
  const topic = `bench/${tag()}`;
  const filter = `${topic}/sensors/+/temperature`;
  let stop;
  if (kind === 'flow') {
    const bus = await createAmqpConnector({ name: 'bus', url: amqpUrl });
    const sensors = await createMqttConnector({
      name: 'sensors',
      broker: MQTT_URL,
      topics: [{ name: filter, qos: 1 }],
    });
    const engine = await createFlowEngine({ connectors: [bus, sensors] });
    await engine.createFlow({
      name: 'relay',
      source: { type: 'connector', connector: 'sensors', topic: filter },
      steps: [{ type: 'deliver', name: 'out', to: { connector: 'bus', exchange: '', routingKey: q.OUT } }],
    });
    await engine.startFlow('relay');
    stop = async () => {
      await engine.close();
      await Promise.all([bus.close(), sensors.close()]);
    };
  } else {
    const conn = await amqplib.connect(amqpUrl);
    const pub = await conn.createConfirmChannel();
    const client = await mqtt.connectAsync(MQTT_URL, { clientId: tag(), clean: false });
    // The PUBACK goes out when this callback is called: after the broker confirmed the publish.
    client.handleMessage = (packet, cb) => {
      pub.publish(
        '',
        q.OUT,
        packet.payload,
        { persistent: true, mandatory: true, contentType: 'application/json' },
        (err) => cb(err ?? undefined),
      );
    };
    await client.subscribeAsync(filter, { qos: 1 });
    stop = async () => {
      await client.endAsync();
      await conn.close();
    };
  }
  const publisher = await mqtt.connectAsync(MQTT_URL, { clientId: tag() });
  const arrived = q.expect(total);
  const t0 = now();
  // In windows of 500, at most one window ahead of the relay: Mosquitto queues at most 1000
  // messages per session (max_queued_messages) and drops the rest.
  for (let w = 0; w < total; w += 500) {
    while (q.seen < w - 500) await new Promise((r) => setTimeout(r, 1));
    const sent = [];
    for (let i = w; i < Math.min(total, w + 500); i++)
      sent.push(
        publisher.publishAsync(
          `${topic}/sensors/s${i % 7}/temperature`,
          JSON.stringify({ id: i, celsius: 20 + (i % 15) }),
          { qos: 1 },
        ),
      );
    await Promise.all(sent);
  }
  const t1 = await arrived;
  await publisher.endAsync();
  await stop();
  await q.close();
  return { rate: (total / (t1 - t0)) * 1000 };
}

export async function run(ctx) {
  const amqpTotal = ctx.quick ? 5000 : 20000;
  const mqttTotal = ctx.quick ? 1000 : 4000;
  const rounds = ctx.quick ? 2 : 3;
  const k = (n) => `${n / 1000}k`;
  const amqpRow = {
    key: 'rate',
    benchmark: `connectors: AMQP → AMQP one-step flow, ${k(amqpTotal)} messages, prefetch ${PREFETCH}, confirms`,
    unit: 'msg/s',
    aim: 0.8,
  };
  const mqttRow = {
    key: 'rate',
    benchmark: `connectors: MQTT (QoS 1) → AMQP one-step flow, ${k(mqttTotal)} messages, ack after the confirm`,
    unit: 'msg/s',
    aim: 0.8,
  };
  const rows = [];
  const amqpUrl = ctx.services.rabbitmq.url;
  if (!ctx.services.rabbitmq.up) {
    rows.push(unmeasured({ ...amqpRow, peerName: 'amqplib relay' }, 'RabbitMQ unreachable'));
    rows.push(unmeasured({ ...mqttRow, peerName: 'mqtt.js + amqplib relay' }, 'RabbitMQ unreachable'));
    return rows;
  }
  rows.push(
    ...(await compare({
      peerName: 'hand-written amqplib relay (same prefetch, ack in the confirm callback)',
      rounds,
      log: ctx.log,
      metrics: [amqpRow],
      ours: () => amqpPass(amqpUrl, 'flow', amqpTotal),
      peer: () => amqpPass(amqpUrl, 'hand', amqpTotal),
    })),
  );
  if (!(await reachable(MQTT_URL, 1883))) {
    rows.push(unmeasured({ ...mqttRow, peerName: 'mqtt.js + amqplib relay' }, 'Mosquitto unreachable'));
    return rows;
  }
  rows.push(
    ...(await compare({
      peerName: 'hand-written mqtt.js handleMessage + amqplib confirm relay',
      rounds,
      log: ctx.log,
      metrics: [mqttRow],
      ours: () => mqttPass(amqpUrl, 'flow', mqttTotal),
      peer: () => mqttPass(amqpUrl, 'hand', mqttTotal),
    })),
  );
  return rows;
}
