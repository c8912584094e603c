import { createGrpcConnector } from '@fraiseql/connector-grpc';
import { createHttpConnector } from '@fraiseql/connector-http';
import { createMqttConnector } from '@fraiseql/connector-mqtt';
import { createFlowEngine } from '@fraiseql/flows';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createAmqpConnector } from '../src/index.ts';
import { cleanup, httpSink, names, PROTO, rabbit, rawAmqp, startInventory, tally, until } from './helpers.ts';

const BROKER = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

describe('flows across systems', () => {
  it('MQTT sensors/+/temperature → transform → AMQP topic exchange → second flow → gRPC Inventory.Update', async () => {
    const n = names('xsys');
    const EX = n('readings');
    const Q = n('stock');
    const topic = `fqx/${EX.replace(/\./g, '_')}`;
    const raw = await rawAmqp();
    const inventory = await startInventory();
    const mqtt = await createMqttConnector({
      name: 'mqtt',
      broker: BROKER,
      topics: [{ name: `${topic}/sensors/+/temperature`, qos: 1 }],
    });
    const amqp = await createAmqpConnector({
      name: 'bus',
      url: rabbit.url,
      exchanges: [{ name: EX, type: 'topic' }],
      queues: [{ name: Q, bindings: [{ exchange: EX, routingKey: 'readings.#' }] }],
      prefetch: 16,
    });
    const grpc = await createGrpcConnector({
      name: 'inventory',
      protoFile: PROTO,
      service: 'inventory.Inventory',
      endpoint: inventory.endpoint,
    });
    const engine = await createFlowEngine({ connectors: [mqtt, amqp, grpc] });
    const publisher = await connectAsync(BROKER, { clientId: `${Q}_pub`.slice(0, 60) });
    try {
      await engine.createFlow({
        name: 'ingest',
        source: { type: 'connector', connector: 'mqtt', topic: `${topic}/sensors/+/temperature` },
        steps: [
          { type: 'transform', name: 'shape', mapping: { id: '$.id', sensor: '$.sensor', celsius: '$.c' } },
          {
            type: 'deliver',
            name: 'to-bus',
            to: { connector: 'bus', exchange: EX, routingKey: 'readings.temperature' },
          },
        ],
      });
      await engine.createFlow({
        name: 'stock',
        source: { type: 'connector', connector: 'bus', queue: Q },
        steps: [
          {
            type: 'transform',
            name: 'to-update',
            mapping: { sku: '$.sensor', delta: '$.celsius', order_id: '$.id' },
          },
          { type: 'deliver', name: 'update', to: { connector: 'inventory', path: 'Update' } },
        ],
      });
      await engine.startFlow('stock');
      await engine.startFlow('ingest');
      const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
      await Promise.all(
        ids.map((id, i) =>
          publisher.publishAsync(
            `${topic}/sensors/s${i % 5}/temperature`,
            JSON.stringify({ id, sensor: `s${i % 5}`, c: i % 40 }),
            { qos: 1 },
          ),
        ),
      );
      // Another topic of the same tree must not enter the chain.
      await publisher.publishAsync(
        `${topic}/sensors/s1/humidity`,
        JSON.stringify({ id: 'h', sensor: 's1', c: 1 }),
        {
          qos: 1,
        },
      );
      await until(() => new Set(inventory.orderIds).size === 200, 20_000, '200 updates');
      const { lost, duplicates } = tally(inventory.orderIds, ids);
      expect(lost).toEqual([]);
      expect(inventory.orderIds).not.toContain('h');
      // At least once: duplicates are allowed, and counted (none expected without faults).
      expect(duplicates).toBe(0);
      expect(engine.getFlowStatus('ingest')).toMatchObject({ processed: 200, dlq: 0 });
      expect(engine.getFlowStatus('stock')).toMatchObject({ processed: 200, dlq: 0 });
    } finally {
      await engine.close();
      await publisher.endAsync();
      await Promise.all([mqtt.close(), amqp.close(), grpc.close(), inventory.close()]);
      await cleanup(raw, [Q], [EX]);
      await raw.close();
    }
  });

  it('AMQP → route → HTTP: every order reaches the right endpoint', async () => {
    const n = names('xroute');
    const Q = n('orders');
    const raw = await rawAmqp();
    const sink = await httpSink();
    const amqp = await createAmqpConnector({ name: 'bus', url: rabbit.url, queues: [{ name: Q }] });
    const http = await createHttpConnector({ name: 'orders-api', baseUrl: sink.url });
    const engine = await createFlowEngine({ connectors: [amqp, http] });
    try {
      await engine.createFlow({
        name: 'route-orders',
        source: { type: 'connector', connector: 'bus', queue: Q },
        steps: [
          {
            type: 'route',
            name: 'by-total',
            routes: [
              { when: 'total >= 1000', to: { connector: 'orders-api', path: '/high' } },
              { to: { connector: 'orders-api', path: '/regular' } },
            ],
          },
        ],
      });
      await engine.startFlow('route-orders');
      const ch = await raw.createConfirmChannel();
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) {
        ids.push(`o${i}`);
        ch.sendToQueue(Q, Buffer.from(JSON.stringify({ id: `o${i}`, total: (i % 4) * 500 })));
      }
      await ch.waitForConfirms();
      await ch.close();
      await until(() => sink.requests.length >= 300, 20_000, '300 deliveries');
      const got = sink.requests.map((r) => (r.body as { id: string }).id);
      expect(tally(got, ids)).toEqual({ lost: [], duplicates: 0 });
      for (const r of sink.requests) {
        const { total } = r.body as { total: number };
        expect(r.path).toBe(total >= 1000 ? '/high' : '/regular');
      }
    } finally {
      await engine.close();
      await Promise.all([amqp.close(), http.close(), sink.close()]);
      await cleanup(raw, [Q], []);
      await raw.close();
    }
  });
});
