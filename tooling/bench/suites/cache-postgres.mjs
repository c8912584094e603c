// cache-postgres `get` against the same SELECT by primary key sent with raw `pg` (a Pool of the
// same size as the SqlClient's default, 10), on the same table and rows: the floor a cache get
// over SQL cannot beat.
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createSqlClient } from '@fraiseql/postgres';
import pg from 'pg';
import { compareOne, throughput, unmeasured } from '../lib/harness.mjs';

const KEYS = 1000;
const IN_FLIGHT = 32;

export const name = 'cache-postgres';

export async function run(ctx) {
  const planned = [
    ['get, sequential', 0.85],
    [`get, ${IN_FLIGHT} in flight`, 0.85],
  ];
  if (!ctx.services.postgres.up) {
    return planned.map(([what, aim]) =>
      unmeasured(
        {
          benchmark: `cache-postgres: ${what}`,
          unit: 'ops/s',
          peerName: 'raw pg SELECT by primary key',
          aim,
        },
        'PostgreSQL unreachable',
      ),
    );
  }
  const url = ctx.services.postgres.url;
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 350 : 900;
  const schema = `bench_cache_${process.pid}`;
  const prefix = 'b:';
  const GET = `SELECT value FROM "${schema}"."cache" WHERE key = $1 AND expires_at > now()`;
  const value = Buffer.alloc(100, 7);
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const rawKeys = keys.map((k) => prefix + k);

  const sql = await createSqlClient({ url });
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const cache = await createPostgresCache({ sql, table: `${schema}.cache`, prefix, pruneIntervalMs: 0 });
  const rows = [];
  try {
    for (const k of keys) await cache.set(k, value);
    // Fresh statistics and no dead row versions, so both sides read the same table state.
    await sql.exec(`VACUUM ANALYZE "${schema}"."cache"`);
    const a = await cache.get('k1');
    const b = (await pool.query(GET, [rawKeys[1]])).rows[0]?.value;
    if (!a || !b || Buffer.compare(Buffer.from(a), value) !== 0 || Buffer.compare(b, value) !== 0) {
      throw new Error('cache-postgres: sanity check failed');
    }
    for (const inFlight of [1, IN_FLIGHT]) {
      rows.push(
        await compareOne({
          benchmark: `cache-postgres: get, ${inFlight === 1 ? 'sequential' : `${inFlight} in flight`}`,
          unit: 'ops/s',
          aim: 0.85,
          peerName: 'raw pg Pool.query SELECT by primary key',
          rounds,
          log: ctx.log,
          ours: () => throughput((i) => cache.get(keys[i % KEYS]), { inFlight, ms }),
          peer: () => throughput((i) => pool.query(GET, [rawKeys[i % KEYS]]), { inFlight, ms }),
        }),
      );
    }
  } finally {
    await cache.close();
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
    await sql.close();
  }
  return rows;
}
