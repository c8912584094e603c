import { describe, expect, it } from 'vitest';
import { createMemoryCache, MemoryCache } from '../src/provider.ts';

const bytes = (n: number) => new Uint8Array(n).fill(7);

describe('memory cache specifics', () => {
  it('evicts the least recently used entry beyond maxEntries', async () => {
    const c = await createMemoryCache({ maxEntries: 3 });
    await c.set('a', '1');
    await c.set('b', '2');
    await c.set('c', '3');
    await c.get('a'); // a is now the most recently used
    await c.set('d', '4');
    expect(await c.exists('b')).toBe(false);
    expect(await c.exists('a')).toBe(true);
    expect(await c.exists('d')).toBe(true);
    expect(c.size).toBe(3);
    await c.close();
  });

  it('stays within its byte bound under a write storm', async () => {
    const c = await createMemoryCache({ maxSizeBytes: 64 * 1024, maxEntries: 1_000_000 });
    for (let i = 0; i < 20_000; i++) {
      await c.set(`k${i}`, bytes(100 + (i % 900)));
      if (i % 1000 === 0) expect(c.sizeBytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(c.sizeBytes).toBeLessThanOrEqual(64 * 1024);
    expect(c.sizeBytes).toBeGreaterThan(32 * 1024);
    expect(await c.exists('k19999')).toBe(true);
    await c.close();
  });

  it('refuses a single value larger than the byte bound with IN203', async () => {
    const c = await createMemoryCache({ maxSizeBytes: 1024 });
    await expect(c.set('big', bytes(2048))).rejects.toMatchObject({ code: 'IN203' });
    await expect(c.setJson('big', { s: 'x'.repeat(4096) })).rejects.toMatchObject({ code: 'IN203' });
    await c.close();
  });

  it('expires by the injected clock, without timers per entry', async () => {
    let now = 1_000;
    const c = new MemoryCache({ clock: { now: () => now }, defaultTtlMs: 1000, purgeIntervalMs: 0 });
    await c.set('a', 'x', 500);
    await c.set('b', 'y');
    expect(await c.ttl('a')).toBe(500);
    now += 499;
    expect(await c.get('a')).not.toBeNull();
    now += 2;
    expect(await c.get('a')).toBeNull();
    expect(await c.exists('b')).toBe(true);
    expect(await c.incr('counter')).toBe(1);
    now += 599;
    expect(await c.incr('counter', 2)).toBe(3); // keeps the TTL it got when created
    expect(await c.ttl('counter')).toBe(401);
    now += 402;
    expect(await c.exists('b')).toBe(false);
    expect(await c.incr('counter')).toBe(1);
    await c.close();
  });

  it('keeps its own copy of stored bytes', async () => {
    const c = await createMemoryCache();
    const buf = new Uint8Array([1, 2, 3]);
    await c.set('k', buf);
    buf[0] = 9;
    const got = (await c.get('k'))!;
    expect([...got]).toEqual([1, 2, 3]);
    got[1] = 9;
    expect([...(await c.get('k'))!]).toEqual([1, 2, 3]);
    await c.close();
  });

  it('keeps its own copy of a Buffer value too (Buffer#slice would be a view)', async () => {
    const c = await createMemoryCache();
    const buf = Buffer.from([1, 2, 3]);
    await c.set('b', buf);
    buf[0] = 9;
    const got = (await c.get('b'))!;
    expect([...got]).toEqual([1, 2, 3]);
    got[1] = 9;
    expect([...(await c.get('b'))!]).toEqual([1, 2, 3]);
    await c.close();
  });

  it('hands out a fresh copy of a string or JSON value on every get, with or without a byte bound', async () => {
    for (const c of [await createMemoryCache(), await createMemoryCache({ maxSizeBytes: 4096 })]) {
      await c.set('s', 'héllo');
      await c.setJson('j', { a: 1 });
      for (const key of ['s', 'j']) {
        const first = (await c.get(key))!;
        const want = [...first];
        first.fill(0);
        const second = (await c.get(key))!;
        expect([...second]).toEqual(want);
        expect(second).not.toBe(first);
        second.fill(1);
        expect([...(await c.get(key))!]).toEqual(want);
      }
      expect(new TextDecoder().decode((await c.get('s'))!)).toBe('héllo');
      expect(await c.getJson('j')).toEqual({ a: 1 });
      expect(await c.incr('s').catch((e) => e.code)).toBe('IN202');
      await c.close();
    }
  });

  it('gets of many values share no bytes: every result stays as it was read, small or large', async () => {
    const c = await createMemoryCache();
    // Enough small reads to fill several copy slabs, plus values too large for a slab.
    const sizes = [1, 7, 100, 4095, 4096, 4097, 9000];
    for (const [i, n] of sizes.entries()) await c.set(`v${i}`, new Uint8Array(n).fill(i + 1));
    const results: Uint8Array[] = [];
    for (let round = 0; round < 300; round++) {
      const i = round % sizes.length;
      const got = (await c.get(`v${i}`))!;
      expect(got.byteLength).toBe(sizes[i]);
      expect(got.byteOffset % 8).toBe(0);
      results.push(got);
    }
    // Each result overwritten with its own mark: no two overlap, and the cache is untouched.
    const mark = (k: number) => 16 + (k % 200);
    for (const [k, got] of results.entries()) got.fill(mark(k));
    for (const [k, got] of results.entries()) expect(got.every((b) => b === mark(k))).toBe(true);
    const fresh = await Promise.all(sizes.map((_, i) => c.get(`v${i}`)));
    for (const [i, got] of fresh.entries()) expect(got!.every((b) => b === i + 1)).toBe(true);
    await c.close();
  });

  it('rejects bad options with IN002 and fails calls after close', async () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).toThrow(expect.objectContaining({ code: 'IN002' }));
    expect(() => new MemoryCache({ defaultTtlMs: -5 })).toThrow(expect.objectContaining({ code: 'IN204' }));
    const c = await createMemoryCache();
    await c.close();
    await c.close();
    expect(await c.healthCheck()).toBe(false);
    await expect(c.get('k')).rejects.toMatchObject({ code: 'IN201' });
  });
});
