import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, OBSERVERS_BIN } from './helpers.ts';

const pg = await checkService('postgres');
const redis = await checkService('redis');
const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const TOPOLOGIES = fileURLToPath(new URL('../../../examples/topologies/', import.meta.url));
const FILES = [
  '01-postgresql-only.toml',
  '02-postgresql-redis.toml',
  '03-nats-distributed.toml',
  '04-multi-database-bridge.toml',
];

describe('examples/topologies', () => {
  it.each(FILES)('%s passes validate-config (both CLIs)', (file) => {
    const a = cli(['validate-config', `${TOPOLOGIES}${file}`], { cwd: TOPOLOGIES });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('observers');
    const b = cli(['validate-config', `${TOPOLOGIES}${file}`, '--detailed'], {
      cwd: TOPOLOGIES,
      bin: OBSERVERS_BIN,
    });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/valid, \d observer\(s\)/);
  });
});

interface Hook {
  bodies: {
    event: { id: string; source: string; entity: string; entity_id: string; kind: string };
    observer: string;
  }[];
}

/** Runs topologies 1 and 2 as real `fraiseql-integrations observe` processes on this machine's services. */
describe.skipIf(!pg.available || !redis.available)('topologies as processes', () => {
  let sql: SqlClient;
  let receiver: Server;
  const hook: Hook = { bodies: [] };
  let hookUrl = '';
  const children: ChildProcess[] = [];
  const schemas: string[] = [];
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        hook.bodies.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await sql?.close();
    receiver?.close();
  });

  /** `observe` with the topology file; schema, change log and names made unique through FRAISEQL_<SECTION>_<KEY>. */
  async function observe(
    file: string,
    schema: string,
    extra: Record<string, string> = {},
    args: string[] = [],
  ) {
    const child = spawn(process.execPath, [BIN, 'observe', '--config', `${TOPOLOGIES}${file}`, ...args], {
      cwd: TOPOLOGIES,
      env: {
        ...process.env,
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        NATS_URL,
        // Overrides of a sub-table the file lacks are unknown keys: only the NATS topologies get them.
        ...(file.startsWith('03') || file.startsWith('04')
          ? {
              FRAISEQL_OBSERVERS_NATS_STREAM: `S_${schema}`,
              FRAISEQL_OBSERVERS_NATS_SUBJECT_PREFIX: `t.${schema}`,
              FRAISEQL_OBSERVERS_NATS_DURABLE: `d_${schema}`,
            }
          : {}),
        ORDER_HOOK_URL: hookUrl,
        ORDER_HOOK_SECRET: 's3cret',
        CHANGES_HOOK_URL: hookUrl,
        CHANGES_HOOK_SECRET: 's3cret',
        FRAISEQL_OBSERVERS_SCHEMA: schema,
        FRAISEQL_OBSERVERS_CHANGE_LOG: `${schema}.tb_entity_change_log`,
        FRAISEQL_OBSERVERS_POLL_INTERVAL_MS: '100',
        FRAISEQL_SEARCH_SCHEMA: `${schema}_s`,
        FRAISEQL_QUEUES_SCHEMA: `${schema}_q`,
        FRAISEQL_CACHE_PREFIX: `${schema}:`,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(
      () => out.includes('observers running') || child.exitCode !== null,
      60_000,
      `${file} to start`,
    );
    if (child.exitCode !== null) throw new Error(`observe exited ${child.exitCode}: ${out}`);
    return { child, exited, output: () => out };
  }

  const insert = (schema: string, entity: string, id: string, kind: string, data: unknown) =>
    sql.query(
      `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ($1, $2, $3, $4::jsonb)`,
      [entity, id, kind, JSON.stringify(data)],
    );

  it('01 PostgreSQL only: a new order becomes a webhook and a search document, a paid order a job', async () => {
    const schema = uniqueName('topo1');
    schemas.push(schema, `${schema}_s`, `${schema}_q`);
    const p = await observe('01-postgresql-only.toml', schema);
    hook.bodies.length = 0;
    await insert(schema, 'Order', 'o1', 'INSERT', { status: 'new', customer: 'ada' });
    await insert(schema, 'Order', 'o1', 'UPDATE', { status: 'paid', customer: 'ada' });
    await waitFor(() => hook.bodies.length === 1, 20_000, 'the webhook');
    expect(hook.bodies[0]).toMatchObject({
      observer: 'order-created',
      event: { entity: 'Order', entity_id: 'o1', kind: 'INSERT' },
    });
    const queue = await createPostgresQueue({ sql, schema: `${schema}_q` });
    try {
      await waitFor(async () => (await queue.queueLength('fulfilment')) === 1, 20_000, 'the fulfilment job');
    } finally {
      await queue.close();
    }
    const { rows } = await sql
      .query(`SELECT count(*)::int AS n FROM "${schema}_s".search_orders`)
      .catch(() => ({ rows: [{ n: -1 }] }));
    expect(rows[0]?.n).toBe(1);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('02 PostgreSQL + Redis: the same row change twice runs its actions once (dedup in Redis)', async () => {
    const schema = uniqueName('topo2');
    schemas.push(schema);
    const p = await observe('02-postgresql-redis.toml', schema);
    hook.bodies.length = 0;
    await insert(schema, 'Order', 'o9', 'INSERT', { status: 'new' });
    await insert(schema, 'Order', 'o9', 'INSERT', { status: 'new' });
    await insert(schema, 'Order', 'o10', 'INSERT', { status: 'new' });
    await waitFor(() => hook.bodies.length === 2, 20_000, 'two webhooks');
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.bodies.map((b) => b.event.entity_id).sort()).toEqual(['o10', 'o9']);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('03 NATS distributed: one listener publishes, two workers share the events (none lost)', {
    timeout: 90_000,
  }, async () => {
    const schema = uniqueName('topo3');
    schemas.push(schema);
    const listener = await observe('03-nats-distributed.toml', schema, {}, ['--role', 'listener']);
    const workers = [
      await observe('03-nats-distributed.toml', schema, { FRAISEQL_OBSERVERS_LISTENER_ID: 'w1' }, [
        '--role',
        'worker',
      ]),
      await observe('03-nats-distributed.toml', schema, { FRAISEQL_OBSERVERS_LISTENER_ID: 'w2' }, [
        '--role',
        'worker',
      ]),
    ];
    hook.bodies.length = 0;
    for (let i = 0; i < 200; i += 50)
      await sql.exec(
        `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ${Array.from({ length: 50 }, (_, j) => `('Order', 'n${i + j}', 'INSERT', '{"status":"new"}')`).join(',')}`,
      );
    await waitFor(
      () => new Set(hook.bodies.map((b) => b.event.entity_id)).size === 200,
      60_000,
      '200 distinct webhooks',
    );
    for (const p of [listener, ...workers]) p.child.kill('SIGTERM');
    for (const p of [listener, ...workers]) expect(await p.exited).toBe(0);
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".observer_listeners`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('04 multi-database bridge: listeners on two databases, one stream, the worker sees both sources', {
    timeout: 90_000,
  }, async () => {
    const schema = uniqueName('topo4');
    schemas.push(schema);
    const db2 = `${schema}_db2`;
    await sql.exec(`CREATE DATABASE "${db2}"`);
    const url2 = new URL(pg.url);
    url2.pathname = `/${db2}`;
    const sql2 = await createSqlClient({ url: url2.toString() });
    try {
      const procs = [
        await observe('04-multi-database-bridge.toml', schema, { FRAISEQL_OBSERVERS_SOURCE: 'orders' }, [
          '--role',
          'listener',
        ]),
        await observe(
          '04-multi-database-bridge.toml',
          schema,
          { DATABASE_URL: url2.toString(), FRAISEQL_OBSERVERS_SOURCE: 'billing' },
          ['--role', 'listener'],
        ),
        await observe(
          '04-multi-database-bridge.toml',
          schema,
          { FRAISEQL_OBSERVERS_LISTENER_ID: 'worker-1' },
          ['--role', 'worker'],
        ),
      ];
      hook.bodies.length = 0;
      await insert(schema, 'Order', 'o1', 'INSERT', { total: 1 });
      await sql2.query(
        `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ('Invoice', 'i1', 'INSERT', '{}')`,
      );
      await waitFor(() => hook.bodies.length >= 2, 30_000, 'webhooks from both databases');
      expect(hook.bodies.map((b) => [b.event.source, b.event.entity, b.event.entity_id]).sort()).toEqual([
        ['billing', 'Invoice', 'i1'],
        ['orders', 'Order', 'o1'],
      ]);
      for (const p of procs) p.child.kill('SIGTERM');
      for (const p of procs) expect(await p.exited).toBe(0);
    } finally {
      await sql2.close();
      await sql.exec(`DROP DATABASE IF EXISTS "${db2}" WITH (FORCE)`);
    }
  });
});
