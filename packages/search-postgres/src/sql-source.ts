import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';

/** Options of {@link sqlRows}. */
export interface SqlRowsOptions {
  /** Rows per `FETCH` from the server-side cursor. Default 1000. */
  fetchSize?: number;
}

const bad = (message: string) =>
  IntegrationError.invalidInput(ErrorCode.InvalidConfiguration, `[reindex] ${message}`, 'sql');

/**
 * Checks that `text` is one read query (`SELECT`, `WITH … SELECT`, `VALUES`, `TABLE`) and returns
 * it without its trailing semicolon: a second statement (a `;` outside quotes and comments) or
 * another command is IN002. The query still runs in a READ ONLY transaction, which is what stops a
 * data-modifying CTE — this check only gives a clear message early.
 */
export function assertSingleSelect(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw bad('the SQL source must be a non-empty SELECT');
  let end = text.length;
  let i = 0;
  let firstWord = '';
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (two === '--') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (two === '/*') {
      const close = text.indexOf('*/', i + 2);
      if (close === -1) throw bad('unterminated /* comment in the SQL source');
      i = close + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        j = text.indexOf(c, j);
        if (j === -1)
          throw bad(`unterminated ${c === "'" ? 'string' : 'quoted identifier'} in the SQL source`);
        if (text[j + 1] === c) j += 2;
        else break;
      }
      i = j + 1;
    } else if (c === '$' && /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.test(text.slice(i))) {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(text.slice(i))![0];
      const close = text.indexOf(tag, i + tag.length);
      if (close === -1) throw bad('unterminated dollar-quoted string in the SQL source');
      i = close + tag.length;
    } else if (c === ';') {
      if (text.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\/|\s/g, '') !== '') {
        throw bad('the SQL source must be a single statement (found a second one after ";")');
      }
      end = i;
      break;
    } else {
      if (!firstWord && /[A-Za-z]/.test(c)) firstWord = /^[A-Za-z]+/.exec(text.slice(i))![0].toUpperCase();
      i++;
    }
  }
  if (!['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(firstWord)) {
    throw bad(`the SQL source must be a SELECT query, not ${firstWord || 'empty'}`);
  }
  return text.slice(0, end).trim();
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
