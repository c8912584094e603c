import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { expectIntegrationError } from '@fraiseql/testkit';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttConnector, type MqttConnector, type MqttMessage, topicMatches } from '../src/index.ts';
import { BROKER, prefix, rawClient, tcpProxy, until } from './helpers.ts';

const P = prefix();
let raw: MqttClient;
let conn: MqttConnector;
const errors: IntegrationError[] = [];

beforeAll(async () => {
  raw = await rawClient();
  conn = await createMqttConnector({
    name: 'sensors',
    broker: BROKER,
    topics: [
      { name: `${P}/sensors/+/temperature`, qos: 1 },
      { name: `${P}/exact/#`, qos: 2 },
      { name: `${P}/q0`, qos: 0 },
    ],
    deadLetterTopic: `${P}/dead`,
    retryDelayMs: 20,
    onError: (e) => void errors.push(e),
  });
});

afterAll(async () => {
  await conn?.close();
  await raw?.endAsync();
});

describe('connector-mqtt', () => {
  it('topic filters: + one level, # the rest (and the parent), $ topics apart', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d/c')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('$share/g/a/+', 'a/b')).toBe(true);
  });

  it('bad options are IN002 naming the option; a refused connection IN501', async () => {
    const bad = await expectIntegrationError(
      () => createMqttConnector({ name: 'x', broker: BROKER, topics: [{ name: 'a/b+/c', qos: 1 }] }),
      ErrorCode.InvalidConfiguration,
      { allowSyncThrow: true },
    );
    expect(bad.field).toBe('topics[0].name');
    const qos = await expectIntegrationError(
      () => createMqttConnector({ name: 'x', broker: BROKER, topics: [{ name: 'a', qos: 3 as 1 }] }),
      ErrorCode.InvalidConfiguration,
    );
    expect(qos.field).toBe('topics[0].qos');
    await expectIntegrationError(
      () => createMqttConnector({ name: 'x', broker: 'http://127.0.0.1:1883' }),
      ErrorCode.InvalidConfiguration,
    );
    const refused = await expectIntegrationError(
      () => createMqttConnector({ name: 'x', broker: 'mqtt://127.0.0.1:1' }),
      ErrorCode.ConnectionRefused,
    );
    const pw = await expectIntegrationError(
      () => createMqttConnector({ name: 'x', broker: BROKER, password: 'pw-secret-1' }),
      ErrorCode.InvalidConfiguration,
    );
    expect(pw.message).not.toContain('pw-secret-1');
    expect(refused.message).toMatch(/^\[connector-mqtt x\] connect failed/);
  });

  it('wildcard subscriptions get exactly their topics, with topic and QoS in the headers', async () => {
    const temps: MqttMessage[] = [];
    const all: MqttMessage[] = [];
    const stopT = await conn.subscribe(`${P}/sensors/+/temperature`, async (m) => void temps.push(m));
    const stopA = await conn.subscribe(`${P}/exact/#`, async (m) => void all.push(m));
    await raw.publishAsync(`${P}/sensors/a/temperature`, JSON.stringify({ c: 20 }), { qos: 1 });
    await raw.publishAsync(`${P}/sensors/a/humidity`, JSON.stringify({ h: 50 }), { qos: 1 });
    await raw.publishAsync(`${P}/sensors/b/temperature`, JSON.stringify({ c: 31 }), { qos: 0 });
    await raw.publishAsync(`${P}/exact`, JSON.stringify({ n: 0 }), { qos: 2 });
    await raw.publishAsync(`${P}/exact/x/y`, JSON.stringify({ n: 1 }), { qos: 2 });
    await until(() => temps.length === 2 && all.length === 2, 5000, '4 messages');
    expect(temps.map((m) => m.body)).toEqual([{ c: 20 }, { c: 31 }]);
    expect(temps[0]?.headers).toMatchObject({ 'mqtt-topic': `${P}/sensors/a/temperature`, 'mqtt-qos': '1' });
    expect(temps[1]?.headers['mqtt-qos']).toBe('0');
    expect(all.map((m) => [m.headers['mqtt-topic'], m.headers['mqtt-qos']])).toEqual([
      [`${P}/exact`, '2'],
      [`${P}/exact/x/y`, '2'],
    ]);
    await stopT();
    await stopA();
  });

  it('publish with QoS 0/1/2 (default 1) reaches a subscriber', async () => {
    const got: { topic: string; qos: number; body: unknown }[] = [];
    await raw.subscribeAsync(`${P}/out/#`, { qos: 2 });
    raw.on('message', (topic, payload, packet) => {
      if (topic.startsWith(`${P}/out/`))
        got.push({ topic, qos: packet.qos, body: JSON.parse(payload.toString()) });
    });
    await conn.publish(`${P}/out/default`, { q: 'default' });
    await conn.publish(`${P}/out/zero`, { q: 0 }, { qos: 0 });
    await conn.deliver({ body: { q: 2 } }, { topic: `${P}/out/two`, qos: 2 });
    await until(() => got.length === 3, 5000, '3 messages');
    expect(Object.fromEntries(got.map((g) => [g.topic.split('/').pop(), g.qos]))).toEqual({
      default: 1,
      zero: 0,
      two: 2,
    });
    await expectIntegrationError(() => conn.publish(`${P}/a/+`, {}), ErrorCode.InvalidConfiguration);
    await expectIntegrationError(
      () => conn.publish(`${P}/a`, {}, { qos: 3 as 1 }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(() => conn.publish(`${P}/a`, 10n), ErrorCode.InvalidJobData);
    await expectIntegrationError(
      () => conn.subscribe('a/#/b', async () => {}),
      ErrorCode.InvalidConfiguration,
    );
  });

  it('a QoS 1 message is acknowledged only after its handler resolved: redelivered after a reconnect', async () => {
    const proxy = await tcpProxy();
    const c = await createMqttConnector({
      name: 'acks',
      broker: proxy.url,
      reconnectPeriodMs: 100,
      // A second slot for the redelivery while the first handler still holds the message.
      concurrency: 2,
    });
    const seen: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await c.subscribe(`${P}/ack`, async (m) => {
      seen.push(m.body);
      if ((m.body as { n: number }).n === 1 && seen.length === 1) await gate;
    });
    await raw.publishAsync(`${P}/ack`, JSON.stringify({ n: 1 }), { qos: 1 });
    await until(() => seen.length === 1, 5000, 'the first delivery');
    // Drop the socket while the handler holds the message: the broker still owes it (no PUBACK yet).
    proxy.cut();
    await until(() => seen.length === 2, 10_000, 'the redelivery');
    expect(seen).toEqual([{ n: 1 }, { n: 1 }]);
    release();
    await until(() => c.stats().handled === 2, 5000, 'both handled');
    await c.close();
    await proxy.close();
  });

  it('acks really go out (QoS 1 PUBACK, QoS 2 PUBCOMP): nothing handled comes back after a reconnect', async () => {
    const proxy = await tcpProxy();
    const c = await createMqttConnector({ name: 'acked', broker: proxy.url, reconnectPeriodMs: 100 });
    const seen: string[] = [];
    await c.subscribe(`${P}/acked/#`, async (m) => void seen.push((m.body as { id: string }).id));
    await raw.publishAsync(`${P}/acked/a`, JSON.stringify({ id: 'q1' }), { qos: 1 });
    await raw.publishAsync(`${P}/acked/b`, JSON.stringify({ id: 'q2' }), { qos: 2 });
    await until(() => seen.length === 2 && c.stats().handled === 2, 5000, 'both handled');
    // Give the acks a moment on the wire, then cut: unacked messages would be resent first.
    await new Promise((r) => setTimeout(r, 100));
    proxy.cut();
    await until(() => c.stats().reconnects >= 1 && c.stats().connected, 10_000, 'the reconnect');
    await raw.publishAsync(`${P}/acked/c`, JSON.stringify({ id: 'after' }), { qos: 1 });
    await until(() => seen.includes('after'), 5000, 'the message after the reconnect');
    expect(seen).toEqual(['q1', 'q2', 'after']);
    await c.close();
    await proxy.close();
  });

  it('malformed payloads: IN308 reported, kept on the dead-letter topic, the subscription goes on', async () => {
    const dead: Buffer[] = [];
    await raw.subscribeAsync(`${P}/dead`, { qos: 1 });
    raw.on('message', (topic, payload) => {
      if (topic === `${P}/dead`) dead.push(payload);
    });
    const got: unknown[] = [];
    const stop = await conn.subscribe(`${P}/q0`, async (m) => void got.push(m.body));
    await raw.publishAsync(`${P}/q0`, Buffer.from([0xc3, 0x28]), { qos: 1 });
    await raw.publishAsync(`${P}/q0`, 'temp=21', { qos: 1 });
    await raw.publishAsync(`${P}/q0`, '{"ok":1}', { qos: 1 });
    await until(() => got.length === 1 && dead.length === 2, 5000, 'the good message and 2 dead letters');
    expect(got).toEqual([{ ok: 1 }]);
    expect(dead.map((b) => b.toString('hex'))).toEqual(['c328', Buffer.from('temp=21').toString('hex')]);
    const msgs = errors.filter((e) => e.code === ErrorCode.InvalidJobData).map((e) => e.message);
    expect(msgs.some((m) => m.includes('is not valid UTF-8'))).toBe(true);
    expect(msgs.some((m) => m.includes('payload is not JSON ("temp=21")'))).toBe(true);
    await stop();
  });

  it('test() answers with a round trip; closed connectors say so', async () => {
    expect(await conn.test()).toMatchObject({ ok: true });
    const c = await createMqttConnector({ name: 't', broker: BROKER });
    await c.close();
    await c.close();
    expect(await c.test()).toEqual({ ok: false, latencyMs: 0, detail: 'connector is closed' });
    await expectIntegrationError(() => c.publish('a', {}), ErrorCode.ProviderUnavailable);
  });
});
