import { type Connector, createFlowEngine, type FlowManager } from '@fraiseql/flows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type Harness, harness, json } from './helpers';

describe('flow routes (DESIGN §10.5)', () => {
  let h: Harness;
  let flows: FlowManager;
  const delivered: unknown[] = [];
  const sink: Connector = {
    name: 'sink',
    type: 'test',
    test: async () => ({ ok: true, latencyMs: 1 }),
    close: async () => undefined,
    deliver: async (message) => {
      delivered.push(message.body);
    },
  };
  beforeAll(async () => {
    flows = await createFlowEngine({ connectors: [sink] });
    await flows.createFlow({
      name: 'orders',
      source: { type: 'http' },
      steps: [
        { type: 'transform', name: 'map', mapping: { id: '$.orderId', total: '$.amount' } },
        { type: 'deliver', name: 'out', to: { connector: 'sink' } },
      ],
    });
    h = await harness(undefined, { without: ['queue'] });
    h.integrations.flows = flows;
    h.integrations.connectors = [sink];
  });
  afterAll(async () => {
    await h?.close();
    await flows?.close();
  });

  it('lists, starts, receives a message, shows status and logs, stops', async () => {
    expect(json(await h.call({ method: 'GET', url: '/flows' }))).toMatchObject([
      { name: 'orders', state: 'created' },
    ]);
    expect(json(await h.call({ method: 'POST', url: '/flows/orders/start' }))).toMatchObject({
      name: 'orders',
      state: 'running',
    });
    const posted = await h.call({
      method: 'POST',
      url: '/flows/orders/messages',
      payload: { orderId: 'o-1', amount: 12 },
    });
    expect(posted.statusCode).toBe(202);
    expect(json(posted).id).toEqual(expect.any(String));
    expect(delivered).toEqual([{ id: 'o-1', total: 12 }]);
    expect(json(await h.call({ method: 'GET', url: '/flows/orders' }))).toMatchObject({
      processed: 1,
      failed: 0,
    });
    expect(json(await h.call({ method: 'GET', url: '/flows/orders/logs?limit=10' })).length).toBeGreaterThan(
      0,
    );
    expect(json(await h.call({ method: 'POST', url: '/flows/orders/stop' }))).toMatchObject({
      state: 'stopped',
    });
  });

  it('connectors and plugins; unknown names are 404', async () => {
    expect(json(await h.call({ method: 'GET', url: '/connectors' }))).toEqual([
      { name: 'sink', type: 'test', health: { ok: true, latencyMs: 1 } },
    ]);
    // A plugin's connector is listed too; one whose target fails reads unhealthy, with the reason.
    await flows.plugins.registerPlugin({
      name: 'broken-bridge',
      version: '1.0.0',
      manifest: {},
      connectors: [
        {
          name: 'bridge',
          type: 'carrier',
          test: async () => {
            throw new Error('connect ECONNREFUSED 127.0.0.1:9');
          },
          close: async () => undefined,
        },
      ],
    });
    const listed = json(await h.call({ method: 'GET', url: '/connectors' })) as {
      name: string;
      health: { ok: boolean; detail?: string };
    }[];
    expect(listed.map((c) => [c.name, c.health.ok])).toEqual([
      ['sink', true],
      ['bridge', false],
    ]);
    expect(listed[1]?.health.detail).toMatch(/ECONNREFUSED/);
    await flows.plugins.unregisterPlugin('broken-bridge');
    expect(json(await h.call({ method: 'POST', url: '/connectors/sink/test' }))).toMatchObject({ ok: true });
    expect(json(await h.call({ method: 'GET', url: '/plugins' }))).toEqual([]);
    for (const url of ['/flows/nope', '/flows/nope/logs'])
      expect(errorOf(await h.call({ method: 'GET', url })).code).toBe('IN008');
    expect(errorOf(await h.call({ method: 'POST', url: '/connectors/nope/test' })).code).toBe('IN008');
  });

  it('answers IN004 when no flow engine is configured', async () => {
    const bare = await harness(undefined, { without: ['queue'] });
    try {
      expect(errorOf(await bare.call({ method: 'GET', url: '/flows' })).code).toBe('IN004');
      expect(json(await bare.call({ method: 'GET', url: '/connectors' }))).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});
