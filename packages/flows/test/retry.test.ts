import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, type Connector, createFlowEngine, type FlowManager } from '../src/index';
import { type PgQueue, pg, pgQueue, until } from './helpers';

/** A connector whose request fails `failures` times (HTTP 503), then answers 200. */
function flaky(failures: number): Connector & { calls: number } {
  const c = {
    name: 'sink',
    type: 'http',
    calls: 0,
    test: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => undefined,
    request: async () => {
      c.calls++;
      return c.calls <= failures ? { status: 503, body: null } : { status: 200, body: { ok: true } };
    },
  };
  return c;
}

describe('retry then DLQ', () => {
  let engine: FlowManager | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('computes exponential (capped) and linear backoff', () => {
    const exp = { type: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 3 } as const;
    expect([1, 2, 3, 4].map((n) => backoffDelay(exp, n))).toEqual([100, 300, 900, 1000]);
    const lin = { type: 'linear', initialMs: 50, stepMs: 25 } as const;
    expect([1, 2, 3].map((n) => backoffDelay(lin, n))).toEqual([50, 75, 100]);
  });

  it('exponential: retries a failing step with the policy delays, then dead-letters', async () => {
    const waits: number[] = [];
    const sink = flaky(99);
    engine = await createFlowEngine({ connectors: [sink], sleep: async (ms) => void waits.push(ms) });
    await engine.createFlow({
      name: 'exp',
      source: { type: 'http' },
      steps: [{ type: 'deliver', name: 'push', to: { connector: 'sink', path: '/in' } }],
      errorHandling: {
        retry: {
          maxAttempts: 5,
          backoff: { type: 'exponential', initialMs: 100, maxMs: 500, multiplier: 2 },
        },
      },
    });
    await engine.startFlow('exp');
    const id = await engine.post('exp', { n: 1 });
    expect(sink.calls).toBe(5);
    expect(waits).toEqual([100, 200, 400, 500]);
    const [dl] = engine.deadLetters('exp');
    expect(dl).toMatchObject({ flow: 'exp', step: 'push', attempts: 5, message: { id, body: { n: 1 } } });
    expect(dl?.reason).toMatch(/HTTP 503/);
    expect(engine.getFlowStatus('exp')).toMatchObject({ processed: 0, failed: 1, dlq: 1 });
  });

  it('linear: recovers before maxAttempts and delivers once', async () => {
    const waits: number[] = [];
    const sink = flaky(2);
    engine = await createFlowEngine({ connectors: [sink], sleep: async (ms) => void waits.push(ms) });
    await engine.createFlow({
      name: 'lin',
      source: { type: 'http' },
      steps: [{ type: 'deliver', name: 'push', to: { connector: 'sink' } }],
      errorHandling: { retry: { backoff: { type: 'linear', initialMs: 30, stepMs: 20 } } },
    });
    await engine.startFlow('lin');
    await engine.post('lin', { n: 2 });
    expect(waits).toEqual([30, 50]);
    expect(sink.calls).toBe(3);
    expect(engine.getFlowStatus('lin')).toMatchObject({ processed: 1, dlq: 0 });
  });

  it('real timers: default 3 attempts with the linear delays elapsed', async () => {
    const sink = flaky(99);
    engine = await createFlowEngine({ connectors: [sink] });
    await engine.createFlow({
      name: 'timed',
      source: { type: 'http' },
      steps: [{ type: 'deliver', name: 'push', to: { connector: 'sink' } }],
      errorHandling: { retry: { backoff: { type: 'linear', initialMs: 100, stepMs: 100 } } },
    });
    await engine.startFlow('timed');
    const t0 = Date.now();
    await engine.post('timed', {});
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(sink.calls).toBe(3);
    expect(engine.deadLetters('timed')).toHaveLength(1);
  });

  it('validation failure goes straight to the DLQ with the step name and ajv errors; no retry', async () => {
    const waits: number[] = [];
    engine = await createFlowEngine({ sleep: async (ms) => void waits.push(ms) });
    await engine.createFlow({
      name: 'val',
      source: { type: 'http' },
      steps: [
        {
          type: 'validate',
          name: 'check',
          schema: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } },
        },
      ],
    });
    await engine.startFlow('val');
    await engine.post('val', { a: 'x' });
    await engine.post('val', { a: 1 });
    expect(waits).toEqual([]);
    const dls = engine.deadLetters('val');
    expect(dls).toHaveLength(1);
    expect(dls[0]).toMatchObject({ step: 'check', attempts: 1 });
    expect(dls[0]?.reason).toMatch(/validation failed: \/a must be integer/);
    expect(engine.getFlowStatus('val')).toMatchObject({ processed: 1, dlq: 1 });
  });

  it('unroutable message → DLQ "unroutable"', async () => {
    const sink = flaky(0);
    engine = await createFlowEngine({ connectors: [sink] });
    await engine.createFlow({
      name: 'rt',
      source: { type: 'http' },
      steps: [{ type: 'route', name: 'pick', routes: [{ when: "kind == 'a'", to: { connector: 'sink' } }] }],
    });
    await engine.startFlow('rt');
    await engine.post('rt', { kind: 'a' });
    await engine.post('rt', { kind: 'b' });
    expect(sink.calls).toBe(1);
    expect(engine.deadLetters('rt')).toMatchObject([
      { step: 'pick', reason: expect.stringMatching(/unroutable/) },
    ]);
  });
});

