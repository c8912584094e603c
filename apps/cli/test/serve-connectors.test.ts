import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkService, uniqueName } from '@fraiseql/testkit';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, startServe } from './helpers.ts';

const rabbit = await checkService('rabbitmq');
const AMQP_URL = rabbit.url;
const MQTT_URL = process.env.MQTT_URL || 'mqtt://127.0.0.1:1883';

/** `serve --flows` with broker connectors of every kind declared in the seed's YAML shape. */
describe.skipIf(!rabbit.available)('serve with [connectors.*] of the broker kinds', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'serve-connectors-'));
  const id = uniqueName('sc').replace(/[^A-Za-z0-9]/g, '');
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('builds amqp and mqtt connectors from the file, relays MQTT → AMQP, and shows kinds and health', async () => {
    writeFileSync(
      join(cwd, 'flows.yaml'),
      `flows:
  sensors:
    source: { type: connector, connector: sensors-mqtt, topic: "${id}/sensors/+/temperature" }
    steps:
      - { type: transform, name: shape, mapping: { sensor: $.id, celsius: $.t } }
      - { type: deliver, name: out, to: { connector: rabbit, exchange: ${id}.x, routing_key: sensor.reading } }
connectors:
  rabbit:
    type: amqp
    url_env: TEST_AMQP_URL
    exchanges: [{ name: ${id}.x, type: topic, durable: false }]
    queues: [{ name: ${id}.q, durable: false, bindings: [{ exchange: ${id}.x, routing_key: "sensor.#" }] }]
  sensors-mqtt:
    type: mqtt
    broker: ${MQTT_URL}
    client_id: ${id}
    clean_session: true
    topics: [{ name: "${id}/sensors/+/temperature", qos: 1 }]
  nowhere:
    type: http
    base_url: http://127.0.0.1:9
    timeout_ms: 500
`,
    );
    const s = await startServe(['--port', '0', '--no-worker', '--flows', 'flows.yaml'], {
      cwd,
      env: { TEST_AMQP_URL: AMQP_URL, FRAISEQL_API_TOKEN: '' },
    });
    const conn = await amqp.connect(AMQP_URL);
    const client = await mqtt.connectAsync(MQTT_URL);
    try {
      const ch = await conn.createChannel();
      // The connector declared the queue and its binding at start.
      await ch.checkQueue(`${id}.q`);
      for (let i = 0; i < 5; i++)
        await client.publishAsync(
          `${id}/sensors/s${i}/temperature`,
          JSON.stringify({ id: `s${i}`, t: 20 + i }),
          {
            qos: 1,
          },
        );
      const got: unknown[] = [];
      for (let i = 0; i < 100 && got.length < 5; i++) {
        const m = await ch.get(`${id}.q`, { noAck: true });
        if (m) got.push(JSON.parse(m.content.toString()));
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(got).toHaveLength(5);
      expect(got).toContainEqual({ sensor: 's3', celsius: 23 });

      const list = cli(['connector', 'list', '--url', s.url], { cwd });
      expect(list.stdout).toMatch(/rabbit\s+amqp\s+ok/);
      expect(list.stdout).toMatch(/sensors-mqtt\s+mqtt\s+ok/);
      expect(list.stdout).toMatch(/nowhere\s+http\s+unhealthy/);
      expect(list.code).toBe(1);
      expect(cli(['connector', 'test', 'rabbit', '--url', s.url], { cwd }).code).toBe(0);
      expect(cli(['connector', 'test', 'nowhere', '--url', s.url], { cwd }).code).toBe(1);
    } finally {
      await client.endAsync();
      await conn.close();
      expect(await s.stop()).toBe(0);
    }
  }, 120_000);
});
