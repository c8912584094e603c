import { createServer, type Server, type Socket } from 'node:net';
import { IntegrationError } from '@fraiseql/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlClient, fromPgClient, isUniqueViolation, type SqlClient, sqlState } from '../src/index.ts';
import { pgService, rejectionOf, uniqueName, waitFor, waitForAsync } from './helpers.ts';

const SECRET = 's3cr3t-Pa55word';

/** Retries `fn` while it fails with a transient error (a pool may hand out a just-killed connection once). */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof IntegrationError) || !err.isTransient || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A TCP server that accepts connections and never says a word: a hung database. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `postgres://fraiseql:${SECRET}@127.0.0.1:${port}/db`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('pg connection failures (no server needed)', () => {
  it('maps a refused connection to IN501 without leaking the password', async () => {
    const err = await rejectionOf(createSqlClient({ url: `postgres://fraiseql:${SECRET}@127.0.0.1:1/test` }));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('IN501');
    expect(err.isTransient).toBe(true);
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.message).not.toContain(SECRET);
    expect(JSON.stringify(err.toJSON())).not.toContain(SECRET);
    expect(err.cause).toBeDefined();
  });

  it('with lazyConnect, opens at once and fails the first query with IN501 instead', async () => {
    const sql = await createSqlClient({
      url: `postgres://fraiseql:${SECRET}@127.0.0.1:1/test`,
      lazyConnect: true,
    });
    const err = await rejectionOf(sql.query('SELECT 1'));
    expect(err.code).toBe('IN501');
    expect(err.message).not.toContain(SECRET);
    expect(await sql.healthCheck(2000)).toBe(false);
    await sql.close();
  });

  it('returns false from healthCheck within its timeout when the server never answers', async () => {
    const server = await silentServer();
    // A connection timeout far beyond the test timeout: only healthCheck's own timeout can end it.
    const sql = await createSqlClient({
      url: server.url,
      lazyConnect: true,
      poolOptions: { connectionTimeoutMillis: 600_000 },
    });
    expect(await sql.healthCheck(300)).toBe(false);
    await server.close();
    await sql.close();
  }, 20_000);

  it('maps a connection timeout to IN500', async () => {
    const server = await silentServer();
    const err = await rejectionOf(
      createSqlClient({ url: server.url, poolOptions: { connectionTimeoutMillis: 300 } }),
    );
    expect(err.code).toBe('IN500');
    expect(err.message).not.toContain(SECRET);
    await server.close();
  });

  it('refuses conflicting or empty options with IN002', async () => {
    await expect(
      createSqlClient({ url: 'postgres://x@127.0.0.1/db', embeddedDir: '/tmp/x' } as any),
    ).rejects.toMatchObject({
      code: 'IN002',
    });
    await expect(createSqlClient({ url: '' })).rejects.toMatchObject({ code: 'IN002' });
    const err = await rejectionOf(createSqlClient({ url: `http://user:${SECRET}@example.com/db` }));
    expect(err.code).toBe('IN002');
    expect(err.message).not.toContain(SECRET);
  });
});

