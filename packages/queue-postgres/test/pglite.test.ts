import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { describeQueueProvider, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPostgresQueue } from '../src/index.ts';
import { postgresSpecificTests } from './specific.ts';

describe('queue-postgres on PGlite (embedded)', () => {
  let sql: SqlClient;
  const schema = uniqueName('q');
  beforeAll(async () => {
    sql = await createSqlClient({});
  });
  afterAll(async () => {
    await sql?.close();
  });

  describeQueueProvider(
    'postgresql (PGlite)',
    (opts) => createPostgresQueue({ sql, schema, pollIntervalMs: 500, ...opts }),
    {
      additionalTests: (ctx) => postgresSpecificTests(ctx, () => ({ sql, schema })),
    },
  );
});
