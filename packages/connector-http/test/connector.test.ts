import { ErrorCode } from '@fraiseql/core';
import { expectIntegrationError } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, createHttpConnector, type HttpConnector, type HttpStatusError } from '../src/index';
import { closedPort, json, startServer, type TestServer } from './helpers';

let server: TestServer;
const opened: HttpConnector[] = [];

async function connector(opts: Partial<Parameters<typeof createHttpConnector>[0]> = {}) {
  const c = await createHttpConnector({ name: 'api', baseUrl: server.url, ...opts });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  server.received.length = 0;
  server.handle((_r, res) => json(res, 200, { ok: true }));
});
afterAll(() => server.close());

describe('requests', () => {
  it('encodes JSON bodies and query strings, decodes JSON answers', async () => {
    server.handle((r, res) => json(res, 201, { echo: JSON.parse(r.body), url: r.url }, { 'x-id': '7' }));
    const c = await connector({ baseUrl: `${server.url}/v1/` });
    const res = await c.request({
      method: 'post',
      path: '/orders',
      body: { id: 1, tags: ['a'] },
      query: { q: 'x y', n: 2, skip: undefined },
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-id']).toBe('7');
    expect(res.body).toEqual({ echo: { id: 1, tags: ['a'] }, url: '/v1/orders?q=x+y&n=2' });
    expect(server.received[0]!.headers['content-type']).toBe('application/json');
    expect(server.received[0]!.method).toBe('POST');
  });

  it('deliver POSTs the message body to the destination path', async () => {
    const c = await connector();
    await c.deliver({ id: 'm1', body: { total: 5 }, headers: {} }, { path: '/hooks/orders' });
    expect(server.received[0]!.url).toBe('/hooks/orders');
    expect(JSON.parse(server.received[0]!.body)).toEqual({ total: 5 });
    expect(server.received[0]!.headers['x-message-id']).toBe('m1');
  });

  it('refuses a base URL that is not http(s) with IN002', async () => {
    await expectIntegrationError(
      () => createHttpConnector({ name: 'x', baseUrl: 'ftp://h/' }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => createHttpConnector({ name: 'x', baseUrl: 'not a url' }),
      ErrorCode.InvalidConfiguration,
    );
  });
});

describe('auth', () => {
  const failing = () => server.handle((_r, res) => json(res, 503, { down: true }));

  it('bearer reaches the server and never appears in errors', async () => {
    const c = await connector({
      auth: { type: 'bearer', token: 'tok-s3cr3t-123' },
      retry: { maxAttempts: 1 },
    });
    await c.request({ path: '/a' });
    expect(server.received[0]!.headers.authorization).toBe('Bearer tok-s3cr3t-123');
    failing();
    const err = await expectIntegrationError(
      () => c.request({ path: '/a', query: { api_key: 'qs-secret-9' } }),
      ErrorCode.ProviderUnavailable,
    );
    expect(err.message).toBe('[connector-http api] GET /a answered 503');
    expect(JSON.stringify(err)).not.toMatch(/tok-s3cr3t|qs-secret/);
  });

  it('basic reaches the server as base64 user:password', async () => {
    const c = await connector({
      auth: { type: 'basic', username: 'ann', password: 'pw-h1dden' },
      retry: { maxAttempts: 1 },
    });
    await c.request({ path: '/' });
    expect(server.received[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('ann:pw-h1dden').toString('base64')}`,
    );
    failing();
    const err = await expectIntegrationError(() => c.request({ path: '/' }), ErrorCode.ProviderUnavailable);
    expect(err.message).not.toContain('pw-h1dden');
  });

  it('header auth sends the named header; credentials in the base URL never show', async () => {
    const c = await connector({ auth: { type: 'header', name: 'X-Api-Key', value: 'key-0987' } });
    await c.request({ path: '/k' });
    expect(server.received[0]!.headers['x-api-key']).toBe('key-0987');
    const port = await closedPort();
    const bad = await connector({
      baseUrl: `http://bob:url-pass-77@127.0.0.1:${port}/p`,
      retry: { maxAttempts: 1 },
    });
    const err = await expectIntegrationError(() => bad.request({ path: '/x' }), ErrorCode.ConnectionRefused);
    expect(err.message).toContain('[connector-http api] GET /p/x failed');
    expect(err.message).not.toContain('url-pass-77');
  });
});

describe('retries', () => {
  it('retries a 429 after its Retry-After, then succeeds', async () => {
    server.handle((_r, res, n) =>
      n === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 200, { n }),
    );
    const c = await connector({
      retry: { maxAttempts: 3, backoff: { type: 'linear', initialMs: 10, stepMs: 0 } },
    });
    const started = performance.now();
    const res = await c.request({ path: '/r' });
    expect(res.body).toEqual({ n: 2 });
    const gap = server.received[1]!.at - server.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('retries 503 up to maxAttempts, then fails with context', async () => {
    server.handle((_r, res) => json(res, 503, {}));
    const delays: number[] = [];
    const c = await connector({
      retry: { maxAttempts: 4, backoff: { type: 'exponential', initialMs: 10, maxMs: 25, multiplier: 2 } },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const err = await expectIntegrationError(
      () => c.request({ method: 'POST', path: '/orders', body: {} }),
      ErrorCode.ProviderUnavailable,
    );
    expect(err.message).toBe('[connector-http api] POST /orders answered 503 after 4 attempts');
    expect((err as HttpStatusError).status).toBe(503);
    expect(server.received).toHaveLength(4);
    expect(delays).toEqual([10, 20, 25]);
  });

  it('linear backoff waits initial + step × n', async () => {
    server.handle((_r, res) => json(res, 500, {}));
    const delays: number[] = [];
    const c = await connector({
      retry: { maxAttempts: 4, backoff: { type: 'linear', initialMs: 5, stepMs: 10 } },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    await expectIntegrationError(() => c.request({ path: '/' }), ErrorCode.ProviderUnavailable);
    expect(delays).toEqual([5, 15, 25]);
    expect(backoffDelay({ type: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 3 }, 4)).toBe(1000);
  });

  it('exponential backoff timings hold on the real clock', async () => {
    server.handle((_r, res) => json(res, 502, {}));
    const c = await connector({
      retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 2 } },
    });
    await expectIntegrationError(() => c.request({ path: '/' }), ErrorCode.ProviderUnavailable);
    const [a, b, d] = server.received.map((r) => r.at);
    expect(b! - a!).toBeGreaterThanOrEqual(95);
    expect(b! - a!).toBeLessThan(400);
    expect(d! - b!).toBeGreaterThanOrEqual(195);
    expect(d! - b!).toBeLessThan(600);
  });

  it('does not retry a 404 (IN502, kind http) and maps 401 to IN006', async () => {
    server.handle((r, res) => json(res, r.url === '/auth' ? 401 : 404, {}));
    const c = await connector({ sleep: async () => {} });
    const err = await expectIntegrationError(
      () => c.request({ path: '/missing' }),
      ErrorCode.ProviderUnavailable,
    );
    expect(err.kind).toBe('http');
    expect((err as HttpStatusError).retryable).toBe(false);
    expect(err.message).toBe('[connector-http api] GET /missing answered 404');
    expect(server.received).toHaveLength(1);
    await expectIntegrationError(() => c.request({ path: '/auth' }), ErrorCode.Unauthorized);
    expect(server.received).toHaveLength(2);
  });

  it('a request that takes longer than timeoutMs fails with IN500, and is retried', async () => {
    server.handle(() => {}); // never answers
    const c = await connector({
      timeoutMs: 150,
      retry: { maxAttempts: 2, backoff: { type: 'linear', initialMs: 0, stepMs: 0 } },
    });
    const started = performance.now();
    const err = await expectIntegrationError(() => c.request({ path: '/slow' }), ErrorCode.ConnectionTimeout);
    expect(err.message).toBe('[connector-http api] GET /slow timed out after 150 ms after 2 attempts');
    expect(server.received).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('retries connection errors (IN501)', async () => {
    const port = await closedPort();
    let sleeps = 0;
    const c = await connector({
      baseUrl: `http://127.0.0.1:${port}`,
      sleep: async () => {
        sleeps++;
      },
    });
    await expectIntegrationError(() => c.request({ path: '/' }), ErrorCode.ConnectionRefused);
    expect(sleeps).toBe(2);
  });
});

describe('rate limit', () => {
  it('20 rps / burst 5: 30 requests take ≥ 1.2 s and no 1-s window holds more than 25', async () => {
    const c = await connector({ rateLimit: { requestsPerSecond: 20, burstSize: 5 } });
    const started = performance.now();
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.request({ path: `/r${i}` })));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1200);
    const times = server.received.map((r) => r.at).sort((x, y) => x - y);
    expect(times).toHaveLength(30);
    for (const t of times) {
      const inWindow = times.filter((u) => u >= t && u < t + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(25);
    }
    // The burst goes at once: the first 5 arrive within ~100 ms.
    expect(times[4]! - times[0]!).toBeLessThan(150);
  });
});

describe('circuit breaker', () => {
  it('opens after repeated failures, fails fast without reaching the server, then half-opens', async () => {
    server.handle((_r, res) => json(res, 500, {}));
    const c = await connector({
      retry: { maxAttempts: 1 },
      breaker: { failureRateThreshold: 0.5, minimumRequests: 4, halfOpenAfterMs: 300 },
    });
    for (let i = 0; i < 4; i++)
      await expectIntegrationError(() => c.request({ path: '/b' }), ErrorCode.ProviderUnavailable);
    const err = await expectIntegrationError(() => c.request({ path: '/b' }), ErrorCode.CircuitBreakerOpen);
    expect(err.message).toBe('[connector-http api] GET /b: circuit breaker is open');
    expect(server.received).toHaveLength(4);
    await new Promise((r) => setTimeout(r, 350));
    server.handle((_r, res) => json(res, 200, { back: true }));
    expect((await c.request({ path: '/b' })).body).toEqual({ back: true });
    expect((await c.request({ path: '/b' })).status).toBe(200);
    expect(server.received).toHaveLength(6);
  });

  it('404s do not open it', async () => {
    server.handle((_r, res) => json(res, 404, {}));
    const c = await connector({ breaker: { minimumRequests: 2, halfOpenAfterMs: 10_000 } });
    for (let i = 0; i < 4; i++)
      await expectIntegrationError(() => c.request({ path: '/' }), ErrorCode.ProviderUnavailable);
    expect(server.received).toHaveLength(4);
  });
});

describe('test()', () => {
  it('is ok when the base URL answers', async () => {
    const c = await connector();
    const r = await c.test();
    expect(r.ok).toBe(true);
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.received[0]!.method).toBe('HEAD');
  });

  it('fails when nothing listens, without the credentials', async () => {
    const port = await closedPort();
    const c = await connector({
      baseUrl: `http://127.0.0.1:${port}`,
      auth: { type: 'bearer', token: 'never-shown-1' },
    });
    const r = await c.test();
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('failed');
    expect(r.detail).not.toContain('never-shown-1');
  });
});
