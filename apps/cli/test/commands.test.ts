import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, freePort, startServe } from './helpers.ts';

const pg = await checkService('postgres');
const redis = await checkService('redis');

describe('CLI without services', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-cli-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('validate-config: exit 0 for a valid file, 2 with every problem for a bad one', () => {
    writeFileSync(join(cwd, 'good.toml'), '[cache]\nbackend = "memory"\ndefault_ttl = 60\n');
    writeFileSync(
      join(cwd, 'bad.toml'),
      '[cache]\nbackend = "memcached"\n[queues]\nbackend = "postgresql"\nconcurrency = -1\ncolour = "red"\n',
    );
    writeFileSync(join(cwd, 'syntax.toml'), '[cache\nbackend = 1\n');
    expect(cli(['validate-config', 'good.toml'], { cwd })).toMatchObject({ code: 0 });
    const detailed = cliJson(['validate-config', 'good.toml', '--detailed'], { cwd });
    expect(detailed.json).toEqual({
      valid: true,
      config: { cache: { backend: 'memory', defaultTtlMs: 60_000 } },
    });
    const bad = cliJson(['validate-config', 'bad.toml'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.json.valid).toBe(false);
    expect(bad.json.code).toBe('IN002');
    expect(bad.json.issues.length).toBeGreaterThanOrEqual(2);
    const syntax = cli(['validate-config', 'syntax.toml'], { cwd });
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/line 1/);
    expect(syntax.stderr).not.toMatch(/\n\s+at /);
    expect(cli(['validate-config', 'nope.toml'], { cwd }).code).toBe(2);
  });

  it('slo rules prints the Prometheus rules; unknown commands are usage errors', () => {
    const r = cli(['slo', 'rules'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('groups:');
    expect(r.stdout).toContain('14.4');
    expect(cli(['frobnicate'], { cwd }).code).toBe(2);
    expect(cli(['--help'], { cwd }).code).toBe(0);
  });

  it('metrics and slo status read a running server; unreachable is exit 1', async () => {
    expect(cli(['metrics', '--url', 'http://127.0.0.1:1'], { cwd }).code).toBe(1);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-cli-serve-'));
    const s = await startServe(['--port', String(port)], {
      cwd: dir,
      env: { FRAISEQL_API_TOKEN: undefined },
    });
    try {
      await fetch(`${s.url}/cache/k`, {
        method: 'PUT',
        body: 'v',
        headers: { 'content-type': 'text/plain' },
      });
      const m = cli(['metrics', '--url', s.url, '--metric', 'fraiseql_integration_cache_set'], { cwd });
      expect(m.code).toBe(0);
      expect(m.stdout).toContain('fraiseql_integration_cache_set_total');
      expect(m.stdout).not.toContain('process_cpu');
      const json = cliJson(['metrics', '--url', s.url, '--metric', 'fraiseql_integration_cache_set_total'], {
        cwd,
      });
      expect(
        json.json.some((x: any) => x.name === 'fraiseql_integration_cache_set_total' && x.value >= 1),
      ).toBe(true);
      const slo = cliJson(['slo', 'status', '--url', s.url], { cwd });
      expect(slo.code).toBe(0);
      expect(slo.json.withinSlo).toBe(true);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.skipIf(!pg.available || !redis.available)('CLI against Postgres and Redis', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-cli-'));
  const schema = uniqueName('cli');
  const prefix = `${uniqueName('cli')}:`;
  const env = { DATABASE_URL: pg.url, REDIS_URL: redis.url };
  const run = (args: string[]) => cliJson(args, { cwd, env });
  beforeAll(() => {
    writeFileSync(
      join(cwd, 'fraiseql.toml'),
      `[search]\nprovider = "postgresql"\nschema = "${schema}"\n\n[cache]\nbackend = "redis"\nurl_env = "REDIS_URL"\nprefix = "${prefix}"\n\n[queues]\nbackend = "postgresql"\nschema = "${schema}"\n\n[postgres]\nurl_env = "DATABASE_URL"\n`,
    );
  });
  afterAll(async () => {
    const sql = await createSqlClient({ url: pg.url });
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('status is healthy (exit 0), and exit 1 when a backend is down', () => {
    const ok = run(['status']);
    expect(ok.code).toBe(0);
    expect(Object.values(ok.json).every((s: any) => s.healthy)).toBe(true);
    writeFileSync(join(cwd, 'down.toml'), '[cache]\nbackend = "redis"\nurl_env = "DEAD_REDIS"\n');
    const down = cliJson(['status', '--config', 'down.toml'], {
      cwd,
      env: { DEAD_REDIS: 'redis://127.0.0.1:1' },
    });
    expect(down.code).not.toBe(0);
  });

  it('cache set / get / ttl / del / del-pattern', () => {
    expect(run(['cache', 'set', 'user:1', 'Ada', '--ttl-ms', '60000']).code).toBe(0);
    expect(run(['cache', 'set', 'user:2', 'Bob']).code).toBe(0);
    expect(run(['cache', 'get', 'user:1']).json).toMatchObject({ hit: true, value: 'Ada' });
    const ttl = run(['cache', 'ttl', 'user:1']).json.ttlMs;
    expect(ttl).toBeGreaterThan(50_000);
    expect(run(['cache', 'del', 'user:1']).json).toEqual({ key: 'user:1', deleted: true });
    expect(run(['cache', 'get', 'user:1']).code).toBe(1);
    expect(run(['cache', 'del-pattern', 'user:*']).json).toEqual({ pattern: 'user:*', deleted: 1 });
    expect(cli(['cache', 'get', ''], { cwd, env }).code).toBe(2);
  });

  it('queue enqueue / stats / list / show / pause / resume / delete', () => {
    const q = 'emails';
    const { json } = run(['queue', 'enqueue', q, '{"to":"ada@example.com"}', '--priority', '3']);
    expect(json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(run(['queue', 'stats', q]).json).toEqual({ queue: q, length: 1, failed: 0, paused: false });
    expect(run(['queue', 'list', q]).json.map((j: any) => j.id)).toEqual([json.id]);
    expect(run(['queue', 'show', q, json.id]).json).toMatchObject({
      id: json.id,
      data: { to: 'ada@example.com' },
      priority: 3,
      state: 'pending',
    });
    expect(run(['queue', 'pause', q]).json.paused).toBe(true);
    expect(run(['queue', 'resume', q]).json.paused).toBe(false);
    expect(run(['queue', 'delete', q, json.id]).code).toBe(0);
    expect(run(['queue', 'show', q, json.id]).code).toBe(1);
    expect(cli(['queue', 'enqueue', q, 'not json'], { cwd, env }).code).toBe(2);
    expect(cli(['queue', 'stats', 'bad name'], { cwd, env }).code).toBe(2);
  });

  it('dlq list / show / retry / retry-all --dry-run on failed jobs', async () => {
    const q = 'reports';
    const sql = await createSqlClient({ url: pg.url });
    const queue = await createPostgresQueue({ sql, schema });
    try {
      const ids = await queue.enqueueMany(q, [
        { data: { n: 1 }, opts: { maxRetries: 0 } },
        { data: { n: 2 }, opts: { maxRetries: 0 } },
        { data: { n: 3 }, opts: { maxRetries: 0 } },
      ]);
      const w = queue.process(
        q,
        async () => ({ status: 'failed' as const, reason: 'report generator exploded' }),
        { concurrency: 3 },
      );
      await waitFor(async () => (await queue.failedCount(q)) === 3, 15_000, 'three failed jobs');
      await w.close();
      const list = run(['dlq', 'list', q]);
      expect(list.json.map((j: any) => j.id).sort()).toEqual([...ids].sort());
      expect(list.json[0].lastError).toBe('report generator exploded');
      expect(run(['dlq', 'show', q, ids[0]!]).json).toMatchObject({ state: 'failed' });
      expect(run(['dlq', 'retry', q, ids[0]!]).json).toEqual({ retried: true });
      expect(run(['queue', 'retry-all', q, '--dry-run']).json.wouldRetry.sort()).toEqual(ids.slice(1).sort());
      expect(await queue.failedCount(q)).toBe(2);
      expect(run(['dlq', 'retry-all', q]).json).toEqual({ queue: q, retried: 2 });
      expect(run(['queue', 'stats', q]).json).toMatchObject({ length: 3, failed: 0 });
    } finally {
      await queue.close();
      await sql.close();
    }
  }, 60_000);

  it('search configure / import (streamed, with progress) / query / clear', () => {
    expect(
      run([
        'search',
        'configure',
        'books',
        '--searchable',
        'title,author',
        '--filterable',
        'year',
        '--sortable',
        'year',
      ]).code,
    ).toBe(0);
    const lines = Array.from({ length: 1200 }, (_, i) =>
      JSON.stringify({
        id: `b${i}`,
        title: i % 2 ? `Odd book ${i}` : `Even tale ${i}`,
        author: 'Ann',
        year: 1900 + (i % 100),
      }),
    );
    lines.splice(10, 0, 'not json', JSON.stringify({ title: 'no id' }));
    writeFileSync(join(cwd, 'books.jsonl'), `${lines.join('\n')}\n`);
    const imp = cli(
      ['search', 'import', 'books', 'books.jsonl', '--batch', '250', '--progress', '--format', 'json'],
      { cwd, env },
    );
    const result = JSON.parse(imp.stdout);
    expect(result).toMatchObject({ index: 'books', succeeded: 1200, failed: 2 });
    expect(imp.code).toBe(1); // some lines failed: scripts must notice
    expect(imp.stderr).toMatch(/100%/);
    const q = run([
      'search',
      'query',
      'books',
      'tale',
      '--filter',
      '{"field":"year","op":"gte","value":1990}',
      '--sort',
      'year:desc',
      '--limit',
      '5',
    ]);
    expect(q.code).toBe(0);
    expect(q.json.totalHits).toBe(60);
    expect(q.json.hits[0].document.year).toBe(1998);
    expect(run(['search', 'clear', 'books']).code).toBe(0);
    expect(run(['search', 'query', 'books', '']).json.totalHits).toBe(0);
  }, 90_000);
});
