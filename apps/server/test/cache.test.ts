import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, type Harness, harness, json } from './helpers.ts';

let h: Harness;

afterEach(async () => {
  await h?.close();
});

const start = async (opts: Parameters<typeof harness>[1] = {}) => {
  h = await harness(undefined, { without: ['queue', 'search'], ...opts });
  return h;
};
const octets = { 'content-type': 'application/octet-stream' };

describe('PUT and GET /cache/:key', () => {
  it('stores and returns raw bytes byte for byte', async () => {
    await start();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const put = await h.call({ method: 'PUT', url: '/cache/bin', payload: bytes, headers: octets });
    expect(put.statusCode).toBe(204);
    const get = await h.call({ method: 'GET', url: '/cache/bin' });
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(get.rawPayload, bytes)).toBe(0);
  });

  it('stores text/plain as UTF-8, and any other content type untouched', async () => {
    await start();
    await h.call({
      method: 'PUT',
      url: '/cache/t',
      payload: 'héllo ✓',
      headers: { 'content-type': 'text/plain' },
    });
    expect((await h.call({ method: 'GET', url: '/cache/t' })).rawPayload.toString('utf8')).toBe('héllo ✓');
    await h.call({
      method: 'PUT',
      url: '/cache/j',
      payload: '{"a": 1}',
      headers: { 'content-type': 'application/json' },
    });
    expect((await h.call({ method: 'GET', url: '/cache/j' })).body).toBe('{"a": 1}');
    expect(await h.integrations.cache!.getJson('j')).toEqual({ a: 1 });
  });

  it('an absent body stores an empty value', async () => {
    await start();
    expect((await h.call({ method: 'PUT', url: '/cache/empty' })).statusCode).toBe(204);
    const get = await h.call({ method: 'GET', url: '/cache/empty' });
    expect(get.statusCode).toBe(200);
    expect(get.rawPayload.length).toBe(0);
  });

  it('takes keys with any character when URL-encoded', async () => {
    await start();
    const key = 'user:42/profile?x=1 #ü';
    const url = `/cache/${encodeURIComponent(key)}`;
    await h.call({ method: 'PUT', url, payload: 'v', headers: { 'content-type': 'text/plain' } });
    expect((await h.call({ method: 'GET', url })).body).toBe('v');
    expect(await h.integrations.cache!.exists(key)).toBe(true);
  });

  it('applies ?ttl_ms=, and the default TTL without it', async () => {
    await start();
    await h.call({ method: 'PUT', url: '/cache/short?ttl_ms=60000', payload: 'v', headers: octets });
    const ttl = await h.integrations.cache!.ttl('short');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await h.call({ method: 'PUT', url: '/cache/long', payload: 'v', headers: octets });
    expect(await h.integrations.cache!.ttl('long')).toBeGreaterThan(60_000);
  });

  it('GET /cache/:key/ttl gives the remaining TTL in ms, null when absent', async () => {
    await start();
    await h.call({ method: 'PUT', url: '/cache/short?ttl_ms=60000', payload: 'v', headers: octets });
    const ttl = json(await h.call({ method: 'GET', url: '/cache/short/ttl' })).ttlMs;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(json(await h.call({ method: 'GET', url: '/cache/absent/ttl' }))).toEqual({ ttlMs: null });
  });

  it('400 IN204 for a bad ttl_ms', async () => {
    await start();
    for (const q of ['ttl_ms=0', 'ttl_ms=-5', 'ttl_ms=abc', 'ttl_ms=1.5', 'ttl_ms=1&ttl_ms=2', 'ttl_ms=']) {
      const res = await h.call({ method: 'PUT', url: `/cache/k?${q}`, payload: 'v', headers: octets });
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'IN204', field: 'ttl_ms' });
    }
    expect(await h.integrations.cache!.exists('k')).toBe(false);
  });

  it('404 IN200 on a miss', async () => {
    await start();
    const res = await h.call({ method: 'GET', url: '/cache/absent' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res)).toMatchObject({ code: 'IN200', resource_type: 'cache_key' });
  });

  it('400 IN205 for a key over 1024 bytes', async () => {
    await start();
    const res = await h.call({ method: 'GET', url: `/cache/${'é'.repeat(513)}` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('IN205');
    const raw = await h.call({ method: 'GET', url: `/cache/${'k'.repeat(5000)}` });
    expect(raw.statusCode).toBe(400);
    expect(errorOf(raw).code).toBe('IN205');
  });

  it('413 IN203 for a value over the body limit', async () => {
    await start({ bodyLimitBytes: 1000 });
    const res = await h.call({
      method: 'PUT',
      url: '/cache/big',
      payload: Buffer.alloc(1001),
      headers: octets,
    });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res)).toMatchObject({ code: 'IN203', message: expect.stringContaining('1000') });
    const ok = await h.call({
      method: 'PUT',
      url: '/cache/big',
      payload: Buffer.alloc(1000),
      headers: octets,
    });
    expect(ok.statusCode).toBe(204);
  });
});

describe('DELETE /cache/:key and /cache?pattern=', () => {
  it('deletes a key, saying whether it was there', async () => {
    await start();
    await h.integrations.cache!.set('d', 'v');
    expect(json(await h.call({ method: 'DELETE', url: '/cache/d' }))).toEqual({ deleted: true });
    expect(json(await h.call({ method: 'DELETE', url: '/cache/d' }))).toEqual({ deleted: false });
  });

  it('deletes by glob and says how many', async () => {
    await start();
    for (const k of ['user:1', 'user:2', 'user:3', 'order:1']) await h.integrations.cache!.set(k, 'v');
    const res = await h.call({ method: 'DELETE', url: `/cache?pattern=${encodeURIComponent('user:*')}` });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ deleted: 3 });
    expect(await h.integrations.cache!.exists('order:1')).toBe(true);
  });

  it('400 IN205 without a pattern', async () => {
    await start();
    for (const url of ['/cache', '/cache?pattern=', '/cache?pattern=a&pattern=b']) {
      const res = await h.call({ method: 'DELETE', url });
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'IN205', field: 'pattern' });
    }
  });
});

describe('POST /cache/:key/incr', () => {
  it('adds delta (default 1, may be negative) and returns the value', async () => {
    await start();
    expect(json(await h.call({ method: 'POST', url: '/cache/n/incr' }))).toEqual({ value: 1 });
    expect(json(await h.call({ method: 'POST', url: '/cache/n/incr', payload: { delta: 10 } }))).toEqual({
      value: 11,
    });
    expect(json(await h.call({ method: 'POST', url: '/cache/n/incr', payload: { delta: -20 } }))).toEqual({
      value: -9,
    });
    expect(json(await h.call({ method: 'POST', url: '/cache/n/incr', payload: {} }))).toEqual({ value: -8 });
  });

  it('400 IN202 on a value that is not an integer or a bad delta', async () => {
    await start();
    await h.integrations.cache!.set('txt', 'hello');
    const notInt = await h.call({ method: 'POST', url: '/cache/txt/incr', payload: { delta: 1 } });
    expect(notInt.statusCode).toBe(400);
    expect(errorOf(notInt).code).toBe('IN202');
    for (const payload of [{ delta: 1.5 }, { delta: '1' }, { delta: null }, { step: 1 }, [1]]) {
      const res = await h.call({ method: 'POST', url: '/cache/n/incr', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('IN202');
    }
  });
});
