import { execFileSync } from 'node:child_process';
import { createMemoryCache } from '@fraiseql/cache-memory';
import { checkService, uniqueName } from '@fraiseql/testkit';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryCache } from '../src/index';
import { type Db, openDb, until } from './helpers';
import { type Reader, spawnReader } from './processes';

const redis = await checkService('redis');

describe("'database' invalidation (postgres)", () => {
  let db: Db;
  const readers: Reader[] = [];
  const channel = uniqueName('ch');
  const app = uniqueName('qcapp');
  beforeAll(async () => {
    db = await openDb('postgres');
    const qc = await createQueryCache({ sql: db.sql, cache: await createMemoryCache({}) });
    await qc.installInvalidation([`${db.schema}.orders`]);
    // Idempotent, and the channel baked in: reinstall on this test's channel.
    await db.sql.exec(`DROP TRIGGER fraiseql_qc_notify ON "${db.schema}".orders`);
    const custom = await createQueryCache({ sql: db.sql, cache: await createMemoryCache({}), channel });
    await custom.installInvalidation([`${db.schema}.orders`]);
    await custom.installInvalidation([`${db.schema}.orders`]);
    const env = {
      DB_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      SCHEMA: db.schema,
      CHANNEL: channel,
      APP_NAME: app,
    };
    readers.push(await spawnReader(env));
    readers.push(await spawnReader({ ...env, REDIS_URL: redis.url, PREFIX: `${uniqueName('r')}:` }));
  });
  afterAll(async () => {
    for (const r of readers) await r.stop().catch(() => undefined);
    await db?.close();
  });

  const totalOf = (rows: unknown[]) =>
    (rows as { id: number; total: string }[]).find((r) => r.id === 1)?.total;

  async function expectAllSee(total: string) {
    for (const r of readers) {
      await until(async () => totalOf((await r.read()).rows) === total, 5000, `reader sees ${total}`);
    }
  }

  it('a write by a plain pg client and by psql invalidates both reader processes', async () => {
    for (const r of readers) {
      await r.read();
      const again = await r.read();
      expect(again.stats.hits).toBeGreaterThan(0);
    }
    const client = new pgLib.Client({
      connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    });
    await client.connect();
    await client.query(`UPDATE "${db.schema}".orders SET total = 111 WHERE id = 1`);
    await client.end();
    await expectAllSee('111');
    execFileSync('psql', [
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-d',
      'test',
      '-c',
      `UPDATE "${db.schema}".orders SET total = 222 WHERE id = 1`,
    ]);
    await expectAllSee('222');
    // Cached again afterwards.
    for (const r of readers) {
      const a = await r.read();
      const b = await r.read();
      expect(b.stats.hits).toBeGreaterThan(a.stats.hits);
    }
  });

  it('after the LISTEN connection is killed, no stale data once it is back', async () => {
    for (const r of readers) await r.read();
    const { rows } = await db.sql.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
      [app],
    );
    expect(rows[0]?.n).toBe(2);
    // Written while the listeners may be down: the notification can be lost.
    await db.sql.query(`UPDATE "${db.schema}".orders SET total = 333 WHERE id = 1`);
    await until(
      async () => {
        const r = await db.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
          [app],
        );
        return r.rows[0]?.n === 2;
      },
      15_000,
      'listeners back',
    );
    await expectAllSee('333');
    await db.sql.query(`UPDATE "${db.schema}".orders SET total = 444 WHERE id = 1`);
    await expectAllSee('444');
  });
});
