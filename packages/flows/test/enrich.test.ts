import { createRedisCache } from '@fraiseql/cache-redis';
import { createHttpConnector } from '@fraiseql/connector-http';
import { uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowEngine, type FlowDefinition, type FlowManager } from '../src/index';
import { redis, type Service, startService } from './helpers';

/** An http-source flow that enriches each order with its customer, then keeps it (in-memory DLQ). */
function enrichFlow(name: string, retry = 3): FlowDefinition {
  return {
    name,
    source: { type: 'http' },
    steps: [
      {
        type: 'enrich',
        name: 'customer',
        connector: 'customers',
        request: { path: '/customers/{customer}' },
        into: 'profile',
        cacheTtlMs: 60_000,
      },
    ],
    errorHandling: {
      retry: { maxAttempts: retry, backoff: { type: 'linear', initialMs: 1, stepMs: 1 } },
    },
  };
}

describe.skipIf(!redis.available)('enrich through @fraiseql/connector-http and a shared cache', () => {
  let service: Service;
  const prefix = `${uniqueName('flows-enrich')}:`;
  const engines: FlowManager[] = [];
  let statusOf: (id: string) => number;

  beforeAll(async () => {
    statusOf = (id) => (id.startsWith('gone') ? 404 : id.startsWith('down') ? 503 : 200);
    service = await startService((req) => {
      const id = decodeURIComponent(req.url?.split('/').pop() ?? '');
      const status = statusOf(id);
      return status === 200 ? { status, body: { id, tier: 'gold' } } : { status, body: { error: 'x' } };
    });
  });
  afterAll(async () => {
    for (const e of engines) await e.close();
    await service?.close();
  });

  async function engine(): Promise<FlowManager> {
    const cache = await createRedisCache({ url: redis.url, prefix });
    const customers = await createHttpConnector({
      name: 'customers',
      baseUrl: service.url,
      retry: { maxAttempts: 1 },
    });
    const e = await createFlowEngine({ connectors: [customers], providers: { cache } });
    const close = e.close.bind(e);
    e.close = async () => {
      await close();
      await customers.close();
      await cache.close();
    };
    engines.push(e);
    return e;
  }

  it('looks a customer up once for two engines sharing the cache provider', async () => {
    const [a, b] = [await engine(), await engine()];
    for (const e of [a, b]) {
      await e.createFlow(enrichFlow('shared'));
      await e.startFlow('shared');
    }
    await a.post('shared', { id: 'o1', customer: 'c-shared' });
    await b.post('shared', { id: 'o2', customer: 'c-shared' });
    await b.post('shared', { id: 'o3', customer: 'c-shared' });
    expect(service.hits.filter((h) => h === 'GET /customers/c-shared')).toHaveLength(1);
    expect(a.getFlowStatus('shared').processed + b.getFlowStatus('shared').processed).toBe(3);
    expect(a.deadLetters('shared')).toEqual([]);
    expect(b.deadLetters('shared')).toEqual([]);
  });

  it('makes one request for concurrent lookups of one key (in-process cache)', async () => {
    const customers = await createHttpConnector({ name: 'customers', baseUrl: service.url });
    const e = await createFlowEngine({ connectors: [customers] });
    const close = e.close.bind(e);
    e.close = async () => {
      await close();
      await customers.close();
    };
    engines.push(e);
    await e.createFlow(enrichFlow('together'));
    await e.startFlow('together');
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => e.post('together', { id: `o${i}`, customer: 'c-together' })),
    );
    expect(service.hits.filter((h) => h === 'GET /customers/c-together')).toHaveLength(1);
    expect(e.getFlowStatus('together').processed).toBe(10);
  });

  it('dead-letters a 404 from the service at once, and retries a 503 before the DLQ', async () => {
    const e = await engine();
    await e.createFlow(enrichFlow('statuses', 3));
    await e.startFlow('statuses');
    await e.post('statuses', { id: 'o1', customer: 'gone-1' });
    await e.post('statuses', { id: 'o2', customer: 'down-1' });
    expect(service.hits.filter((h) => h === 'GET /customers/gone-1')).toHaveLength(1);
    expect(service.hits.filter((h) => h === 'GET /customers/down-1')).toHaveLength(3);
    const dead = e.deadLetters('statuses');
    expect(dead.map((d) => [d.message.body, d.step, d.attempts])).toEqual([
      [{ id: 'o1', customer: 'gone-1' }, 'customer', 1],
      [{ id: 'o2', customer: 'down-1' }, 'customer', 3],
    ]);
    expect(dead[0]?.reason).toMatch(/404/);
  });
});