describe.skipIf(!pgService.available)('pg SqlClient against a real server', () => {
  let admin: SqlClient;

  beforeAll(async () => {
    admin = await createSqlClient({ url: pgService.url });
  });

  afterAll(async () => {
    await admin?.close();
  });

  it('keeps listening after its connection is terminated, and says it reconnected', async () => {
    const sql = await createSqlClient({ url: pgService.url });
    const channel = uniqueName('reconnect');
    const got: string[] = [];
    let reconnects = 0;
    await sql.listen(channel, (p) => got.push(p), { onReconnect: () => reconnects++ });
    const listenerPid = async () => {
      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE query = $1',
        [`LISTEN "${channel}"`],
      );
      return rows.map((r) => r.pid);
    };

    for (let round = 1; round <= 2; round++) {
      const [pid] = await listenerPid();
      expect(pid).toBeTypeOf('number');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(() => reconnects === round, `reconnect #${round}`);
      const pids = await listenerPid();
      expect(pids).toHaveLength(1);
      expect(pids[0]).not.toBe(pid);
      await sql.notify(channel, `after ${round}`);
      await waitFor(() => got.includes(`after ${round}`), `notification after reconnect #${round}`);
    }
    await sql.close();
    await waitForAsync(async () => (await listenerPid()).length === 0, 'listener backend to go away');
  });

  it('survives idle pool connections being terminated (no unhandled error event)', async () => {
    const app = uniqueName('app');
    const sql = await createSqlClient({ url: pgService.url, poolOptions: { application_name: app } });
    await Promise.all([sql.query('SELECT pg_sleep(0.05)'), sql.query('SELECT pg_sleep(0.05)')]);
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    expect(killed.rowCount).toBe(2);
    const { rows } = await eventually(() => sql.query<{ ok: number }>('SELECT 1 AS ok'));
    expect(rows).toEqual([{ ok: 1 }]);
    await sql.close();
  });

  it('fails a transaction whose connection is killed with a transient error and recovers', async () => {
    const sql = await createSqlClient({ url: pgService.url });
    const err = await rejectionOf(
      sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((r) => setTimeout(r, 100));
        await tx.query('SELECT 1');
      }),
    );
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('IN502');
    expect(err.isTransient).toBe(true);
    expect((await eventually(() => sql.query('SELECT 1 AS ok'))).rows).toEqual([{ ok: 1 }]);
    await sql.close();
  });

  it('reports a missing database as IN405 with its SQLSTATE', async () => {
    const url = new URL(pgService.url);
    url.pathname = `/${uniqueName('nodb')}`;
    const err = await rejectionOf(createSqlClient({ url: url.toString() }));
    expect(err.code).toBe('IN405');
    expect(sqlState(err)).toBe('3D000');
    expect(err.message).toContain('connect failed');
  });

  it('leaves a pool the caller passed in open and without our listeners', async () => {
    const pool = new pg.Pool({ connectionString: pgService.url, max: 3 });
    const baseline = pool.listenerCount('error');
    const sql = await createSqlClient({ pool });
    expect(sql.kind).toBe('pg');
    const got: string[] = [];
    const channel = uniqueName('borrowed');
    await sql.listen(channel, (p) => got.push(p));
    await sql.notify(channel, 'x');
    await waitFor(() => got.length === 1, 'notification');
    await sql.close();
    expect(pool.listenerCount('error')).toBe(baseline);
    expect(pool.ending).toBe(false);
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await pool.end();
  });

  it('joins a transaction the caller runs on its own pg client (fromPgClient)', async () => {
    const table = uniqueName('caller_tx');
    await admin.exec(`CREATE TABLE "${table}" (id int8 PRIMARY KEY)`);
    const pool = new pg.Pool({ connectionString: pgService.url, max: 1 });
    const client = await pool.connect();
    try {
      const tx = fromPgClient(client);
      await client.query('BEGIN');
      await tx.query(`INSERT INTO "${table}" VALUES ($1)`, [1]);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await tx.query(`INSERT INTO "${table}" VALUES ($1)`, [2]);
      const dup = await rejectionOf(tx.query(`INSERT INTO "${table}" VALUES ($1)`, [2]));
      expect(isUniqueViolation(dup)).toBe(true);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await tx.query(`INSERT INTO "${table}" VALUES ($1)`, [3]);
      await client.query('COMMIT');
      expect((await admin.query(`SELECT id FROM "${table}"`)).rows).toEqual([{ id: 3 }]);
    } finally {
      client.release();
      await pool.end();
      await admin.exec(`DROP TABLE "${table}"`);
    }
  });

  it('runs statements outside a transaction on another connection while it is open', async () => {
    const sql = await createSqlClient({ url: pgService.url });
    const pids = await sql.transaction(async (tx) => {
      const inside = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const outside = await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return [inside.rows[0]!.pid, outside.rows[0]!.pid];
    });
    expect(pids[0]).not.toBe(pids[1]);
    await sql.close();
  });
});
