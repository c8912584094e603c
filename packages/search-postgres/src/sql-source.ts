import { assertSingleSelect } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';

export { assertSingleSelect };

/** Options of {@link sqlRows}. */
export interface SqlRowsOptions {
  /** Rows per `FETCH` from the server-side cursor. Default 1000. */
  fetchSize?: number;
}

/** Number of rows `select` returns (for progress and ETA), in a READ ONLY transaction. */
export async function countRows(sql: SqlClient, select: string): Promise<number> {
  const q = assertSingleSelect(select);
  return sql.transaction(async (tx) => {
    await tx.exec('SET TRANSACTION READ ONLY');
    const r = await tx.query<{ n: string | number }>(`SELECT count(*) AS n FROM (${q}
) AS fraiseql_source`);
    return Number(r.rows[0]?.n ?? 0);
  });
}

/**
 * The rows of one SELECT, streamed for `reindex()`: on a server through a cursor in a READ ONLY
 * transaction, `fetchSize` rows at a time with at most two batches buffered (the consumer's pace
 * drives the fetches); on PGlite (one connection, which the indexing itself needs) read in one go
 * in a READ ONLY transaction. Stopping the iteration early closes the cursor.
 */
export async function* sqlRows(
  sql: SqlClient,
  select: string,
  opts: SqlRowsOptions = {},
): AsyncGenerator<Record<string, unknown>> {
  const q = assertSingleSelect(select);
  const fetchSize = opts.fetchSize ?? 1000;
  if (sql.kind === 'pglite') {
    const rows = await sql.transaction(async (tx) => {
      await tx.exec('SET TRANSACTION READ ONLY');
      return (await tx.query<Record<string, unknown>>(q)).rows;
    });
    yield* rows;
    return;
  }
  const buffer: Record<string, unknown>[][] = [];
  let finished = false;
  let stopped = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const producer = sql
    .transaction(async (tx) => {
      await tx.exec('SET TRANSACTION READ ONLY');
      await tx.exec(`DECLARE fraiseql_reindex NO SCROLL CURSOR FOR ${q}`);
      while (!stopped) {
        const r = await tx.query<Record<string, unknown>>(`FETCH ${fetchSize} FROM fraiseql_reindex`);
        if (r.rows.length === 0) break;
        buffer.push(r.rows);
        signal();
        while (buffer.length >= 2 && !stopped) await new Promise<void>((resolve) => (room = resolve));
      }
    })
    .then(
      () => {
        finished = true;
        signal();
      },
      (err: unknown) => {
        failure = err;
        finished = true;
        signal();
      },
    );
  try {
    for (;;) {
      const rows = buffer.shift();
      if (rows) {
        room?.();
        room = undefined;
        yield* rows;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    room?.();
    await producer;
  }
}
