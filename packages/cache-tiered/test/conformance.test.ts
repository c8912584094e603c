import { createMemoryCache } from '@fraiseql/cache-memory';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createRedisCache } from '@fraiseql/cache-redis';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, describeCacheProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { createTieredCache } from '../src/index.ts';

const redis = await checkService('redis');
const pg = await checkService('postgres');

describe.skipIf(!redis.available)('tiered cache: memory L1 + Redis L2 + Redis bus', () => {
  const channel = uniqueName('tc');
  describeCacheProvider('tiered (redis)', async ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createTieredCache({
      l1: await createMemoryCache({ prefix, defaultTtlMs }),
      l2: await createRedisCache({ url: redis.url, prefix, defaultTtlMs, maxValueBytes }),
      bus: 'redis',
      channel,
      defaultTtlMs,
    }),
  );
});

describe.skipIf(!pg.available)('tiered cache: memory L1 + PostgreSQL L2 + PostgreSQL bus', () => {
  let sql: SqlClient;
  const schema = uniqueName('tc');
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  describeCacheProvider('tiered (postgresql)', async ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createTieredCache({
      l1: await createMemoryCache({ prefix, defaultTtlMs }),
      l2: await createPostgresCache({ sql, table: `${schema}.cache`, prefix, defaultTtlMs, maxValueBytes }),
      bus: 'postgresql',
      sql,
      channel: schema,
      leaseTable: `${schema}.leases`,
      defaultTtlMs,
    }),
  );
});

describe.skipIf(!redis.available)('tiered cache: grace on, no bus (framed L1)', () => {
  describeCacheProvider('tiered (graced)', async ({ prefix, defaultTtlMs, maxValueBytes }) =>
    createTieredCache({
      l1: await createMemoryCache({ prefix, defaultTtlMs }),
      l2: await createRedisCache({ url: redis.url, prefix, defaultTtlMs, maxValueBytes }),
      graceMs: 5_000,
      defaultTtlMs,
    }),
  );
});
