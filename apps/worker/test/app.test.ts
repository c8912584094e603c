import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryCache } from '@fraiseql/cache-memory';
import { IntegrationService } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue, type PostgresQueue } from '@fraiseql/queue-postgres';
import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHandlers, startWorkerHttp, startWorkers } from '../src/index.ts';

describe('worker app on PGlite', () => {
  let sql: SqlClient;
  let queue: PostgresQueue;
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-worker-'));
  beforeAll(async () => {
    sql = await createSqlClient({});
    queue = await createPostgresQueue({ sql, pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await queue.close();
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a user handlers module next to the built-ins', async () => {
    const file = join(dir, 'handlers.mjs');
    writeFileSync(
      file,
      `export const seen = [];\nexport async function greet(job) { globalThis.__greeted = (globalThis.__greeted ?? 0) + 1; }\nexport default { greet };\n`,
    );
    const handlers = await loadHandlers(file);
    expect(Object.keys(handlers)).toEqual(['greet']);
    const cache = await createMemoryCache();
    const app = startWorkers({ integrations: { queue, cache }, handlers, concurrency: 2 });
    expect(app.queues.sort()).toEqual(['cache.invalidate', 'greet', 'webhook']);
    const events: string[] = [];
    app.onEvent((event, q) => events.push(`${event}:${q}`));
    await cache.set('a:1', 'x');
    await queue.enqueue('greet', { name: 'Ada' });
    await queue.enqueue('cache.invalidate', { pattern: 'a:*' });
    await waitFor(
      () => events.includes('completed:greet') && events.includes('completed:cache.invalidate'),
      15_000,
      'both jobs',
    );
    expect((globalThis as { __greeted?: number }).__greeted).toBe(1);
    expect(await cache.exists('a:1')).toBe(false);
    await app.close();
    await cache.close();
  });

  it('refuses a handlers module without handlers, a missing file and bad queue names (IN002/IN307)', async () => {
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const x = 1;\n');
    await expect(loadHandlers(empty)).rejects.toMatchObject({ code: 'IN002' });
    await expect(loadHandlers(join(dir, 'nope.mjs'))).rejects.toMatchObject({ code: 'IN002' });
    expect(() => startWorkers({ integrations: { queue }, handlers: { 'bad name': async () => {} } })).toThrow(
      expect.objectContaining({ code: 'IN307' }),
    );
    expect(() => startWorkers({ integrations: {} })).toThrow(expect.objectContaining({ code: 'IN004' }));
  });

  it('serves /metrics and /health', async () => {
    const registry = new Registry();
    const service = new IntegrationService({ queue, registry });
    const http = await startWorkerHttp({ registry, service, port: 0 });
    try {
      const health = await fetch(`${http.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', providers: { 'queue:postgresql': true } });
      const metrics = await fetch(`${http.url}/metrics`);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('fraiseql_integration_queue_enqueue_total');
      expect((await fetch(`${http.url}/nope`)).status).toBe(404);
      expect((await fetch(`${http.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await http.close();
    }
  });
});

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('worker process and SIGTERM (Postgres server)', () => {
  const schema = uniqueName('w');
  let sql: SqlClient;
  let queue: PostgresQueue;
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
    queue = await createPostgresQueue({ sql, schema });
  });
  afterAll(async () => {
    await queue.close();
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.close();
  });

  const runChild = (env: Record<string, string>) => {
    const script = fileURLToPath(new URL('./fixtures/sigterm-worker.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, DB_URL: pg.url, SCHEMA: schema, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  };

  it('SIGTERM mid-job: a job that finishes within the grace period completes', async () => {
    const name = uniqueName('term');
    const id = await queue.enqueue(name, { ms: 300 });
    const c = runChild({ QUEUE: name, GRACE_MS: '5000' });
    await waitFor(() => c.output().includes(`started ${id}`), 20_000, 'the job to start');
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(c.output()).toContain(`finished ${id}`);
    expect((await queue.getJob(name, id))?.state).toBe('completed');
  });

  it('SIGTERM mid-job: a job still running after the grace period goes back to pending', async () => {
    const name = uniqueName('term');
    const id = await queue.enqueue(name, { ms: 30_000 });
    const c = runChild({ QUEUE: name, GRACE_MS: '300' });
    await waitFor(() => c.output().includes(`started ${id}`), 20_000, 'the job to start');
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    const info = await queue.getJob(name, id);
    expect(info).toMatchObject({ state: 'pending', attempts: 0 });
  });
});
