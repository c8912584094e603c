import { IntegrationService, SloRegistry } from '@fraiseql/core';
import { MockCacheProvider } from '@fraiseql/mocks';
import type { SqlClient } from '@fraiseql/postgres';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, ROUTES } from '../src/index.ts';
import { AUTH, errorOf, type Harness, harness, json, openSql, TOKEN } from './helpers.ts';

let sql: SqlClient;
const open: Harness[] = [];

beforeAll(async () => {
  sql = await openSql();
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
afterAll(async () => {
  await sql.close();
});

async function start(opts: Parameters<typeof harness>[1] = {}): Promise<Harness> {
  const h = await harness(sql, opts);
  open.push(h);
  return h;
}

describe('GET /health', () => {
  it('is 200 listing every provider when all are healthy, and needs no token', async () => {
    const h = await start();
    const res = await h.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = json(res);
    expect(body.status).toBe('ok');
    expect(body.checks).toEqual({ 'search:mock': true, 'cache:memory': true, 'queue:postgresql': true });
    expect(Object.keys(body.providers).sort()).toEqual(['cache:memory', 'queue:postgresql', 'search:mock']);
    expect(body.providers['cache:memory']).toMatchObject({
      healthy: true,
      breaker: 'closed',
      budgetRemaining: 1,
    });
  });

  it("shows a provider's own health details (a tiered cache's tiers and bus)", async () => {
    const h = await start();
    const details = {
      l1: { healthy: true },
      l2: { healthy: true, backend: 'redis' },
      bus: { connected: false },
    };
    Object.assign(h.search, { health: async () => details });
    const body = json(await h.app.inject({ method: 'GET', url: '/health' }));
    expect(body.providers['search:mock'].details).toEqual(details);
    expect(body.providers['cache:memory'].details).toBeUndefined();
  });

  it('is 503 naming the unhealthy provider', async () => {
    const h = await start();
    h.search.shouldFail = true;
    const res = await h.app.inject({
      method: 'GET',
      url: '/health',
      headers: { authorization: 'Bearer wrong' },
    });
    expect(res.statusCode).toBe(503);
    const body = json(res);
    expect(body.status).toBe('unhealthy');
    expect(body.checks['search:mock']).toBe(false);
    expect(body.checks['cache:memory']).toBe(true);
    expect(body.providers['search:mock'].healthy).toBe(false);
  });

  it('answers HEAD without a token too', async () => {
    const h = await start();
    const res = await h.app.inject({ method: 'HEAD', url: '/health' });
    expect(res.statusCode).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('serves the registry in Prometheus text format with the SLO and request series', async () => {
    const h = await start();
    await h.call({ method: 'PUT', url: '/cache/m', payload: 'x', headers: { 'content-type': 'text/plain' } });
    await h.call({ method: 'GET', url: '/cache/m' });
    const res = await h.call({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^fraiseql_integration_cache_get_total\{[^}]*provider="memory"[^}]*\} 1$/m);
    expect(res.body).toContain('fraiseql_integration_cache_get_latency_seconds_bucket');
    expect(res.body).toMatch(
      /^fraiseql_server_requests_total\{method="GET",route="\/cache\/:key",status="200"\} 1$/m,
    );
  });

  it('also serves the service trackers when they live on another registry', async () => {
    const registry = new Registry();
    const service = new IntegrationService({ cache: new MockCacheProvider(), slo: new SloRegistry() });
    const app = await createServer({ integrations: { service }, registry, token: '' });
    try {
      await app.inject({ method: 'GET', url: '/slo' });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.body).toContain('fraiseql_integration_cache_get_total');
      expect(res.body).toContain('fraiseql_server_requests_total');
    } finally {
      await app.close();
    }
  });

  it('needs the token', async () => {
    const h = await start();
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /slo', () => {
  it('reports the overall status and a snapshot per operation', async () => {
    const h = await start();
    await h.call({ method: 'GET', url: '/cache/absent' });
    const body = json(await h.call({ method: 'GET', url: '/slo' }));
    expect(body.withinSlo).toBe(true);
    expect(body.averageBudgetRemaining).toBeGreaterThan(0);
    expect(body.operations).toHaveProperty('cache_get');
    const cacheGet = body.snapshots.find((s: { name: string }) => s.name === 'cache_get');
    expect(cacheGet).toMatchObject({ total: 1, errors: 0 });
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route, its parameters and error responses', async () => {
    const h = await start();
    const res = await h.call({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = json(res);
    expect(doc.openapi).toBe('3.1.0');
    const expected = [
      'GET /health',
      'GET /metrics',
      'GET /slo',
      'GET /openapi.json',
      'POST /search/{index}',
      'PUT /search/{index}/documents',
      'DELETE /search/{index}/documents/{id}',
      'DELETE /search/{index}/documents',
      'PUT /search/{index}/settings',
      'POST /search/{index}/reindex',
      'GET /search/{index}/reindex',
      'GET /cache/{key}',
      'PUT /cache/{key}',
      'DELETE /cache/{key}',
      'DELETE /cache',
      'POST /cache/{key}/incr',
      'GET /cache/{key}/ttl',
      'GET /queues',
      'POST /queues/{queue}/jobs',
      'GET /queues/{queue}',
      'GET /queues/{queue}/jobs',
      'GET /queues/{queue}/jobs/{id}',
      'DELETE /queues/{queue}/jobs/{id}',
      'POST /queues/{queue}/jobs/{id}/retry',
      'POST /queues/{queue}/pause',
      'POST /queues/{queue}/resume',
      'GET /observers',
      'GET /observers/events/{id}',
      'GET /observers/dlq',
      'GET /observers/dlq/{id}',
      'POST /observers/dlq/{id}/retry',
      'POST /observers/dlq/retry-all',
      'GET /flows',
      'GET /flows/{name}',
      'POST /flows/{name}/start',
      'POST /flows/{name}/stop',
      'GET /flows/{name}/logs',
      'POST /flows/{name}/messages',
      'GET /connectors',
      'POST /connectors/{name}/test',
      'GET /plugins',
      'GET /schedules',
      'PUT /schedules/{id}',
      'DELETE /schedules/{id}',
      'POST /schedules/{id}/run',
    ];
    const actual = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(actual.sort()).toEqual(expected.sort());
    expect(ROUTES).toHaveLength(expected.length);
    for (const [path, ops] of Object.entries(doc.paths) as [string, Record<string, any>][]) {
      for (const op of Object.values(ops)) {
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name);
        expect(declared).toEqual(pathParams);
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        if (path !== '/health') expect(op.responses['401']).toBeDefined();
      }
    }
    expect(
      doc.paths['/queues/{queue}/jobs'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['data']);
    expect(doc.paths['/health'].get.security).toEqual([]);
  });
});

describe('auth', () => {
  it('401 without a token, with WWW-Authenticate and the error body', async () => {
    const h = await start();
    const res = await h.app.inject({ method: 'GET', url: '/queues/q' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(errorOf(res).code).toBe('IN006');
  });

  it('401 for another scheme, 403 for a wrong token (same length too), 2xx for the right one', async () => {
    const h = await start();
    const basic = await h.app.inject({
      method: 'GET',
      url: '/slo',
      headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.statusCode).toBe(401);
    for (const wrong of ['nope', TOKEN.replace(/.$/, 'X'), `${TOKEN}x`, TOKEN.toUpperCase()]) {
      const res = await h.app.inject({
        method: 'GET',
        url: '/slo',
        headers: { authorization: `Bearer ${wrong}` },
      });
      expect(res.statusCode, wrong).toBe(403);
      expect(errorOf(res).code).toBe('IN007');
    }
    const ok = await h.app.inject({
      method: 'GET',
      url: '/slo',
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('checks the token before reading the body and before routing', async () => {
    const h = await start();
    const big = await h.app.inject({
      method: 'PUT',
      url: '/cache/k',
      payload: Buffer.alloc(2 * 1024 * 1024),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(big.statusCode).toBe(401);
    const unknown = await h.app.inject({ method: 'GET', url: '/admin' });
    expect(unknown.statusCode).toBe(401);
  });

  it('reads FRAISEQL_API_TOKEN from env when no token is given', async () => {
    const registry = new Registry();
    const service = new IntegrationService({ cache: new MockCacheProvider() });
    const app = await createServer({
      integrations: { service },
      registry,
      env: { FRAISEQL_API_TOKEN: 'from-env' },
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/slo' })).statusCode).toBe(401);
      const ok = await app.inject({
        method: 'GET',
        url: '/slo',
        headers: { authorization: 'Bearer from-env' },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('needs no token when none is set', async () => {
    const h = await start({ token: '' });
    const res = await h.app.inject({ method: 'GET', url: '/slo' });
    expect(res.statusCode).toBe(200);
  });
});

describe('routing and errors', () => {
  it('404 with the error body for an unknown path', async () => {
    const h = await start();
    const res = await h.call({ method: 'GET', url: '/nothing/here' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res)).toMatchObject({ code: 'IN008', resource_type: 'route' });
  });

  it('405 with Allow for a known path and another method', async () => {
    const h = await start();
    const res = await h.call({ method: 'PATCH', url: '/cache/abc' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, PUT, DELETE, HEAD');
    expect(errorOf(res).code).toBe('IN008');
    const post = await h.call({ method: 'GET', url: '/queues/q/pause' });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('POST');
  });

  it('IN004 (500) on every route of a provider that is not configured', async () => {
    const h = await start({ without: ['search', 'cache', 'queue'] });
    const calls = [
      { method: 'POST', url: '/search/products', payload: {} },
      { method: 'PUT', url: '/search/products/documents', payload: [] },
      { method: 'DELETE', url: '/search/products/documents' },
      { method: 'PUT', url: '/search/products/settings', payload: { searchable: ['name'] } },
      { method: 'GET', url: '/cache/k' },
      { method: 'DELETE', url: '/cache?pattern=*' },
      { method: 'POST', url: '/cache/k/incr' },
      { method: 'POST', url: '/queues/q/jobs', payload: { data: 1 } },
      { method: 'GET', url: '/queues/q' },
      { method: 'POST', url: '/queues/q/pause' },
    ] as const;
    for (const c of calls) {
      const res = await h.call(c);
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(500);
      expect(errorOf(res).code).toBe('IN004');
    }
    const health = await h.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(json(health).checks).toEqual({});
  });

  it('a provider failure keeps its code and status', async () => {
    const h = await start();
    h.search.failWith('engine down');
    const res = await h.call({ method: 'POST', url: '/search/products', payload: { query: 'x' } });
    expect(res.statusCode).toBe(502);
    expect(errorOf(res)).toMatchObject({ code: 'IN502', provider: 'mock', message: 'engine down' });
  });

  it('anything but an IntegrationError is a 500 that reveals nothing, logged with its details', async () => {
    const logs: { level: string; obj: any; msg?: string }[] = [];
    const logger = {
      info: (obj: object, msg?: string) => logs.push({ level: 'info', obj, msg }),
      warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj, msg }),
      error: (obj: object, msg?: string) => logs.push({ level: 'error', obj, msg }),
    };
    const cache = new MockCacheProvider();
    cache.get = async () => {
      throw new TypeError('secret internals at /srv/app.js:42');
    };
    const service = new IntegrationService({ cache });
    const app = await createServer({
      integrations: { service },
      registry: new Registry(),
      token: TOKEN,
      logger,
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/cache/k', headers: AUTH });
      expect(res.statusCode).toBe(500);
      const error = errorOf(res);
      expect(error.code).toBe('IN502');
      expect(res.body).not.toContain('secret');
      const logged = logs.find((l) => l.level === 'error');
      expect(String(logged?.obj.err?.message)).toContain('secret internals');
      // The token never reaches a log line.
      expect(JSON.stringify(logs)).not.toContain(TOKEN);
      expect(logs.some((l) => l.msg === 'request completed' || l.msg === 'request failed')).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('logs one line per request with route, status and duration, without the Authorization header', async () => {
    const lines: any[] = [];
    const logger = {
      info: (o: object) => lines.push(o),
      warn: (o: object) => lines.push(o),
      error: () => {},
    };
    const h = await start({ logger });
    await h.call({ method: 'GET', url: '/cache/nope?token=abc123' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'GET', route: '/cache/:key', statusCode: 404 });
    expect(typeof lines[0].durationMs).toBe('number');
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
    expect(JSON.stringify(lines)).not.toContain('abc123');
  });

  it('serves providers handed in beside a service that does not hold them, timing them on its trackers', async () => {
    const cache = new MockCacheProvider();
    const service = new IntegrationService({ registry: new Registry() });
    const app = await createServer({ integrations: { cache, service }, registry: new Registry(), token: '' });
    try {
      const put = await app.inject({
        method: 'PUT',
        url: '/cache/k',
        payload: 'v',
        headers: { 'content-type': 'text/plain' },
      });
      expect(put.statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: '/cache/k' })).body).toBe('v');
      cache.assertCacheHit('k');
      expect(service.slo.get('cache_get')!.snapshot().total).toBe(1);
      expect(service.slo.get('cache_set')!.snapshot().total).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('refuses options that make no sense with IN00x', async () => {
    const service = new IntegrationService({});
    await expect(
      createServer({ integrations: { service }, registry: new Registry(), bodyLimitBytes: 0 }),
    ).rejects.toMatchObject({ code: 'IN002' });
    await expect(
      createServer({ integrations: undefined as any, registry: new Registry() }),
    ).rejects.toMatchObject({
      code: 'IN001',
    });
    await expect(
      createServer({ integrations: { service }, registry: new Registry(), token: '', host: '0.0.0.0' }),
    ).rejects.toMatchObject({ code: 'IN002', message: expect.stringContaining('FRAISEQL_API_TOKEN') });
  });

  it('closes the integrations with the server unless told not to', async () => {
    let closed = 0;
    const service = new IntegrationService({});
    const mk = (closeIntegrations?: boolean) =>
      createServer({
        integrations: { service, close: async () => void closed++ },
        registry: new Registry(),
        token: '',
        ...(closeIntegrations === undefined ? {} : { closeIntegrations }),
      });
    await (await mk(false)).close();
    expect(closed).toBe(0);
    await (await mk()).close();
    expect(closed).toBe(1);
  });
});
