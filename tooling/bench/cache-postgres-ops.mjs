// get/set throughput of @fraiseql/cache-postgres, sequential and with 32 operations in flight, on a
// Postgres server (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) and on in-memory
// PGlite — next to a raw `pg` SELECT by primary key on the same table, the floor a cache get
// cannot beat. Build first (`pnpm --filter @fraiseql/cache-postgres build`), then:
//
//   node tooling/bench/cache-postgres-ops.mjs [--seconds 3] [--server-only | --pglite-only]
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createSqlClient } from '@fraiseql/postgres';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const seconds = flag('seconds', 3);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// `pg` is a dependency of @fraiseql/postgres, not of this package: resolve it from there.
const pg = createRequire(import.meta.resolve('@fraiseql/postgres'))('pg');
const KEYS = 1000;
const IN_FLIGHT = 32;
const value = randomBytes(100);
const schema = `bench_cache_${process.pid}`;
const GET = `SELECT value FROM "${schema}"."cache" WHERE key = $1 AND expires_at > now()`;

async function run(label, inFlight, op) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      let i = w;
      while (performance.now() < deadline) {
        await op(i % KEYS);
        i += inFlight;
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const rate = Math.round(done / elapsed).toLocaleString('en-US');
  console.log(`${label.padEnd(44)} ${rate.padStart(9)} ops/s  (${done} ops in ${elapsed.toFixed(1)} s)`);
}

async function bench(label, sql, rawLabel, rawGet) {
  const cache = await createPostgresCache({
    sql,
    table: `${schema}.cache`,
    prefix: 'b:',
    pruneIntervalMs: 0,
  });
  try {
    for (let i = 0; i < KEYS; i++) await cache.set(`k${i}`, value);
    // Reads first, each next to the raw SELECT on the same table state: the sets that follow
    // leave dead row versions behind (every set is a non-HOT update, as expires_at is indexed)
    // that would slow whichever read came after them until autovacuum runs.
    await sql.exec(`VACUUM ANALYZE "${schema}"."cache"`);
    await run(`${label}: get, sequential`, 1, (i) => cache.get(`k${i}`));
    await run(`${label}: ${rawLabel}, sequential`, 1, (i) => rawGet(`b:k${i}`));
    await run(`${label}: get, ${IN_FLIGHT} in flight`, IN_FLIGHT, (i) => cache.get(`k${i}`));
    await run(`${label}: ${rawLabel}, ${IN_FLIGHT} in flight`, IN_FLIGHT, (i) => rawGet(`b:k${i}`));
    await run(`${label}: set, sequential`, 1, (i) => cache.set(`k${i}`, value));
    await run(`${label}: set, ${IN_FLIGHT} in flight`, IN_FLIGHT, (i) => cache.set(`k${i}`, value));
  } finally {
    await cache.close();
  }
}

console.log(`cache-postgres get/set, 100-byte values over ${KEYS} keys, ${seconds} s per case`);
if (!args.includes('--pglite-only')) {
  const sql = await createSqlClient({ url });
  // The same pool size as the SqlClient's default (10), plain pg.Pool#query with parameters.
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  try {
    await bench('server', sql, 'raw pg SELECT by key', (key) => pool.query(GET, [key]));
  } finally {
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
    await sql.close();
  }
}
if (!args.includes('--server-only')) {
  const sql = await createSqlClient({});
  try {
    // No `pg` here: the floor is the same SELECT straight through the SqlClient.
    await bench('PGlite', sql, 'raw SELECT by key', (key) => sql.query(GET, [key]));
  } finally {
    await sql.close();
  }
}
