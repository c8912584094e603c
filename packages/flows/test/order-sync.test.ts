import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowEngine, type FlowDefinition, type FlowManager } from '../src/index';
import { httpConnector, type PgQueue, pg, pgQueue, type Service, startService, until } from './helpers';

const orderSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'customer', 'items', 'total'],
  properties: {
    id: { type: 'string' },
    customer: {
      type: 'object',
      required: ['id', 'email'],
      properties: { id: { type: 'string' }, email: { type: 'string', format: 'email' } },
    },
    items: { type: 'array', minItems: 1 },
    total: { type: 'number', minimum: 0 },
  },
};

/** The seed's order-sync flow. */
export function orderSync(): FlowDefinition {
  return {
    name: 'order-sync',
    description: 'Sync orders between systems',
    source: { type: 'queue', queue: 'orders', concurrency: 4 },
    steps: [
      {
        type: 'transform',
        name: 'transform-order',
        mapping: {
          id: '$.orderId',
          customer: { id: '$.customerId', email: '$.customerEmail' },
          items: '$.orderItems[*]',
          total: '$.orderTotal',
          origin: 'shop',
        },
      },
      { type: 'validate', name: 'validate-order', schema: orderSchema },
      {
        type: 'enrich',
        name: 'enrich-order',
        connector: 'customer-service',
        request: { path: '/customers/{customer.id}' },
        into: 'customer.profile',
        cacheTtlMs: 60_000,
      },
      {
        type: 'route',
        name: 'route-order',
        routes: [
          { when: 'total >= 1000', to: { queue: 'high-value-orders' } },
          { when: { field: 'total', op: 'lt', value: 1000 }, to: { queue: 'regular-orders' } },
        ],
      },
    ],
    errorHandling: {
      retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 10, maxMs: 100, multiplier: 2 } },
      dlq: 'failed-orders',
    },
    monitoring: { metrics: true, logging: { level: 'info', includePayload: false } },
  };
}

describe.skipIf(!pg.available)('order-sync (seed) end to end on queue-postgres', () => {
  let q: PgQueue;
  let customers: Service;
  let engine: FlowManager;
  const registry = new Registry();
  beforeAll(async () => {
    q = await pgQueue();
    customers = await startService((req) => {
      const id = decodeURIComponent(req.url?.split('/').pop() ?? '');
      return id.startsWith('c')
        ? { status: 200, body: { name: `Customer ${id}`, tier: id === 'c1' ? 'gold' : 'basic' } }
        : { status: 404 };
    });
    engine = await createFlowEngine({
      connectors: [httpConnector('customer-service', customers.url)],
      providers: { queue: q.queue },
      registry,
    });
  });
  afterAll(async () => {
    await engine?.close();
    await customers?.close();
    await q?.close();
  });

  it('routes every order by total, enriched, and dead-letters invalid ones with the step name', async () => {
    await engine.createFlow(orderSync());
    await engine.startFlow('order-sync');
    const orders = Array.from({ length: 30 }, (_, i) => ({
      orderId: `o${i}`,
      customerId: `c${i % 3}`,
      customerEmail: `c${i % 3}@example.com`,
      orderItems: [
        { sku: `s${i}`, qty: 1 },
        { sku: 'x', qty: 2 },
      ],
      orderTotal: i * 100,
      ignored: 'dropped',
    }));
    const invalid = [
      { orderId: 'bad1', customerId: 'c1', customerEmail: 'c1@example.com', orderItems: [{ sku: 'a' }] },
      { orderId: 'bad2', customerEmail: 'x@example.com', orderItems: [], orderTotal: 5 },
    ];
    for (const o of [...orders, ...invalid]) await q.queue.enqueue('orders', o);

    await until(
      async () =>
        engine.getFlowStatus('order-sync').processed + engine.getFlowStatus('order-sync').dlq === 32,
      20_000,
      'all orders',
    );
    const high = await q.pending<Record<string, unknown>>('high-value-orders');
    const regular = await q.pending<Record<string, unknown>>('regular-orders');
    const dlq = await q.pending<{
      flow: string;
      step: string;
      reason: string;
      message: { body: unknown };
      attempts: number;
    }>('failed-orders');

    expect(high.map((o) => o.id).sort()).toEqual(
      orders
        .filter((o) => o.orderTotal >= 1000)
        .map((o) => o.orderId)
        .sort(),
    );
    expect(regular.map((o) => o.id).sort()).toEqual(
      orders
        .filter((o) => o.orderTotal < 1000)
        .map((o) => o.orderId)
        .sort(),
    );
    expect(high.length + regular.length).toBe(30);
    const o12 = high.find((o) => o.id === 'o12');
    expect(o12).toEqual({
      id: 'o12',
      customer: { id: 'c0', email: 'c0@example.com', profile: { name: 'Customer c0', tier: 'basic' } },
      items: [
        { sku: 's12', qty: 1 },
        { sku: 'x', qty: 2 },
      ],
      total: 1200,
      origin: 'shop',
    });
    expect(dlq).toHaveLength(2);
    for (const d of dlq) {
      expect(d).toMatchObject({ flow: 'order-sync', step: 'validate-order', attempts: 1 });
      expect(d.reason).toMatch(/validation failed/);
    }
    // The enrich cache: one lookup per customer.
    expect(customers.hits.filter((h) => h.startsWith('GET /customers/')).length).toBeLessThanOrEqual(3 * 4);
    expect(engine.getFlowStatus('order-sync')).toMatchObject({
      state: 'running',
      processed: 30,
      dlq: 2,
      inFlight: 0,
    });
    expect(await q.queue.queueLength('orders')).toBe(0);

    const text = await registry.metrics();
    expect(text).toMatch(/fraiseql_flow_messages_total\{flow="order-sync",outcome="delivered"\} 30/);
    expect(text).toMatch(/fraiseql_flow_messages_total\{flow="order-sync",outcome="dlq"\} 2/);
    expect(text).toMatch(/fraiseql_flow_errors_total\{flow="order-sync",step="validate-order"\} 2/);
    expect(text).toMatch(
      /fraiseql_flow_step_duration_seconds_count\{flow="order-sync",step="enrich-order"\} 30/,
    );
    const logs = engine.logs('order-sync', { limit: 500 });
    expect(logs.some((l) => l.event === 'dead-lettered' && l.step === 'validate-order')).toBe(true);
    expect(logs.every((l) => l.payload === undefined)).toBe(true);
    expect(engine.logs('order-sync', { limit: 5 })).toHaveLength(5);
  });
});
