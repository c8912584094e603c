import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startServe } from './helpers.ts';

// Issue 7 black box: `serve` on embedded defaults in an empty directory, driven over HTTP.
describe('fraiseql-integrations serve (embedded defaults, black box)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-serve-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('serves cache, search and jobs with no service installed, and keeps data across a restart', async () => {
    const port = await freePort();
    let s = await startServe(['--port', String(port)], { cwd, env: { FRAISEQL_API_TOKEN: undefined } });
    try {
      const base = s.url;
      expect(s.output()).toContain('embedded defaults');
      const j = (r: Response) => r.json() as Promise<any>;

      // health + metrics
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await fetch(`${base}/metrics`).then((r) => r.text())).toContain('fraiseql_integration_');

      // cache
      expect(
        (
          await fetch(`${base}/cache/greeting?ttl_ms=60000`, {
            method: 'PUT',
            body: 'hello',
            headers: { 'content-type': 'text/plain' },
          })
        ).status,
      ).toBeLessThan(300);
      expect(await fetch(`${base}/cache/greeting`).then((r) => r.text())).toBe('hello');
      expect((await fetch(`${base}/cache/missing`)).status).toBe(404);

      // search: settings, documents, query with a filter
      const settings = await fetch(`${base}/search/products/settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ searchable: ['name'], filterable: ['price'], sortable: ['price'] }),
      });
      expect(settings.status).toBeLessThan(300);
      const docs = await fetch(`${base}/search/products/documents`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { id: 'w1', name: 'Blue widget', price: 10 },
          { id: 'w2', name: 'Red widget', price: 30 },
        ]),
      });
      expect(docs.status).toBeLessThan(300);
      const found = await j(
        await fetch(`${base}/search/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'widget', filter: { field: 'price', op: 'gt', value: 20 } }),
        }),
      );
      expect(found.hits.map((h: any) => h.id)).toEqual(['w2']);

      // jobs: the built-in search.index job becomes visible in search
      const enq = await fetch(`${base}/queues/search.index/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          data: { index: 'products', documents: [{ id: 'g1', name: 'Green gizmo', price: 5 }] },
        }),
      });
      expect(enq.status).toBe(202);
      const { id } = await j(enq);
      await waitFor(
        async () => (await j(await fetch(`${base}/queues/search.index/jobs/${id}`))).state === 'completed',
        20_000,
        'the search.index job',
      );
      const gizmo = await j(
        await fetch(`${base}/search/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'gizmo' }),
        }),
      );
      expect(gizmo.hits.map((h: any) => h.id)).toEqual(['g1']);
      const stats = await j(await fetch(`${base}/queues/search.index`));
      expect(stats).toMatchObject({ queue: 'search.index', length: 0, failed: 0, paused: false });

      // restart: data in ./.fraiseql survives
      expect(await s.stop()).toBe(0);
      s = await startServe(['--port', String(port)], { cwd });
      const again = await j(
        await fetch(`${s.url}/search/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '' }),
        }),
      );
      expect(again.hits.map((h: any) => h.id).sort()).toEqual(['g1', 'w1', 'w2']);
      expect((await j(await fetch(`${s.url}/queues/search.index/jobs/${id}`))).state).toBe('completed');
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('requires the token on everything but /health when one is set', async () => {
    const port = await freePort();
    const s = await startServe(['--port', String(port)], {
      cwd: mkdtempSync(join(tmpdir(), 'fraiseql-serve-auth-')),
      env: { FRAISEQL_API_TOKEN: 's3cret-token' },
    });
    try {
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
      expect((await fetch(`${s.url}/cache/x`)).status).toBe(401);
      expect((await fetch(`${s.url}/cache/x`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        403,
      );
      expect(
        (await fetch(`${s.url}/cache/x`, { headers: { authorization: 'Bearer s3cret-token' } })).status,
      ).toBe(404);
      expect(s.output()).not.toContain('s3cret-token');
    } finally {
      await s.stop();
    }
  }, 90_000);

  it('refuses to listen off loopback without a token', async () => {
    const port = await freePort();
    await expect(
      startServe(['--host', '0.0.0.0', '--port', String(port)], {
        cwd,
        env: { FRAISEQL_API_TOKEN: undefined },
      }),
    ).rejects.toThrow(/FRAISEQL_API_TOKEN/);
  }, 60_000);
});
