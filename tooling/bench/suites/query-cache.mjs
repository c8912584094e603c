// query-cache: the same two-table join returning 20 rows, read through createQueryCache (memory
// and Redis backends) vs the uncached query through a plain `pg` Pool; the parse + key cost of a
// distinct statement (memoized afterwards); and cross-process invalidation latency in 'database'
// mode (a commit by a plain pg client → the stale entry is gone in another process).
import { spawn } from 'node:child_process';
import { createMemoryCache } from '@fraiseql/cache-memory';
import { createRedisCache } from '@fraiseql/cache-redis';
import { createSqlClient } from '@fraiseql/postgres';
import { analyze, createQueryCache } from '@fraiseql/query-cache';
import pg from 'pg';
import { compareOne, microThroughput, now, percentile, round, unmeasured } from '../lib/harness.mjs';

export const name = 'query-cache';

const schema = `bench_qc_${process.pid}`;
const JOIN = `SELECT o.id, o.total, c.name FROM "${schema}".orders o JOIN "${schema}".customers c ON c.id = o.customer_id WHERE o.customer_id = $1 ORDER BY o.id`;

// The listener process of the invalidation-latency row: a QueryCache ('database' mode) that
// reports when a read no longer returns the cached total.
const CHILD = `
import { createMemoryCache } from '@fraiseql/cache-memory';
import { createSqlClient } from '@fraiseql/postgres';
import { createQueryCache } from '@fraiseql/query-cache';
const sql = await createSqlClient({ url: process.env.DB_URL });
const qc = await createQueryCache({ sql, cache: await createMemoryCache({}), invalidation: 'database' });
const q = 'SELECT total FROM "${schema}".orders WHERE id = 1';
process.stdin.on('data', async (d) => {
  for (const want of String(d).trim().split('\\n')) {
    // Spin on the cached read until it shows the committed value.
    for (;;) {
      const r = await qc.query(q);
      if (String(r.rows[0].total) === want) break;
      await new Promise((r) => setImmediate(r));
    }
    process.stdout.write('seen\\n');
  }
});
await qc.query(q);
process.stdout.write('ready\\n');
`;

export async function run(ctx) {
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 200 : 400;
  const rows = [];
  if (!ctx.services.postgres.up) {
    return [
      unmeasured({ benchmark: 'query-cache: (suite)', unit: '', peerName: 'pg', aim: null }, 'postgres down'),
    ];
  }
  const pool = new pg.Pool({ connectionString: ctx.services.postgres.url, max: 10 });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}";
    CREATE TABLE "${schema}".customers (id int PRIMARY KEY, name text);
    CREATE TABLE "${schema}".orders (id int PRIMARY KEY, customer_id int, total numeric);
    INSERT INTO "${schema}".customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
    INSERT INTO "${schema}".orders SELECT g, 1 + g % 100, g FROM generate_series(1, 2000) g;`);
  const sql = await createSqlClient({ url: ctx.services.postgres.url });
  const closers = [];
  try {
    const uncached = (i) => pool.query(JOIN, [1 + (i % 5)]);
    const mem = await createQueryCache({ sql, cache: await createMemoryCache({}) });
    for (let i = 0; i < 5; i++) await mem.query(JOIN, [1 + i]);
    rows.push(
      await compareOne({
        benchmark: 'query-cache: cached join read, 20 rows (memory backend)',
        unit: 'ops/s',
        aim: 10,
        peerName: 'uncached query through pg',
        rounds,
        log: ctx.log,
        ours: () => microThroughput((i) => mem.query(JOIN, [1 + (i % 5)]), { ms, batch: 200 }),
        peer: () => microThroughput(uncached, { ms, batch: 50 }),
      }),
    );
    if (ctx.services.redis.up) {
      const rc = await createRedisCache({ url: ctx.services.redis.url, prefix: `bench-qc-${process.pid}:` });
      closers.push(() => rc.close());
      const red = await createQueryCache({ sql, cache: rc });
      for (let i = 0; i < 5; i++) await red.query(JOIN, [1 + i]);
      rows.push(
        await compareOne({
          benchmark: 'query-cache: cached join read, 20 rows (Redis backend)',
          unit: 'ops/s',
          aim: 2,
          peerName: 'uncached query through pg',
          rounds,
          log: ctx.log,
          ours: () => microThroughput((i) => red.query(JOIN, [1 + (i % 5)]), { ms, batch: 50 }),
          peer: () => microThroughput(uncached, { ms, batch: 50 }),
        }),
      );
    }
    // Parse + key of a distinct statement (first sight) vs memoized (every later call: the
    // memo lookup and the sha256 key, measured as the full cached read on the memory backend).
    const N = ctx.quick ? 300 : 1000;
    let t = now();
    for (let i = 0; i < N; i++) analyze(`${JOIN} LIMIT ${i + 1}`, 1e6);
    const parseUs = ((now() - t) * 1000) / N;
    t = now();
    for (let i = 0; i < N; i++) await mem.query(JOIN, [1]);
    const hitUs = ((now() - t) * 1000) / N;
    rows.push({
      benchmark: 'query-cache: parse + classify a distinct statement (first sight; memoized after)',
      unit: 'µs',
      ours: round(parseUs),
      peer: round(hitUs),
      peerName: 'whole memoized cached read (key + hit)',
      ratio: null,
      higherIsBetter: false,
      aim: null,
    });
    rows.push(await invalidationLatency(ctx, pool));
  } finally {
    for (const c of closers) await c().catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
    await sql.close();
  }
  return rows;
}

async function invalidationLatency(ctx, pool) {
  const installer = await createSqlClient({ url: ctx.services.postgres.url });
  const qc = await createQueryCache({ sql: installer, cache: await createMemoryCache({}) });
  await qc.installInvalidation([`${schema}.orders`]);
  await qc.close();
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, DB_URL: ctx.services.postgres.url },
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: new URL('..', import.meta.url).pathname,
  });
  let buf = '';
  let waiter = null;
  child.stdout.on('data', (d) => {
    buf += String(d);
    while (buf.includes('\n')) {
      const line = buf.slice(0, buf.indexOf('\n'));
      buf = buf.slice(buf.indexOf('\n') + 1);
      waiter?.(line);
    }
  });
  const nextLine = () => new Promise((resolve) => (waiter = resolve));
  try {
    if ((await nextLine()) !== 'ready') throw new Error('child failed');
    const samples = [];
    const n = ctx.quick ? 30 : 100;
    for (let i = 0; i < n; i++) {
      const total = 100_000 + i;
      const seen = nextLine();
      child.stdin.write(`${total}\n`);
      const t = now();
      await pool.query(`UPDATE "${schema}".orders SET total = $1 WHERE id = 1`, [total]);
      await seen;
      samples.push(now() - t);
    }
    const p50 = percentile(samples, 50);
    const p99 = percentile(samples, 99);
    ctx.log(`    invalidation latency p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
    return {
      benchmark: 'query-cache: cross-process invalidation latency, commit → stale entry gone (p99)',
      unit: 'ms',
      ours: round(p99),
      peer: null,
      peerName: `p50 ${round(p50)} ms`,
      ratio: null,
      higherIsBetter: false,
      aim: null,
      note: 'aim p99 ≤ 20 ms',
    };
  } finally {
    child.kill('SIGTERM');
  }
}
