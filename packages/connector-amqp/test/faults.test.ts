import type { IntegrationError } from '@fraiseql/core';
import { type Connector, createFlowEngine, type FlowMessage } from '@fraiseql/flows';
import { describe, expect, it } from 'vitest';
import { createAmqpConnector } from '../src/index.ts';
import { cleanup, closeConnections, names, rabbit, rawAmqp, tally, until } from './helpers.ts';

/** A destination of the test itself: records ids, optionally slowly. */
function recorder(delayMs = 0) {
  const ids: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const c: Connector = {
    name: 'sink',
    type: 'recorder',
    test: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => {},
    deliver: async (m: FlowMessage) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      inFlight--;
      ids.push(String((m.body as { id: unknown }).id));
    },
  };
  return { c, ids, maxInFlight: () => maxInFlight };
}

describe('connector-amqp faults', () => {
  it('the broker closes the connection mid-stream: reconnect, re-declare, re-subscribe, 0 lost', async () => {
    const n = names('fclose');
    const IN = n('in');
    const EX = n('ex');
    const OUT = n('out');
    const raw = await rawAmqp();
    const connectionName = `fraiseql-test-${IN}`;
    const errors: IntegrationError[] = [];
    const bus = await createAmqpConnector({
      name: 'bus',
      url: rabbit.url,
      connectionName,
      exchanges: [{ name: EX, type: 'direct' }],
      queues: [{ name: IN }, { name: OUT, bindings: [{ exchange: EX, routingKey: 'out' }] }],
      prefetch: 20,
      reconnectInitialMs: 50,
      onError: (e) => void errors.push(e),
    });
    const engine = await createFlowEngine({
      connectors: [bus],
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
    });
    try {
      await engine.createFlow({
        name: 'relay',
        source: { type: 'connector', connector: 'bus', queue: IN },
        steps: [{ type: 'deliver', name: 'out', to: { connector: 'bus', exchange: EX, routingKey: 'out' } }],
        errorHandling: { retry: { maxAttempts: 50, backoff: { type: 'linear', initialMs: 50, stepMs: 0 } } },
      });
      const N = 3000;
      const ids = Array.from({ length: N }, (_, i) => `m${i}`);
      const ch = await raw.createConfirmChannel();
      for (const id of ids) ch.sendToQueue(IN, Buffer.from(JSON.stringify({ id })), { persistent: true });
      await ch.waitForConfirms();
      await engine.startFlow('relay');
      await until(() => bus.stats().acked >= 500, 20_000, '500 relayed');
      expect(await closeConnections(connectionName)).toBe(1);
      await until(() => bus.stats().reconnects >= 1, 20_000, 'the reconnect');
      // Drain OUT: every id must be there at least once.
      const got: string[] = [];
      await ch.consume(
        OUT,
        (m) => {
          if (m) got.push(JSON.parse(m.content.toString()).id);
        },
        { noAck: true },
      );
      await until(() => new Set(got).size === N, 40_000, `${N} distinct ids on the output queue`);
      const { lost, duplicates } = tally(got, ids);
      expect(lost).toEqual([]);
      // Messages in flight at the cut are redelivered: a few duplicates, never more than the window.
      expect(duplicates).toBeLessThanOrEqual(20 * 2);
      expect(engine.getFlowStatus('relay')).toMatchObject({ state: 'running', dlq: 0 });
      expect(errors.some((e) => e.message.includes('connection lost, reconnecting'))).toBe(true);
      await ch.close();
    } finally {
      await engine.close();
      await bus.close();
      await cleanup(raw, [IN, OUT], [EX]);
      await raw.close();
    }
  });

  it('backpressure: 100k messages queued, a slow destination — prefetch holds, memory stays bounded', async () => {
    const n = names('fbp');
    const Q = n('backlog');
    const raw = await rawAmqp();
    const ch = await raw.createChannel();
    await ch.assertQueue(Q, { durable: false });
    const body = Buffer.from(JSON.stringify({ id: 'x', payload: 'p'.repeat(200) }));
    const TOTAL = 100_000;
    for (let i = 0; i < TOTAL; i++) {
      if (!ch.sendToQueue(Q, body)) await new Promise((r) => ch.once('drain', r));
    }
    // A round trip after the publishes: the broker has them all once checkQueue answers.
    await until(async () => (await ch.checkQueue(Q)).messageCount >= TOTAL, 30_000, '100k queued');
    const PREFETCH = 50;
    const bus = await createAmqpConnector({ name: 'bus', url: rabbit.url, prefetch: PREFETCH });
    const sink = recorder(5);
    const engine = await createFlowEngine({ connectors: [bus, sink.c] });
    try {
      await engine.createFlow({
        name: 'slow',
        source: { type: 'connector', connector: 'bus', queue: Q },
        steps: [{ type: 'deliver', name: 'd', to: { connector: 'sink' } }],
      });
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      await engine.startFlow('slow');
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      await until(() => sink.ids.length >= 5000, 30_000, '5000 delivered');
      clearInterval(sampler);
      await engine.stopFlow('slow');
      expect(bus.stats().maxInFlight).toBeLessThanOrEqual(PREFETCH);
      expect(sink.maxInFlight()).toBeLessThanOrEqual(PREFETCH);
      // The backlog stayed at the broker, not in this process.
      expect((await ch.checkQueue(Q)).messageCount).toBeGreaterThan(TOTAL - 20_000);
      // Measured: ~5 MB of growth. Pulling the 100k backlog (~240 bytes each, plus a Buffer, a
      // message object and a promise per message) into the process would cost far more.
      expect(peak - rss0).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await engine.close();
      await bus.close();
      await ch.deleteQueue(Q).catch(() => {});
      await ch.close().catch(() => {});
      await raw.close();
    }
  });
});
