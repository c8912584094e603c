import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCache } from '../src/index.ts';
import { eventually, expectCode, text, within } from './helpers.ts';

const CONNECTION_CODES = [
  ErrorCode.ProviderUnavailable,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.CacheConnectionFailed,
] as const;
const DEAD_URL = 'postgres://postgres@127.0.0.1:1/x';

describe('cache-postgres when the database is unreachable', () => {
  it('a dead server: healthCheck is false within its timeout, operations reject with IN5xx, creation fails', async () => {
    const sql = await createSqlClient({ url: DEAD_URL, lazyConnect: true });
    try {
      const cache = await createPostgresCache({ sql, migrate: false, healthCheckTimeoutMs: 500 });
      expect(await within(cache.healthCheck(), 3_000, 'healthCheck')).toBe(false);
      await expectCode(() => cache.get('k'), CONNECTION_CODES);
      await expectCode(() => cache.set('k', 'v'), CONNECTION_CODES);
      const err = await expectCode(() => cache.incr('k'), CONNECTION_CODES);
      expect(err.provider).toBe('postgresql');
      expect(err.message).toContain('incr "k"');
      await cache.close();
      await expectCode(() => createPostgresCache({ sql }), CONNECTION_CODES);
    } finally {
      await sql.close();
    }
  });

  describe('a server that accepts connections but never answers', () => {
    let server: Server;
    let port = 0;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('healthCheck resolves false within its timeout instead of hanging; get times out with IN500', async () => {
      const sql = await createSqlClient({
        url: `postgres://postgres@127.0.0.1:${port}/x`,
        lazyConnect: true,
        poolOptions: { connectionTimeoutMillis: 1_000 },
      });
      try {
        const cache = await createPostgresCache({ sql, migrate: false, healthCheckTimeoutMs: 300 });
        expect(await within(cache.healthCheck(), 2_500, 'healthCheck')).toBe(false);
        await expectCode(() => within(cache.get('k'), 10_000, 'get'), ErrorCode.ConnectionTimeout);
        await cache.close();
      } finally {
        await sql.close();
      }
    });
  });
});

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('cache-postgres when its connections are terminated', () => {
  let admin: SqlClient;
  const schema = uniqueName('cpdown');
  beforeAll(async () => {
    admin = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await admin?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.close();
  });

  const terminate = async (app: string) =>
    (
      await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
    ).rows[0]?.n ?? 0;

  it('fails with coded errors while its backends are killed, then recovers without being recreated', async () => {
    const app = uniqueName('cpdown');
    const sql = await createSqlClient({ url: pg.url, poolOptions: { application_name: app } });
    const cache = await createPostgresCache({ sql, table: `${schema}.cache`, pruneIntervalMs: 0 });
    try {
      await cache.set('k', '1');
      // Hold the row lock from another connection, so the next write is in flight (waiting)
      // on one of the cache's backends when that backend is terminated.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = admin.transaction(async (tx) => {
        await tx.query(`SELECT 1 FROM "${schema}"."cache" WHERE key = $1 FOR UPDATE`, ['fraiseql:cache:k']);
        locked();
        await gate;
      });
      await isLocked;
      // Handlers attached at once: these reject while the test is still awaiting other things.
      const blocked = cache.set('k', '2').then(
        () => expect.fail('set resolved although its backend was terminated'),
        (err: unknown) => err,
      );
      const blockedIncr = cache.incr('k').then(
        () => expect.fail('incr resolved although its backend was terminated'),
        (err: unknown) => err,
      );
      await eventually('the writes wait for the lock', async () => {
        const r = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [app],
        );
        return (r.rows[0]?.n ?? 0) >= 2;
      });
      expect(await terminate(app)).toBeGreaterThanOrEqual(2);
      for (const err of [await blocked, await blockedIncr]) {
        const e = await expectCode(() => Promise.reject(err), CONNECTION_CODES);
        expect(e.provider).toBe('postgresql');
      }
      release();
      await holder;

      // Kill the idle pooled connections too: whatever the next calls hit, any failure is coded.
      await terminate(app);
      const outcomes = await Promise.allSettled([cache.get('k'), cache.exists('k'), cache.incr('n')]);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(CONNECTION_CODES as readonly string[], String(o.reason)).toContain(o.reason.code);
        }
      }

      // Same provider, same SqlClient: the pool reconnects by itself.
      await eventually('the cache works again', async () => {
        await cache.set('k', 'after');
        return text(await cache.get('k')) === 'after';
      });
      expect(await cache.healthCheck()).toBe(true);
      expect(await cache.incr('counter')).toBe(1);
    } finally {
      await cache.close();
      await sql.close();
    }
  });
});
