import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IntegrationError, SloRegistry } from '@fraiseql/core';
import { Gauge, register as globalRegistry, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsHandler, registerDefaultMetrics } from '../src/index';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createMetricsHandler', () => {
  it('serves the registry in the Prometheus text format on GET /metrics', async () => {
    const registry = new Registry();
    const slo = new SloRegistry({ registry });
    slo.get('search_query')!.recordSuccess(5, 'meilisearch');
    const base = await serve(createMetricsHandler(registry));

    const res = await fetch(`${base}/metrics?debug=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const body = await res.text();
    expect(body).toContain('# TYPE fraiseql_integration_search_query_latency_seconds histogram');
    expect(body).toContain('fraiseql_integration_search_query_total{provider="meilisearch"} 1');

    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
  });

  it('answers 404 off its path, 405 to other methods, and any path with path: null', async () => {
    const registry = new Registry();
    const base = await serve(createMetricsHandler(registry));
    expect((await fetch(`${base}/other`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');

    const anyPath = await serve(createMetricsHandler(registry, { path: null }));
    expect((await fetch(`${anyPath}/mounted/elsewhere`)).status).toBe(200);
  });

  it('answers 500 with the reason, without secrets, when a collect callback fails', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken_gauge',
      help: 'fails on scrape',
      registers: [registry],
      collect() {
        throw new Error('cannot reach redis://:s3cretpass@cache:6379');
      },
    });
    const base = await serve(createMetricsHandler(registry));
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain('cannot reach redis://:***@cache:6379');
    expect(body).not.toContain('s3cretpass');
  });
});

describe('registerDefaultMetrics', () => {
  it('registers process and Node.js metrics on the given registry only, once', async () => {
    const registry = new Registry();
    registerDefaultMetrics(registry);
    registerDefaultMetrics(registry); // a second caller must not throw "already registered"
    const text = await registry.metrics();
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(globalRegistry.getSingleMetric('process_cpu_seconds_total')).toBeUndefined();
  });

  it('applies a prefix and constant labels', async () => {
    const registry = new Registry();
    registerDefaultMetrics(registry, { prefix: 'fraiseql_', labels: { app: 'worker' } });
    const text = await registry.metrics();
    expect(text).toMatch(/^fraiseql_process_cpu_seconds_total\{app="worker"\} /m);
    expect(text).not.toMatch(/^process_cpu_seconds_total/m);
  });

  it('rejects an invalid prefix with IN002', () => {
    let err: unknown;
    try {
      registerDefaultMetrics(new Registry(), { prefix: 'bad-prefix' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).code).toBe('IN002');
  });
});
