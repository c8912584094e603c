import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { describeSearchProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider } from '../src/index.ts';
import { RAW_FILTER } from './helpers.ts';
import { postgresSearchTests } from './specific.ts';

describe('search-postgres on PGlite', () => {
  let sql: SqlClient;
  const schema = uniqueName('sp');
  beforeAll(async () => {
    sql = await createSqlClient();
  });
  afterAll(async () => {
    await sql?.close();
  });

  describeSearchProvider('postgresql (PGlite)', () => createPostgresSearch({ sql, schema }), {
    rawFilter: RAW_FILTER,
    dropIndexes: async (p, names) => {
      for (const name of names) await (p as PostgresSearchProvider).dropIndex(name);
    },
    additionalTests: (ctx) => postgresSearchTests(ctx, () => ({ sql, schema }), { server: false }),
  });
});
