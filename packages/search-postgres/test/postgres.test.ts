import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, describeSearchProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider } from '../src/index.ts';
import { RAW_FILTER } from './helpers.ts';
import { postgresSearchTests } from './specific.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('search-postgres on a Postgres server', () => {
  let sql: SqlClient;
  const schema = uniqueName('sp');
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  describeSearchProvider('postgresql (server)', () => createPostgresSearch({ sql, schema }), {
    rawFilter: RAW_FILTER,
    dropIndexes: async (p, names) => {
      for (const name of names) await (p as PostgresSearchProvider).dropIndex(name);
    },
    additionalTests: (ctx) => postgresSearchTests(ctx, () => ({ sql, schema }), { server: true }),
  });
});