describe.skipIf(!pg.available)('DLQ on a queue provider', () => {
  let q: PgQueue;
  afterEach(async () => q?.close());
  it('http source is durable through <flow>.http and dead-letters to <flow>.dlq', async () => {
    q = await pgQueue();
    const engine = await createFlowEngine({ providers: { queue: q.queue } });
    try {
      await engine.createFlow({
        name: 'hq',
        source: { type: 'http' },
        steps: [{ type: 'route', name: 'pick', routes: [{ when: 'n > 0', to: { queue: 'positive' } }] }],
      });
      const a = await engine.post('hq', { n: 1 }, { 'x-trace': 't1' });
      const b = await engine.post('hq', { n: -1 });
      expect(await q.queue.queueLength('hq.http')).toBe(2);
      await engine.startFlow('hq');
      await until(() => engine.getFlowStatus('hq').processed + engine.getFlowStatus('hq').dlq === 2);
      expect(await q.pending('positive')).toEqual([{ n: 1 }]);
      const dlq = await q.pending<{ step: string; reason: string; message: { id: string } }>('hq.dlq');
      expect(dlq).toMatchObject([
        { step: 'pick', reason: expect.stringMatching(/unroutable/), message: { id: b } },
      ]);
      expect(a).not.toBe(b);
    } finally {
      await engine.close();
    }
  });
});

describe.skipIf(!pg.available)('a body the queue refuses', () => {
  it('still reaches the DLQ, with the body omitted', async () => {
    const q = await pgQueue();
    const engine = await createFlowEngine({ providers: { queue: q.queue } });
    try {
      await engine.createFlow({
        name: 'big',
        source: { type: 'queue', queue: 'big-in' },
        steps: [
          { type: 'transform', name: 't', mapping: { blob: '$.blob', copy: '$.blob' } },
          { type: 'deliver', name: 'd', to: { queue: 'big-out' } },
        ],
      });
      await engine.startFlow('big');
      await q.queue.enqueue('big-in', { blob: 'x'.repeat(700 * 1024) });
      await until(() => engine.getFlowStatus('big').dlq === 1, 15_000, 'dead letter');
      const [dl] = await q.pending<{ step: string; message: { body: string } }>('big.dlq');
      expect(dl?.step).toBe('d');
      expect(dl?.message.body).toMatch(/body omitted/);
      expect(await q.queue.failedCount('big-in')).toBe(0);
    } finally {
      await engine.close();
      await q.close();
    }
  });
});
