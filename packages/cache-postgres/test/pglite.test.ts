import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { describeCacheProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCache } from '../src/index.ts';
import { text } from './helpers.ts';
import { postgresCacheTests } from './specific.ts';

describe('cache-postgres on PGlite (in memory)', () => {
  let sql: SqlClient;
  const schema = uniqueName('cp');
  beforeAll(async () => {
    sql = await createSqlClient({});
  });
  afterAll(async () => {
    await sql?.close();
  });

  describeCacheProvider('postgresql (PGlite)', ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createPostgresCache({ sql, table: `${schema}.cache`, prefix, defaultTtlMs, maxValueBytes }),
  );

  postgresCacheTests('PGlite', () => ({ sql, schema, shared: false }));

  it('defaults to the table _system.cache', async () => {
    const cache = await createPostgresCache({ sql });
    try {
      expect(cache.table).toBe('_system.cache');
      await cache.set('k', 'v');
      const r = await sql.query<{ key: string }>('SELECT key FROM "_system"."cache"');
      expect(r.rows).toEqual([{ key: 'fraiseql:cache:k' }]);
      expect(text(await cache.get('k'))).toBe('v');
    } finally {
      await cache.close();
    }
  });
});
