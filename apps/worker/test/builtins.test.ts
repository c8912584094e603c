import { createServer, type Server } from 'node:http';
import { createMemoryCache } from '@fraiseql/cache-memory';
import type { Job, JobResult } from '@fraiseql/core';
import { MockSearchProvider } from '@fraiseql/mocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheInvalidateHandler,
  searchDeleteHandler,
  searchIndexHandler,
  webhookHandler,
} from '../src/index.ts';

const job = <T>(data: T): Job<T> => ({
  id: 'j1',
  queue: 'q',
  data,
  attempts: 1,
  maxRetries: 3,
  createdAt: new Date(),
  signal: new AbortController().signal,
});

describe('webhook built-in', () => {
  let server: Server;
  let base = '';
  const hits: { method: string; path: string; body: string; headers: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const path = req.url ?? '/';
        hits.push({ method: req.method ?? '', path, body, headers: req.headers });
        const status = Number(path.split('/')[1]);
        if (path.startsWith('/slow')) return void setTimeout(() => res.end('late'), 2000);
        if (status === 429) res.setHeader('retry-after', '3');
        res.statusCode = Number.isFinite(status) && status >= 200 ? status : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const run = (data: unknown, opts = {}) => webhookHandler(opts)(job(data as never)) as Promise<JobResult>;

  it('completes on 2xx and sends the JSON body with the method and headers', async () => {
    expect(await run({ url: `${base}/200`, body: { a: 1 }, headers: { 'x-sig': 'abc' } })).toEqual({
      status: 'complete',
    });
    const hit = hits.at(-1)!;
    expect(hit).toMatchObject({ method: 'POST', path: '/200', body: '{"a":1}' });
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['x-sig']).toBe('abc');
    expect(await run({ url: `${base}/204`, method: 'put' })).toEqual({ status: 'complete' });
    expect(hits.at(-1)!.method).toBe('PUT');
  });

  it('fails at once on 4xx, but retries 408 and 429 (honouring Retry-After)', async () => {
    expect(await run({ url: `${base}/404` })).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('HTTP 404'),
    });
    expect(await run({ url: `${base}/422` })).toMatchObject({ status: 'failed' });
    expect(await run({ url: `${base}/408` })).toMatchObject({ status: 'retry' });
    expect(await run({ url: `${base}/429` })).toEqual({
      status: 'retry',
      reason: expect.stringContaining('429'),
      delayMs: 3000,
    });
  });

  it('retries 5xx, network errors and timeouts', async () => {
    expect(await run({ url: `${base}/503` })).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('HTTP 503'),
    });
    expect(await run({ url: 'http://127.0.0.1:1/x' })).toMatchObject({ status: 'retry' });
    expect(await run({ url: `${base}/slow`, timeoutMs: 100 })).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('timed out after 100 ms'),
    });
  });

  it('opens a breaker per host after consecutive 5xx and stops calling it', async () => {
    const handler = webhookHandler({ breakerThreshold: 3, breakerHalfOpenAfterMs: 60_000 });
    for (let i = 0; i < 3; i++)
      expect(await handler(job({ url: `${base}/500` }))).toMatchObject({ status: 'retry' });
    const before = hits.length;
    expect(await handler(job({ url: `${base}/200` }))).toEqual({
      status: 'retry',
      reason: expect.stringContaining('circuit open'),
      delayMs: 60_000,
    });
    expect(hits.length).toBe(before);
    // Another host is not affected.
    expect(await handler(job({ url: `${base.replace('127.0.0.1', 'localhost')}/200` }))).toEqual({
      status: 'complete',
    });
  });

  it('fails bad payloads without calling out, and keeps query strings out of reasons', async () => {
    for (const bad of [
      null,
      {},
      { url: 42 },
      { url: 'not a url' },
      { url: 'ftp://x/y' },
      { url: `${base}/200`, method: 'P O S T' },
      { url: `${base}/200`, headers: { a: 1 } },
    ]) {
      expect(await run(bad), JSON.stringify(bad)).toMatchObject({ status: 'failed' });
    }
    const r = await run({ url: `${base}/500?token=sekret` });
    expect(JSON.stringify(r)).not.toContain('sekret');
  });
});

describe('search and cache built-ins', () => {
  it('search.index indexes documents by their primary key and search.delete removes them', async () => {
    const search = new MockSearchProvider();
    const index = searchIndexHandler(search, { products: 'sku' });
    expect(
      await index(
        job({
          index: 'products',
          documents: [
            { sku: 'a1', name: 'Widget' },
            { sku: 2, name: 'Gadget' },
          ],
        }),
      ),
    ).toEqual({ status: 'complete' });
    expect((await search.search({ index: 'products', query: 'widget' })).hits.map((h) => h.id)).toEqual([
      'a1',
    ]);
    expect(await searchDeleteHandler(search)(job({ index: 'products', ids: ['a1'] }))).toEqual({
      status: 'complete',
    });
    expect((await search.search({ index: 'products', query: '' })).hits.map((h) => h.id)).toEqual(['2']);
  });

  it('search.index fails (no retry) on documents without their key and on bad index names', async () => {
    const search = new MockSearchProvider();
    const index = searchIndexHandler(search);
    expect(
      await index(job({ index: 'products', documents: [{ id: 'ok' }, { name: 'no id' }] })),
    ).toMatchObject({ status: 'failed', reason: expect.stringContaining('1 of 2') });
    expect(await index(job({ index: 'bad name;', documents: [{ id: 'x' }] }))).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('IN106'),
    });
    expect(await index(job({ documents: [] } as never))).toMatchObject({ status: 'failed' });
  });

  it("search failures that are not the payload's fault are retried (thrown)", async () => {
    const search = new MockSearchProvider();
    search.failWith('engine down');
    await expect(
      searchIndexHandler(search)(job({ index: 'p', documents: [{ id: '1' }] })),
    ).rejects.toMatchObject({ code: 'IN502' });
  });

  it('cache.invalidate deletes keys and patterns', async () => {
    const cache = await createMemoryCache();
    for (const k of ['user:1', 'user:2', 'post:1']) await cache.set(k, 'x');
    const h = cacheInvalidateHandler(cache);
    expect(await h(job({ keys: ['post:1'] }))).toEqual({ status: 'complete' });
    expect(await h(job({ pattern: 'user:*' }))).toEqual({ status: 'complete' });
    expect(await cache.exists('user:1')).toBe(false);
    expect(await cache.exists('post:1')).toBe(false);
    expect(await h(job({}))).toMatchObject({ status: 'failed' });
    expect(await h(job({ keys: [1] } as never))).toMatchObject({ status: 'failed' });
    expect(await h(job({ keys: [''] }))).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('IN205'),
    });
    await cache.close();
  });
});
