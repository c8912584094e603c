import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, describeQueueProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPostgresQueue } from '../src/index.ts';
import { postgresSpecificTests } from './specific.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('queue-postgres on a Postgres server', () => {
  let sql: SqlClient;
  const schema = uniqueName('q');
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  describeQueueProvider(
    'postgresql (server)',
    (opts) => createPostgresQueue({ sql, schema, pollIntervalMs: 500, ...opts }),
    {
      additionalTests: (ctx) => postgresSpecificTests(ctx, () => ({ sql, schema, server: pg.url })),
    },
  );
});
