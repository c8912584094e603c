import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { type Connector, createFlowEngine, type FlowMessage } from '@fraiseql/flows';
import { describe, expect, it } from 'vitest';
import { createMqttConnector } from '../src/index.ts';
import { BROKER, ownMosquitto, prefix, rawClient, until } from './helpers.ts';

/** A destination of the test itself: records the ids of delivered messages, optionally slowly. */
function recorder(name: string) {
  const ids: string[] = [];
  const hold = { ms: 0, onHold: async () => {} };
  const c: Connector = {
    name,
    type: 'recorder',
    test: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => {},
    deliver: async (m: FlowMessage) => {
      if (hold.ms > 0) {
        const ms = hold.ms;
        hold.ms = 0;
        await hold.onHold();
        await new Promise((r) => setTimeout(r, ms));
      }
      ids.push(String((m.body as { id: unknown }).id));
    },
  };
  return { c, ids, hold };
}

describe('connector-mqtt in flows', () => {
  it('MQTT source → route → MQTT destinations on the same connector; malformed payloads do not stop the flow', async () => {
    const P = prefix();
    const errors: IntegrationError[] = [];
    const mqtt = await createMqttConnector({
      name: 'mqtt',
      broker: BROKER,
      topics: [{ name: `${P}/sensors/+/temperature`, qos: 1 }],
      onError: (e) => void errors.push(e),
    });
    const raw = await rawClient();
    const out: { topic: string; body: { c: number } }[] = [];
    await raw.subscribeAsync(`${P}/out/#`, { qos: 1 });
    raw.on('message', (topic, payload) => out.push({ topic, body: JSON.parse(payload.toString()) }));
    const engine = await createFlowEngine({ connectors: [mqtt] });
    try {
      await engine.createFlow({
        name: 'temps',
        source: { type: 'connector', connector: 'mqtt', topic: `${P}/sensors/+/temperature` },
        steps: [
          {
            type: 'route',
            name: 'hot',
            // Each delivery publishes with QoS 1 and waits for its PUBACK from inside the handler.
            routes: [
              { when: 'c > 30', to: { connector: 'mqtt', topic: `${P}/out/alerts` } },
              { to: { connector: 'mqtt', topic: `${P}/out/ok` } },
            ],
          },
        ],
      });
      await engine.startFlow('temps');
      for (let i = 0; i < 20; i++)
        await raw.publishAsync(`${P}/sensors/s${i % 3}/temperature`, JSON.stringify({ c: 20 + i }), {
          qos: 1,
        });
      await raw.publishAsync(`${P}/sensors/s1/temperature`, 'garbage', { qos: 1 });
      await raw.publishAsync(`${P}/sensors/s1/temperature`, JSON.stringify({ c: 99 }), { qos: 1 });
      await until(() => out.length === 21, 10_000, '21 routed messages');
      expect(out.filter((m) => m.topic.endsWith('/alerts')).map((m) => m.body.c)).toEqual([
        31, 32, 33, 34, 35, 36, 37, 38, 39, 99,
      ]);
      expect(engine.getFlowStatus('temps')).toMatchObject({ state: 'running', processed: 21 });
      expect(errors.some((e) => e.code === ErrorCode.InvalidJobData && e.message.includes('"garbage"'))).toBe(
        true,
      );
    } finally {
      await engine.close();
      await mqtt.close();
      await raw.endAsync();
    }
  });

  it('kill -9 of the broker mid-stream: the flow reconnects, resubscribes and loses nothing', async () => {
    const broker = await ownMosquitto();
    const P = prefix();
    const mqtt = await createMqttConnector({ name: 'mqtt', broker: broker.url, reconnectPeriodMs: 100 });
    const sink = recorder('sink');
    const engine = await createFlowEngine({ connectors: [mqtt, sink.c] });
    const raw = await rawClient(broker.url);
    try {
      await engine.createFlow({
        name: 'relay',
        source: { type: 'connector', connector: 'mqtt', topic: `${P}/in/#` },
        steps: [{ type: 'deliver', name: 'd', to: { connector: 'sink' } }],
      });
      await engine.startFlow('relay');
      const N = 120;
      const sent: string[] = [];
      for (let i = 0; i < N; i++) {
        if (i === 60) {
          // Message 60 is inside the flow when the broker dies: the destination holds it.
          sink.hold.ms = 300;
          sink.hold.onHold = () => broker.kill();
        }
        if (i === 61) {
          await broker.start();
          // The connector reconnects and subscribes again by itself; the test only waits for it.
          await until(() => mqtt.stats().connected && mqtt.stats().subscribed, 15_000, 'resubscribed');
        }
        await raw.publishAsync(`${P}/in/${i % 4}`, JSON.stringify({ id: `m${i}` }), { qos: 1 });
        sent.push(`m${i}`);
        await until(() => sink.ids.includes(`m${i}`), 15_000, `m${i} delivered`);
      }
      const lost = sent.filter((id) => !sink.ids.includes(id));
      expect(lost).toEqual([]);
      expect(mqtt.stats().reconnects).toBeGreaterThanOrEqual(1);
      expect(engine.getFlowStatus('relay').state).toBe('running');
    } finally {
      await engine.close();
      await mqtt.close();
      await raw.endAsync(true);
      await broker.stop();
    }
  });
});
