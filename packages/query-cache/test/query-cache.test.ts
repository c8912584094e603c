import { createMemoryCache } from '@fraiseql/cache-memory';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createRedisCache } from '@fraiseql/cache-redis';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, createQueryCache } from '../src/index';
import { type Db, openDb, qcOn } from './helpers';

const redis = await checkService('redis');

describe.each(['postgres', 'pglite'] as const)('query cache on %s', (name) => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb(name);
  });
  afterAll(async () => {
    await db?.close();
  });
  const ordersSql = () => `SELECT id, total FROM ${db.t('orders')} WHERE customer_id = $1 ORDER BY id`;

  describe.each(['memory', 'redis', 'postgres'] as const)('on a %s cache', (backend) => {
    const cacheFor = async () =>
      backend === 'memory'
        ? await createMemoryCache({})
        : backend === 'redis'
          ? await createRedisCache({ url: redis.url, prefix: `${uniqueName('qct')}:` })
          : await createPostgresCache({ sql: db.sql, table: `${db.schema}.${uniqueName('c')}` });

    it('a hit answers without storage; a mutation invalidates', async () => {
      const { qc, storage } = await qcOn(db.sql, { cache: await cacheFor() });
      const first = await qc.query(ordersSql(), [1]);
      const second = await qc.query(ordersSql(), [1]);
      expect(second).toEqual(first);
      expect(storage.count).toBe(1);
      expect(qc.stats()).toMatchObject({ hits: 1, misses: 1 });
      await qc.query(`UPDATE ${db.t('orders')} SET total = total + 1 WHERE id = 1`);
      const third = await qc.query<{ total: string }>(ordersSql(), [1]);
      expect(third.rows[0]?.total).toBe('11');
      await qc.query(`UPDATE ${db.t('orders')} SET total = total - 1 WHERE id = 1`);
    });
  });

  it('different queries and parameters get different keys (1 vs "1")', async () => {
    const { qc, storage } = await qcOn(db.sql);
    await qc.query(ordersSql(), [1]);
    await qc.query(ordersSql(), [2]);
    await qc.query(ordersSql(), ['1']);
    await qc.query(`SELECT id FROM ${db.t('orders')} WHERE customer_id = $1`, [1]);
    expect(storage.count).toBe(4);
    // Whitespace and keyword case do not matter: same parse tree.
    await qc.query(`select id, total   from ${db.t('orders')} where customer_id = $1 order by id`, [1]);
    expect(storage.count).toBe(4);
  });

  it('storage errors propagate as IntegrationErrors and are not cached', async () => {
    const { qc } = await qcOn(db.sql);
    await expect(qc.query(`SELECT nope FROM ${db.t('orders')}`)).rejects.toMatchObject({ code: 'IN405' });
    await expect(qc.query(`SELECT nope FROM ${db.t('orders')}`)).rejects.toMatchObject({ code: 'IN405' });
  });

  it('entries expire after their TTL; delete/clear via invalidateTables', async () => {
    const { qc, storage } = await qcOn(db.sql);
    await qc.query(ordersSql(), [1], { ttlMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    await qc.query(ordersSql(), [1]);
    expect(storage.count).toBe(2);
    await qc.query(ordersSql(), [1]);
    expect(storage.count).toBe(2);
    await qc.invalidateTables([`${db.schema}.orders`]);
    await qc.query(ordersSql(), [1]);
    expect(storage.count).toBe(3);
    // "clear": a script (exec) of unknown effect bumps the global epoch.
    await qc.exec('DO $$ BEGIN PERFORM 1; END $$');
    await qc.query(ordersSql(), [1]);
    expect(storage.count).toBe(4);
  });

  it('per-table precision: joins, subqueries, CTEs, quoted names', async () => {
    const registry = new Registry();
    const { qc, storage } = await qcOn(db.sql, { registry });
    const reads = {
      customers: `SELECT * FROM ${db.t('customers')} ORDER BY id`,
      join: `SELECT c.name, o.total FROM ${db.t('customers')} c JOIN ${db.t('orders')} o ON o.customer_id = c.id ORDER BY o.id`,
      sub: `SELECT name FROM ${db.t('customers')} WHERE id IN (SELECT customer_id FROM ${db.t('orders')} WHERE total > 15) ORDER BY 1`,
      cte: `WITH orders AS (SELECT * FROM ${db.t('orders')}) SELECT count(*)::int AS n FROM orders`,
      quoted: `SELECT v FROM ${db.t('"Mixed Case"')}`,
    };
    const run = async () => {
      const before = storage.count;
      for (const q of Object.values(reads)) await qc.query(q);
      return storage.count - before;
    };
    expect(await run()).toBe(5);
    expect(await run()).toBe(0);
    await qc.query(`INSERT INTO ${db.t('orders')} VALUES (100, 2, 99)`);
    // customers and "Mixed Case" stay cached; the three reads of orders go to storage.
    expect(await run()).toBe(3);
    const n = await qc.query<{ n: number }>(reads.cte);
    expect(n.rows[0]?.n).toBe(4);
    // A data-modifying CTE is a write.
    await qc.query(
      `WITH d AS (DELETE FROM ${db.t('orders')} WHERE id = 100 RETURNING id) SELECT count(*) FROM d`,
    );
    expect((await qc.query<{ n: number }>(reads.cte)).rows[0]?.n).toBe(3);
    await qc.query(`UPDATE ${db.t('"Mixed Case"')} SET v = 'y'`);
    expect((await qc.query<{ v: string }>(reads.quoted)).rows[0]?.v).toBe('y');
    const hits = await registry.getSingleMetric('fraiseql_query_cache_hits_total')?.get();
    expect(hits?.values[0]?.value).toBeGreaterThan(0);
  });

  it('volatile functions and locking clauses are bypassed', async () => {
    const { qc, storage } = await qcOn(db.sql);
    for (const q of [
      'SELECT now() AS t',
      'SELECT random() AS r',
      'SELECT CURRENT_TIMESTAMP AS t',
      'SELECT gen_random_uuid() AS u',
      `SELECT * FROM ${db.t('orders')} FOR UPDATE`,
      `SELECT * FROM ${db.t('orders')} o JOIN ${db.t('customers')} c ON c.id = o.customer_id FOR SHARE OF o`,
    ]) {
      await qc.query(q);
      await qc.query(q);
    }
    expect(storage.count).toBe(12);
    expect(qc.stats()).toMatchObject({ hits: 0, bypassed: 12 });
  });

  it('transactions: reads bypass, writes invalidate after COMMIT, not on ROLLBACK', async () => {
    const { qc, storage } = await qcOn(db.sql);
    const q = `SELECT total FROM ${db.t('orders')} WHERE id = 3`;
    await qc.query(q);
    await expect(
      qc.transaction(async (tx) => {
        await tx.query(`UPDATE ${db.t('orders')} SET total = 31 WHERE id = 3`);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const before = storage.count;
    expect((await qc.query<{ total: string }>(q)).rows[0]?.total).toBe('30');
    expect(storage.count).toBe(before);
    await qc.transaction(async (tx) => {
      await tx.query(q);
      await tx.query(q);
      await tx.query(`UPDATE ${db.t('orders')} SET total = 32 WHERE id = 3`);
    });
    expect((await qc.query<{ total: string }>(q)).rows[0]?.total).toBe('32');
    await qc.query(`UPDATE ${db.t('orders')} SET total = 30 WHERE id = 3`);
  });

  it('hostile SQL and parameters never crash and are never cached', async () => {
    const { qc, storage } = await qcOn(db.sql);
    await expect(qc.query('SELEC garbage ((')).rejects.toMatchObject({ code: 'IN405' });
    await expect(
      qc.query(`SELECT 1 FROM ${db.t('orders')} WHERE ${'('.repeat(300_000)}`),
    ).rejects.toBeDefined();
    const multi = `SELECT 1; UPDATE ${db.t('orders')} SET total = total WHERE id = 1`;
    await qc.query(multi).catch(() => undefined);
    const types: unknown[] = [1, '1', 1n, true, 'true', null, new Date(0), '1970-01-01T00:00:00.000Z'];
    const seen = new Set<string>();
    for (const p of types) {
      const r = await qc.query<{ v: string }>('SELECT $1::text AS v', [p]);
      seen.add(`${typeof p}:${r.rows[0]?.v}`);
    }
    // Every call reached storage at least once per distinct type/value: no collisions.
    expect(storage.count).toBeGreaterThanOrEqual(types.length);
    const big = 'x'.repeat(2_000_000);
    expect((await qc.query<{ n: number }>('SELECT length($1::text) AS n', [big])).rows[0]?.n).toBe(2_000_000);
    expect(qc.stats().bypassed).toBeGreaterThanOrEqual(3);
  });

  it('keeps Date, bigint, bytea and numeric types through the cache', async () => {
    const { qc } = await qcOn(db.sql);
    const q = `SELECT '2020-01-01T00:00:00Z'::timestamptz AS d, 9007199254740993::int8 AS b, '\\x0102'::bytea AS x, 1.50::numeric AS n, '{"$d": 1}'::jsonb AS j`;
    const a = await qc.query<Record<string, unknown>>(q);
    const b = await qc.query<Record<string, unknown>>(q);
    expect(qc.stats().hits).toBe(1);
    expect(b.rows[0]?.d).toBeInstanceOf(Date);
    expect(b.rows[0]?.j).toEqual({ $d: 1 });
    expect(new Uint8Array(b.rows[0]?.x as Uint8Array)).toEqual(new Uint8Array(a.rows[0]?.x as Uint8Array));
    expect(b.rows).toEqual(a.rows.map((r) => ({ ...r, x: b.rows[0]?.x })));
  });

  it('a read started after a write resolved never sees pre-write rows (concurrent load)', async () => {
    const { qc } = await qcOn(db.sql, {
      cache: await createRedisCache({ url: redis.url, prefix: `${uniqueName('rw')}:` }),
    });
    const q = `SELECT total FROM ${db.t('orders')} WHERE id = 2`;
    let stop = false;
    // Background readers keep refilling the cache while the writes happen.
    const noise = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) await qc.query(q);
      }),
    );
    for (let i = 1; i <= 30; i++) {
      await qc.query(`UPDATE ${db.t('orders')} SET total = $1 WHERE id = 2`, [1000 + i]);
      const r = await qc.query<{ total: string }>(q);
      expect(Number(r.rows[0]?.total)).toBe(1000 + i);
    }
    stop = true;
    await noise;
    await qc.query(`UPDATE ${db.t('orders')} SET total = 20 WHERE id = 2`);
  });

  it("mode 'explicit' caches only { cache: true }", async () => {
    const { qc, storage } = await qcOn(db.sql, { mode: 'explicit' });
    await qc.query(ordersSql(), [1]);
    await qc.query(ordersSql(), [1]);
    expect(storage.count).toBe(2);
    await qc.query(ordersSql(), [1], { cache: true });
    await qc.query(ordersSql(), [1], { cache: true });
    expect(storage.count).toBe(3);
  });
});

describe('parser', () => {
  it('classifies statements and resolves names', async () => {
    await createQueryCache({ sql: {} as never, cache: {} as never }).catch(() => undefined);
    const a = analyze(
      'WITH x AS (SELECT * FROM "Sales"."Orders" WHERE id IN (SELECT order_id FROM items)) SELECT * FROM x JOIN public.y USING (id)',
      1e6,
    );
    expect(a).toMatchObject({
      cacheable: true,
      reads: ['Sales.Orders', 'public.items', 'public.y'],
      writes: [],
    });
    expect(analyze('INSERT INTO s.t SELECT * FROM u', 1e6)).toMatchObject({
      cacheable: false,
      reason: 'write',
      writes: ['s.t'],
    });
    expect(analyze('TRUNCATE a, b.c', 1e6)).toMatchObject({ writes: ['b.c', 'public.a'] });
    expect(analyze('CREATE TABLE z (a int)', 1e6)).toMatchObject({ writesAll: true });
    expect(analyze('SELECT * FROM pg_stat_activity', 1e6)).toMatchObject({ reason: 'system_catalog' });
  });
});
