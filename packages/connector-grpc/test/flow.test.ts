import { createFlowEngine, type FlowManager } from '@fraiseql/flows';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcConnector, type GrpcConnector } from '../src/index';
import { type InventoryServer, PROTO, startInventory } from './helpers';

let server: InventoryServer;
let inv: GrpcConnector;
/** Same service, a short deadline: for the retry test. */
let hasty: GrpcConnector;
let manager: FlowManager | undefined;

beforeAll(async () => {
  server = await startInventory();
  inv = await createGrpcConnector({
    name: 'inventory',
    protoFile: PROTO,
    service: 'inventory.Inventory',
    endpoint: server.endpoint,
  });
  hasty = await createGrpcConnector({
    name: 'hasty',
    protoFile: PROTO,
    service: 'inventory.Inventory',
    endpoint: server.endpoint,
    deadlineMs: 100,
  });
});
afterEach(async () => {
  await manager?.close();
  manager = undefined;
  server.received.length = 0;
  server.items.clear();
});
afterAll(async () => {
  await inv?.close();
  await hasty?.close();
  await server?.close();
});

/** An http-sourced flow: enrich from `enrichPath`, shape the Update request, deliver to gRPC Update. */
async function flow(enrichPath: string, enrichWith = 'inventory') {
  manager = await createFlowEngine({ connectors: [inv, hasty], sleep: async () => {} });
  await manager.createFlow({
    name: 'reserve',
    source: { type: 'http' },
    steps: [
      {
        type: 'enrich',
        name: 'stock',
        connector: enrichWith,
        request: { path: enrichPath },
        into: 'item',
      },
      {
        type: 'transform',
        name: 'to-update',
        mapping: {
          sku: '$.sku',
          delta: '$.qty',
          order_id: '$.orderId',
          location: { warehouse: '$.item.sku' },
        },
      },
      { type: 'deliver', name: 'reserve', to: { connector: 'inventory', path: 'Update' } },
    ],
    errorHandling: { retry: { maxAttempts: 3 } },
  });
  await manager.startFlow('reserve');
  return manager;
}

describe('a flow with gRPC enrich and deliver', () => {
  it('enriches from Get and delivers every message to Update', async () => {
    for (const sku of ['A', 'B', 'C'])
      server.items.set(sku, { sku, quantity: 100, version: '1', status: 'IN_STOCK', reserved: false });
    const m = await flow('Get?sku={sku}&include_reserved=true');
    const orders = Array.from({ length: 60 }, (_, i) => ({ orderId: `o-${i}`, sku: 'ABC'[i % 3]!, qty: -1 }));
    await Promise.all(orders.map((o) => m.post('reserve', o)));

    const updates = server.received.filter((r) => r.method === 'Update');
    expect(updates.map((u) => u.request.order_id).sort()).toEqual(orders.map((o) => o.orderId).sort());
    // The enriched item reached the delivery (location.warehouse came from the Get reply).
    expect(updates.every((u) => u.request.location?.warehouse === u.request.sku)).toBe(true);
    expect(server.received.filter((r) => r.method === 'Get')).toHaveLength(60);
    expect(server.received.find((r) => r.method === 'Get')!.request.include_reserved).toBe(true);
    for (const sku of ['A', 'B', 'C']) expect(server.items.get(sku)!.quantity).toBe(80);
    expect(m.getFlowStatus('reserve')).toMatchObject({ processed: 60, failed: 0, dlq: 0 });
    expect(m.deadLetters('reserve')).toHaveLength(0);
  });

  it('a NOT_FOUND from enrich is permanent: straight to the DLQ after one call', async () => {
    const m = await flow('Get?sku={sku}');
    await m.post('reserve', { orderId: 'o-x', sku: 'nope', qty: -1 });
    const dead = m.deadLetters('reserve');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.step).toBe('stock');
    expect(dead[0]!.attempts).toBe(1);
    expect(dead[0]!.reason).toContain('Get failed: NOT_FOUND (5): no item nope');
    expect(server.received.filter((r) => r.method === 'Update')).toHaveLength(0);
  });

  it('a DEADLINE_EXCEEDED is transient: retried up to maxAttempts, then the DLQ', async () => {
    const m = await flow('Slow?sku={sku}', 'hasty');
    await m.post('reserve', { orderId: 'o-s', sku: 'S', qty: -1 });
    const dead = m.deadLetters('reserve');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.attempts).toBe(3);
    expect(dead[0]!.reason).toContain('DEADLINE_EXCEEDED');
    expect(server.received.filter((r) => r.method === 'Slow')).toHaveLength(3);
  });
});
