import { ErrorCode, type IntegrationError } from '@fraiseql/core';
import { expectIntegrationError } from '@fraiseql/testkit';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpConnector, type AmqpMessage, createAmqpConnector } from '../src/index.ts';
import { cleanup, names, rabbit, rawAmqp, until } from './helpers.ts';

const n = names('camqp');
const EX = n('events');
const DLX = n('dlx');
const Q = n('temps');
const DEAD = n('dead');
const HOT = n('hot');
const topology = {
  exchanges: [
    { name: EX, type: 'topic' as const },
    { name: DLX, type: 'fanout' as const },
  ],
  queues: [
    { name: Q, bindings: [{ exchange: EX, routingKey: 'sensors.*.temperature' }], deadLetterExchange: DLX },
    { name: HOT, bindings: [{ exchange: EX, routingKey: 'alerts.#' }] },
    { name: DEAD, bindings: [{ exchange: DLX, routingKey: '' }] },
  ],
};

let raw: ChannelModel;
let conn: AmqpConnector;
const errors: IntegrationError[] = [];

beforeAll(async () => {
  raw = await rawAmqp();
  conn = await createAmqpConnector({
    name: 'bus',
    url: rabbit.url,
    ...topology,
    prefetch: 5,
    requeueDelayMs: 10,
    onError: (e) => void errors.push(e),
  });
});

afterAll(async () => {
  await conn?.close();
  await cleanup(raw, [Q, DEAD, HOT], [EX, DLX]);
  await raw?.close();
});

async function depth(queue: string): Promise<number> {
  const ch = await raw.createChannel();
  const { messageCount } = await ch.checkQueue(queue);
  await ch.close();
  return messageCount;
}

