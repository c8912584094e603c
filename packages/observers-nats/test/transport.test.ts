import { IntegrationError } from '@fraiseql/core';
import type { EntityEvent } from '@fraiseql/observers';
import { headers } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatsTransport, decodeToken, encodeToken } from '../src/index';
import { freePort, names, natsAvailable, ownNatsServer, sleep, Transports, until } from './helpers';

function ev(id: number, over: Partial<EntityEvent> = {}): EntityEvent {
  return {
    id: String(id),
    source: 'default',
    entity: 'Order',
    entityId: `o-${id}`,
    kind: 'INSERT',
    data: { n: id, nested: { ok: true } },
    createdAt: new Date(1_700_000_000_000 + id),
    ...over,
  };
}

describe('options', () => {
  it.each([
    [{}, 'servers'],
    [{ servers: [] }, 'servers'],
    [{ servers: 'nats://x', stream: 'a.b' }, 'stream'],
    [{ servers: 'nats://x', subjectPrefix: 'a.*' }, 'subjectPrefix'],
    [{ servers: 'nats://x', subjectPrefix: 'a..b' }, 'subjectPrefix'],
    [{ servers: 'nats://x', durable: '' }, 'durable'],
    [{ servers: 'nats://x', ackWaitMs: 0 }, 'ackWaitMs'],
    [{ servers: 'nats://x', maxDeliver: 1.5 }, 'maxDeliver'],
    [{ servers: 'nats://x', maxInFlight: -1 }, 'maxInFlight'],
  ])('%j → IN002 on %s', async (opts, field) => {
    const err = await createNatsTransport(opts as never).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('IN002');
    expect(err.field).toBe(field);
  });

  it('unreachable server → IntegrationError IN502 quickly, no hang', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await createNatsTransport({
      servers: `nats://127.0.0.1:${port}`,
      connectTimeoutMs: 2000,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect(['IN502', 'IN500']).toContain(err.code);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('subject tokens are reversible and never contain . * > or spaces', () => {
    for (const s of ['Order', 'Order Line', 'a.b', '*', '>', 'x~y', '', 'été', 'a\tb']) {
      const t = encodeToken(s);
      expect(t).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(decodeToken(t)).toBe(s);
    }
    expect(encodeToken('Order Line')).toBe('Order~20Line');
  });
});

describe.skipIf(!natsAvailable)('NATS JetStream transport', () => {
  const ts = new Transports();
  afterEach(() => ts.cleanup(), 30_000);

  it('round trip keeps the event (Date revived) on <prefix>.<source>.<entity>.<kind>, hostile names encoded', async () => {
    const n = names();
    const t = await ts.make(n);
    const hostile = ev(7, { entity: 'Order Line.*>', source: 'db 1' });
    expect(t.subjectOf(hostile)).toBe(`${n.subjectPrefix}.db~201.Order~20Line~2E~2A~3E.INSERT`);
    const got: EntityEvent[] = [];
    await t.subscribe(async (e) => {
      got.push(e);
    });
    await t.publish([ev(1), hostile]);
    await until(() => got.length === 2, 10_000, 'two events');
    const byId = new Map(got.map((e) => [e.id, e]));
    expect(byId.get('1')).toEqual(ev(1));
    expect(byId.get('7')).toEqual(hostile);
    expect(byId.get('7')?.createdAt).toBeInstanceOf(Date);
    const last = await t.jsm.streams
      .getMessage(t.stream, { last_by_subj: t.subjectOf(hostile) })
      .catch(() => null);
    // Work-queue retention removes acked messages; the subject is checked through the stream's subjects instead.
    expect(last).toBeNull();
  });

  it('re-publishing the same ids is deduplicated by Nats-Msg-Id', async () => {
    const t = await ts.make(names());
    const batch = Array.from({ length: 50 }, (_, i) => ev(i + 1));
    await t.publish(batch);
    await t.publish(batch);
    await t.publish(batch.slice(10, 20));
    const info = await t.jsm.streams.info(t.stream);
    expect(info.state.messages).toBe(50);
    // Another source with the same ids is a different event.
    await t.publish(batch.map((e) => ({ ...e, source: 'db2' })));
    expect((await t.jsm.streams.info(t.stream)).state.messages).toBe(100);
  });

  it('a rejecting handler gets the event again; after maxDeliver it is terminated', async () => {
    const logs: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (_: object, m?: string) => logs.push(`warn ${m}`),
      error: (_: object, m?: string) => logs.push(`error ${m}`),
    };
    const t = await ts.make({ ...names(), maxDeliver: 3, nakDelayMs: 50, ackWaitMs: 2000, logger });
    const deliveries = new Map<string, number>();
    await t.subscribe(async (e) => {
      const n = (deliveries.get(e.id) ?? 0) + 1;
      deliveries.set(e.id, n);
      if (e.id === '1' && n < 2) throw new Error('flaky'); // succeeds on the 2nd delivery
      if (e.id === '2') throw new Error('always fails');
    });
    await t.publish([ev(1), ev(2), ev(3)]);
    await until(() => deliveries.get('1') === 2 && deliveries.get('2') === 3, 10_000, 'redeliveries');
    await sleep(2500); // longer than ackWait and the nak delays: nothing comes back
    expect(Object.fromEntries(deliveries)).toEqual({ '1': 2, '2': 3, '3': 1 });
    expect(logs.filter((l) => l.startsWith('error'))).toHaveLength(1);
    const c = await t.jsm.consumers.info(t.stream, t.durable);
    expect(c.num_ack_pending).toBe(0);
    expect(c.num_pending).toBe(0);
  });

  it('a malformed message is terminated and consumption continues', async () => {
    const t = await ts.make(names());
    const got: string[] = [];
    await t.subscribe(async (e) => {
      got.push(e.id);
    });
    const js = (await import('@nats-io/jetstream')).jetstream(t.connection);
    await js.publish(`${t.subjectPrefix}.default.Order.INSERT`, 'not json');
    await js.publish(`${t.subjectPrefix}.default.Order.INSERT`, JSON.stringify({ id: 'x', kind: 'NOPE' }));
    const h = headers();
    h.set('x', 'y');
    await js.publish(`${t.subjectPrefix}.default.Order.INSERT`, new Uint8Array([0xff, 0xfe]), { headers: h });
    await t.publish([ev(9)]);
    await until(() => got.includes('9'), 10_000, 'the good event');
    await until(
      async () => {
        const c = await t.jsm.consumers.info(t.stream, t.durable);
        return c.num_pending === 0 && c.num_ack_pending === 0 && c.num_redelivered === 0;
      },
      5000,
      `nothing pending: ${JSON.stringify(await t.jsm.consumers.info(t.stream, t.durable).then((c) => [c.num_pending, c.num_ack_pending, c.num_redelivered]))}`,
    );
    await sleep(300);
    expect(got).toEqual(['9']);
  });

  it('close() waits for handlers in flight and unacked messages go to the next worker', async () => {
    const n = names();
    const a = await ts.make({ ...n, ackWaitMs: 1000 });
    let finished = 0;
    await a.subscribe(async () => {
      await sleep(300);
      finished++;
    });
    await a.publish(Array.from({ length: 5 }, (_, i) => ev(i + 1)));
    await until(
      async () => (await a.jsm.consumers.info(a.stream, a.durable)).num_ack_pending > 0,
      5000,
      'deliveries',
    );
    await a.close();
    expect(finished).toBeGreaterThan(0);
    const b = await ts.make(n);
    const seen = new Set<string>();
    await b.subscribe(async (e) => {
      seen.add(e.id);
    });
    await b.publish(Array.from({ length: 5 }, (_, i) => ev(i + 100)));
    await until(
      async () => (await b.jsm.streams.info(b.stream)).state.messages === 0,
      10_000,
      'everything acked',
    );
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('survives a broker restart: publishing and consuming resume on the same transport', async () => {
    const server = await ownNatsServer();
    const local = new Transports();
    try {
      const t = await local.make({
        servers: server.url,
        ...names(),
        reconnectTimeWaitMs: 200,
        publishTimeoutMs: 2000,
      });
      const got = new Set<string>();
      await t.subscribe(async (e) => {
        got.add(e.id);
      });
      await t.publish([ev(1)]);
      await until(() => got.has('1'), 5000, 'the first event');
      await server.kill();
      const err = await t.publish([ev(2)]).catch((e) => e);
      expect(err).toBeInstanceOf(IntegrationError);
      await server.restart();
      await until(
        async () =>
          await t.publish([ev(3)]).then(
            () => true,
            () => false,
          ),
        20_000,
        'publishing again',
      );
      await until(() => got.has('3'), 20_000, 'consumption to resume');
    } finally {
      await local.cleanup(server.url);
      await server.stop();
    }
  }, 60_000);
});
