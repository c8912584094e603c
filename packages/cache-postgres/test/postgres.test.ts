import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, describeCacheProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCache, type PostgresCacheProvider } from '../src/index.ts';
import { text } from './helpers.ts';
import { postgresCacheTests } from './specific.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('cache-postgres on a Postgres server', () => {
  let sql: SqlClient;
  const schema = uniqueName('cp');
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  describeCacheProvider('postgresql (server)', ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createPostgresCache({ sql, table: `${schema}.cache`, prefix, defaultTtlMs, maxValueBytes }),
  );

  postgresCacheTests('server', () => ({ sql, schema, shared: true }));

  it('incr is atomic across app servers: 50 concurrent calls from two pools, one counter', async () => {
    const other = await createSqlClient({ url: pg.url });
    const caches: PostgresCacheProvider[] = [];
    try {
      const prefix = `${uniqueName('atomic')}:`;
      for (const client of [sql, other]) {
        caches.push(
          await createPostgresCache({ sql: client, table: `${schema}.cache`, prefix, pruneIntervalMs: 0 }),
        );
      }
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => caches[i % 2]!.incr('n')));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(text(await caches[0]!.get('n'))).toBe('50');
      // Mixed deltas from both sides land exactly too.
      const deltas = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? -2 : 5));
      await Promise.all(deltas.map((d, i) => caches[i % 2]!.incr('n', d)));
      expect(text(await caches[1]!.get('n'))).toBe(String(50 + deltas.reduce((a, b) => a + b, 0)));
    } finally {
      await Promise.all(caches.map((c) => c.close()));
      await other.close();
    }
  });
});
