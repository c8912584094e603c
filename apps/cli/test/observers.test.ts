import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freePort, OBSERVERS_BIN, startServe } from './helpers.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('observers through serve and the fraiseql-observers CLI', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-obs-'));
  const schema = uniqueName('cliobs');
  let sql: SqlClient;
  let receiver: Server;
  let hookUrl = '';
  let answer = 500;
  let hits = 0;
  // Asynchronous: the webhook receiver lives in this process and must answer while the CLI runs.
  const obs = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [OBSERVERS_BIN, ...args], {
        cwd,
        env: { ...process.env, DATABASE_URL: pg.url, HOOK_URL: hookUrl, HOOK_SECRET: 's' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const obsJson = async (args: string[]) => {
    const r = await obs([...args, '--format', 'json']);
    try {
      return { code: r.code, json: JSON.parse(r.stdout) };
    } catch {
      throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
  };

  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits++;
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    writeFileSync(
      join(cwd, 'fraiseql.toml'),
      `[postgres]
url_env = "DATABASE_URL"
[cache]
backend = "memory"
[observers]
schema = "${schema}"
change_log = "${schema}.tb_entity_change_log"
poll_interval_ms = 100
failover = { health_check_interval_ms = 200, failover_threshold_ms = 1000 }

[[observers.observer]]
name = "order-created"
entity = "Order"
events = ["INSERT"]
condition = "status == 'new'"
retry = { max_attempts = 1 }
actions = [ { type = "webhook", url_env = "HOOK_URL", secret_env = "HOOK_SECRET" } ]
`,
    );
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await sql?.close();
    receiver?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('serve runs the observers; status, debug-event, dlq and metrics work; without a leader status exits 1', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const s = await startServe(['--port', String(port), '--no-worker'], {
      cwd,
      env: { DATABASE_URL: pg.url, HOOK_URL: hookUrl, HOOK_SECRET: 's', FRAISEQL_API_TOKEN: undefined },
    });
    try {
      await waitFor(() => s.output().includes('observers running: 1 observer(s)'), 10_000);
      const { rows } = await sql.query<{ id: string }>(
        `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ('Order', 'o1', 'INSERT', '{"status":"new"}') RETURNING id::text`,
      );
      const eventId = rows[0]!.id;
      await waitFor(
        async () => (await sql.query(`SELECT 1 FROM "${schema}".observer_dlq`)).rowCount === 1,
        20_000,
      );
      expect(hits).toBe(1);

      const status = await obsJson(['status']);
      expect(status.code).toBe(0);
      expect(status.json).toMatchObject({
        leader: expect.any(String),
        healthy_listeners: 1,
        dlq_size: 1,
        checkpoint: eventId,
      });
      const table = (await obs(['status', '--detailed'])).stdout;
      expect(table).toMatch(/^Leader\s+\S+:\d+$/m);
      expect(table).toMatch(/^Healthy listeners\s+1$/m);
      expect(table).toMatch(/LISTENERID[\s\S]*leader/);

      const debug = await obsJson(['debug-event', '--event-id', eventId]);
      expect(debug.json).toMatchObject({
        event: { id: eventId },
        matchedObservers: ['order-created'],
        executions: [{ status: 'dlq' }],
      });
      expect(
        (await obsJson(['debug-event', '--entity-type', 'Order', '--kind', 'created', '--history', '5']))
          .json,
      ).toHaveLength(1);
      expect((await obs(['debug-event', '--event-id', '99999999'])).code).toBe(1);

      const list = await obsJson(['dlq', 'list', '--limit', '20', '--observer', 'order-created']);
      expect(list.json).toHaveLength(1);
      const id = list.json[0].id as string;
      expect((await obs(['dlq', 'list'])).stdout).toMatch(/ID\s+EVENT\s+OBSERVER[\s\S]*order-created/);
      expect((await obsJson(['dlq', 'show', id])).json).toMatchObject({ id, observer: 'order-created' });
      expect((await obs(['dlq', 'show', '424242'])).code).toBe(1);
      expect((await obs(['dlq', 'retry-all', '--dry-run'])).stdout).toContain(`would retry 1: ${id}`);
      expect((await obs(['dlq', 'retry', id])).code).toBe(1);
      answer = 200;
      expect((await obs(['dlq', 'retry', id])).code).toBe(0);
      expect((await obsJson(['dlq', 'list'])).json).toEqual([]);

      const metrics = await obs(['metrics', '--url', s.url, '--metric', 'observer_events_processed_total']);
      expect(metrics.code).toBe(0);
      expect(metrics.stdout).toMatch(/observer_events_processed_total\{entity="Order",kind="INSERT"\} 1/);
    } finally {
      await s.stop();
    }
    const after = await obsJson(['status']);
    expect(after.code).toBe(1);
    expect(after.json.leader).toBeNull();
  });

  it('validate-config checks observers (exit 2 listing problems); usage errors exit 2', async () => {
    writeFileSync(
      join(cwd, 'bad.toml'),
      `[observers]\n[[observers.observer]]\nname = "x"\nentity = "Order"\ncondition = "total >"\nactions = [{ type = "enqueue", queue = "q" }]\n`,
    );
    writeFileSync(
      join(cwd, 'cross.toml'),
      `[observers]\n[[observers.observer]]\nname = "x"\nentity = "Order"\nactions = [{ type = "enqueue", queue = "q" }]\n`,
    );
    const good = await obsJson(['validate-config', 'fraiseql.toml', '--detailed']);
    expect(good.code).toBe(0);
    expect(good.json).toMatchObject({
      valid: true,
      observers: [{ name: 'order-created', actions: 'webhook' }],
    });
    const bad = await obs(['validate-config', 'bad.toml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid condition "total >"');
    expect((await obs(['validate-config', 'cross.toml'])).stderr).toContain(
      'an enqueue action needs a [queues] section',
    );
    expect((await obs(['debug-event'])).code).toBe(2);
    await sql.exec(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY, status text)`);
    const captured = await obs(['capture', '--table', `${schema}.orders`, '--entity', 'Order']);
    expect(captured.stdout).toContain(`capturing ${schema}.orders as Order`);
    await sql.query(`INSERT INTO "${schema}".orders VALUES ('c1', 'new')`);
    const { rows } = await sql.query(
      `SELECT object_type, object_id FROM "${schema}".tb_entity_change_log WHERE object_id = 'c1'`,
    );
    expect(rows).toEqual([{ object_type: 'Order', object_id: 'c1' }]);
    expect((await obs(['capture', '--table', `${schema}.orders`, '--remove'])).code).toBe(0);
    expect((await obs(['capture', '--table', 'x; DROP TABLE y', '--entity', 'E'])).code).toBe(2);
    expect((await obs(['nonsense'])).code).toBe(2);
  });

  it('observe runs only the observers, processes events, and stops cleanly on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    answer = 200;
    const before = hits;
    const child = spawn(process.execPath, [BIN, 'observe'], {
      cwd,
      env: { ...process.env, DATABASE_URL: pg.url, HOOK_URL: hookUrl, HOOK_SECRET: 's' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(() => out.includes('observers running'), 30_000, 'observe to start');
    await sql.query(
      `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ('Order', 'o2', 'INSERT', '{"status":"new"}')`,
    );
    await waitFor(() => hits === before + 1, 20_000, 'the webhook');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('stopping: finishing in-flight events');
    const bad = await new Promise<number | null>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'observe', '--role', 'boss'], {
        cwd,
        env: { ...process.env, DATABASE_URL: pg.url },
      });
      c.once('exit', (code) => resolve(code));
    });
    expect(bad).toBe(2);
  });

  it('serve runs [observers] on the embedded PGlite when no [postgres] url is set', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-obs-embedded-'));
    try {
      writeFileSync(
        join(dir, 'fraiseql.toml'),
        `[cache]\nbackend = "memory"\n[observers]\npoll_interval_ms = 100\n[[observers.observer]]\nname = "o"\nentity = "Order"\nactions = [ { type = "cache.invalidate", keys = ["order:{entity_id}"] } ]\n`,
      );
      const port = await freePort();
      const s = await startServe(['--port', String(port), '--no-worker'], {
        cwd: dir,
        env: { FRAISEQL_API_TOKEN: undefined },
      });
      try {
        await waitFor(() => s.output().includes('observers running: 1 observer(s)'), 30_000);
        const status = (await (await fetch(`${s.url}/observers`)).json()) as {
          role: string;
          leader: string;
          listeners: unknown[];
        };
        expect(status.role).toBe('leader');
        expect(status.listeners).toHaveLength(1);
      } finally {
        expect(await s.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