describe('connector-amqp', () => {
  it('declares the topology idempotently: a second connector with the same config starts', async () => {
    const again = await createAmqpConnector({ name: 'bus2', url: rabbit.url, ...topology });
    expect(await again.test()).toMatchObject({ ok: true });
    await again.close();
    expect(await again.test()).toMatchObject({ ok: false, detail: 'connector is closed' });
  });

  it('a conflicting declaration is IN002 naming the queue; bad options are IN002', async () => {
    const err = await expectIntegrationError(
      () => createAmqpConnector({ name: 'x', url: rabbit.url, queues: [{ name: Q, durable: false }] }),
      ErrorCode.InvalidConfiguration,
    );
    expect(err.message).toContain(`declare queue "${Q}" failed`);
    await expectIntegrationError(
      () => createAmqpConnector({ name: 'x', url: 'http://h' }),
      ErrorCode.InvalidConfiguration,
      {
        allowSyncThrow: true,
      },
    );
    const bad = await expectIntegrationError(
      () =>
        createAmqpConnector({
          name: 'x',
          url: rabbit.url,
          exchanges: [{ name: 'e', type: 'headers' as 'topic' }],
        }),
      ErrorCode.InvalidConfiguration,
    );
    expect(bad.field).toBe('exchanges[0].type');
    const unbound = await expectIntegrationError(
      () =>
        createAmqpConnector({
          name: 'x',
          url: rabbit.url,
          queues: [{ name: 'q', bindings: [{ exchange: 'nope' }] }],
        }),
      ErrorCode.InvalidConfiguration,
    );
    expect(unbound.message).toContain('not among the declared exchanges');
  });

  it('connection errors: refused is IN501 (transient), a wrong password IN002 and never shown', async () => {
    await expectIntegrationError(
      () => createAmqpConnector({ name: 'x', url: 'amqp://guest:guest@127.0.0.1:1' }),
      ErrorCode.ConnectionRefused,
    );
    const err = await expectIntegrationError(
      () => createAmqpConnector({ name: 'x', url: 'amqp://guest:s3cretpw@127.0.0.1:5672' }),
      ErrorCode.InvalidConfiguration,
    );
    expect(err.message).toMatch(/^\[connector-amqp x\] connect failed/);
    expect(err.message).not.toContain('s3cretpw');
  });

  it('publish (confirmed) → topic binding → subscribe; acked only after the handler resolved', async () => {
    const got: AmqpMessage[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const stop = await conn.subscribe(Q, async (m) => {
      got.push(m);
      await gate;
    });
    await conn.publish(
      EX,
      { c: 21 },
      { routingKey: 'sensors.a.temperature', messageId: 'm1', headers: { h: 'v' } },
    );
    await conn.publish('sensors.b.temperature', { c: 22 }, { exchange: EX });
    await until(() => got.length === 2, 5000, '2 deliveries');
    // Both are held by the handler: unacknowledged at the broker, not yet gone.
    const ch = await raw.createChannel();
    const q = await ch.checkQueue(Q);
    await ch.close();
    expect(q.messageCount).toBe(0);
    expect(conn.stats().inFlight).toBe(2);
    release();
    await until(() => conn.stats().acked === 2, 5000, '2 acks');
    expect(got[0]).toMatchObject({
      body: { c: 21 },
      id: 'm1',
      headers: { h: 'v', 'amqp-exchange': EX, 'amqp-routing-key': 'sensors.a.temperature' },
    });
    expect(got[1]?.body).toEqual({ c: 22 });
    await stop();
    expect(await depth(Q)).toBe(0);
  });

  it('a failing handler: nacked and redelivered until it succeeds', async () => {
    let calls = 0;
    const stop = await conn.subscribe(Q, async () => {
      calls++;
      if (calls < 3) throw new Error('destination down');
    });
    const before = conn.stats();
    await conn.deliver({ body: { c: 1 } }, { exchange: EX, routingKey: 'sensors.z.temperature' });
    await until(() => conn.stats().acked === before.acked + 1, 5000, 'the ack after 2 failures');
    expect(calls).toBe(3);
    expect(conn.stats().requeued - before.requeued).toBe(2);
    await stop();
  });

  it('non-UTF-8 and non-JSON bodies: IN308, rejected to the dead-letter exchange, the subscription goes on', async () => {
    const got: unknown[] = [];
    const stop = await conn.subscribe(Q, async (m) => void got.push(m.body));
    const ch = await raw.createChannel();
    ch.publish(EX, 'sensors.x.temperature', Buffer.from([0xff, 0xfe, 0x00]));
    ch.publish(EX, 'sensors.x.temperature', Buffer.from('not json {'));
    ch.publish(EX, 'sensors.x.temperature', Buffer.from('{"ok":true}'));
    await ch.close();
    await until(() => got.length === 1, 5000, 'the good message');
    await until(async () => (await depth(DEAD)) === 2, 5000, '2 dead-lettered');
    expect(got).toEqual([{ ok: true }]);
    const bad = errors.filter((e) => e.code === ErrorCode.InvalidJobData).map((e) => e.message);
    expect(bad.some((m) => m.includes('is not valid UTF-8'))).toBe(true);
    expect(bad.some((m) => m.includes('body is not JSON ("not json {")'))).toBe(true);
    expect(conn.stats().rejected).toBeGreaterThanOrEqual(2);
    await stop();
  });

  it('publish to a missing exchange or an unroutable key is IN404 (permanent); bad arguments are rejected', async () => {
    const missing = await expectIntegrationError(
      () => conn.publish(n('nope'), { a: 1 }, { routingKey: 'k' }),
      ErrorCode.RabbitMQError,
    );
    expect(missing.message).toContain('NOT_FOUND');
    const unroutable = await expectIntegrationError(
      () => conn.deliver({ body: { a: 1 } }, { exchange: EX, routingKey: 'nobody.listens' }),
      ErrorCode.RabbitMQError,
    );
    expect(unroutable.message).toContain('unroutable');
    await expectIntegrationError(
      () => conn.publish(EX, () => 1, { routingKey: 'alerts.x' }),
      ErrorCode.InvalidJobData,
    );
    await expectIntegrationError(
      () => conn.subscribe(n('missing-queue'), async () => {}),
      ErrorCode.RabbitMQError,
    );
    // The connector still works after the channel errors.
    await conn.publish(EX, { still: 'ok' }, { routingKey: 'alerts.fire' });
    await until(async () => (await depth(HOT)) === 1, 5000, 'the alert');
  });

  it('prefetch bounds the unacknowledged messages of a slow handler', async () => {
    const ch = await raw.createChannel();
    for (let i = 0; i < 40; i++) ch.publish(EX, 'sensors.p.temperature', Buffer.from(JSON.stringify({ i })));
    await ch.close();
    conn.resetStats();
    let done = 0;
    const stop = await conn.subscribe(Q, async () => {
      await new Promise((r) => setTimeout(r, 5));
      done++;
    });
    await until(() => done === 40, 15_000, '40 handled');
    expect(conn.stats().maxInFlight).toBe(5);
    await stop();
  });
});
