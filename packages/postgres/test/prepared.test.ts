import { checkService } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import { createSqlClient } from '../src/index.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('prepared statements (pg)', () => {
  it('runs `prepare: true` statements as named statements, once per connection', async () => {
    const sql = await createSqlClient({ url: pg.url, poolOptions: { max: 1 } });
    try {
      const text = 'SELECT $1::int + 1 AS n /* prepared-test */';
      for (let i = 0; i < 3; i++)
        expect((await sql.query<{ n: number }>(text, [i], { prepare: true })).rows[0]!.n).toBe(i + 1);
      const r = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%prepared-test%'`,
      );
      expect(r.rows[0]!.n).toBe(1);
      // Inside a transaction too, on its own connection.
      await sql.transaction(async (tx) => {
        expect((await tx.query<{ n: number }>(text, [41], { prepare: true })).rows[0]!.n).toBe(42);
      });
    } finally {
      await sql.close();
    }
  });

  it('ignores `prepare` when the client is created with preparedStatements: false (PgBouncer)', async () => {
    const sql = await createSqlClient({ url: pg.url, poolOptions: { max: 1 }, preparedStatements: false });
    try {
      expect(
        (await sql.query<{ n: number }>('SELECT $1::int AS n /* unprepared-test */', [7], { prepare: true }))
          .rows[0]!.n,
      ).toBe(7);
      const r = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%unprepared-test%'`,
      );
      expect(r.rows[0]!.n).toBe(0);
    } finally {
      await sql.close();
    }
  });

  it('PGlite accepts the option and runs the statement as usual', async () => {
    const sql = await createSqlClient({});
    try {
      expect((await sql.query<{ n: number }>('SELECT $1::int AS n', [5], { prepare: true })).rows[0]!.n).toBe(
        5,
      );
    } finally {
      await sql.close();
    }
  });
});
