import { createMemoryCache } from '@fraiseql/cache-memory';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTieredCache, type TieredCache } from '../src/index.ts';
import { eventually } from './procs.ts';

const pg = await checkService('postgres');
const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

describe.skipIf(!pg.available)('tiered cache when its PostgreSQL LISTEN connection is killed', () => {
  const schema = uniqueName('tl');
  let admin: SqlClient;
  const clients: SqlClient[] = [];
  const caches: TieredCache[] = [];

  beforeAll(async () => {
    admin = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    for (const c of caches) await c.close();
    for (const c of clients) await c.close();
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  });

  /** One "app server": its own SqlClient (own LISTEN connection), L1 and tiered cache. */
  const open = async (registry?: Registry) => {
    const sql = await createSqlClient({ url: pg.url });
    clients.push(sql);
    const cache = await createTieredCache({
      l1: await createMemoryCache({ prefix: 'k:' }),
      l2: await createPostgresCache({ sql, table: `${schema}.cache`, prefix: 'k:', pruneIntervalMs: 0 }),
      bus: { sql },
      channel: schema,
      leaseTable: `${schema}.leases`,
      heartbeatMs: 200,
      ...(registry ? { registry } : {}),
    });
    caches.push(cache);
    return cache;
  };

  it('invalidations missed while the bus was down never leave an old value in L1', async () => {
    const registry = new Registry();
    const a = await open();
    const b = await open(registry);
    await a.set('user', 'v1', 60_000);
    await eventually('B serves user from L1', async () => {
      await b.get('user');
      return text(await b.l1.get('user')) === 'v1';
    });

    // Kill every LISTEN connection on the channel: B's listener reconnects by itself.
    const killed = await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
      [`LISTEN "${schema}"%`],
    );
    expect(killed.rows[0]!.n).toBeGreaterThan(0);
    // A change B is never told about (straight into L2, no bus message): only the loss itself
    // can make B drop its copy.
    await a.l2.set('user', 'v2', 60_000);

    // B must end up answering v2: its L1 copy is dropped on the loss, not served for 60 s.
    await eventually('B answers the new value', async () => text(await b.get('user')) === 'v2', 15_000);
    await eventually('B’s bus is back', async () => (await b.health()).bus?.connected === true, 15_000);
    expect(await registry.metrics()).toMatch(/fraiseql_cache_bus_errors_total\{bus="postgresql"\} [1-9]/);

    // And it is trusted again: a later write still reaches B through the bus.
    await b.get('user');
    await a.set('user', 'v3', 60_000);
    await eventually('B answers v3', async () => text(await b.get('user')) === 'v3', 15_000);
  }, 60_000);
});
