import type { SqlClient } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { afterEach } from 'vitest';
import { createPostgresCache, type PostgresCacheOptions, type PostgresCacheProvider } from '../src/index.ts';

export interface BackendEnv {
  sql: SqlClient;
  /** A schema this test file owns (dropped by the file afterwards on a server). */
  schema: string;
  /** True on a shared server: anything created outside `schema` must be removed again. */
  shared: boolean;
}

/** A SqlClient that counts the statements sent through it, to prove that nothing reached the database. */
export function countingClient(sql: SqlClient): { client: SqlClient; calls: () => number } {
  let calls = 0;
  const client = new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'query' || prop === 'exec' || prop === 'transaction') {
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  return { client, calls: () => calls };
}

/** The providers a test opens (closed after it) and raw views of their tables. Call inside a `describe`. */
export function cacheFixture(env: () => BackendEnv) {
  let opened: PostgresCacheProvider[] = [];
  const open = async (opts: Partial<PostgresCacheOptions> = {}): Promise<PostgresCacheProvider> => {
    const { sql, schema } = env();
    const cache = await createPostgresCache({
      sql,
      table: `${schema}.cache`,
      prefix: `${uniqueName('pc')}:`,
      pruneIntervalMs: 0,
      ...opts,
    });
    opened.push(cache);
    return cache;
  };
  const rows = async (table: string, prefix: string) =>
    (
      await env().sql.query<{ key: string; value: Uint8Array; expires_at: Date; in_ms: number }>(
        `SELECT key, value, expires_at,
                floor(extract(epoch FROM expires_at - now()) * 1000)::int8 AS in_ms
         FROM ${table} WHERE key LIKE $1 || '%' ORDER BY key`,
        [prefix],
      )
    ).rows;
  /** Inserts `n` rows that expired a second ago, the way an old entry looks before pruning. */
  const insertExpired = (table: string, prefix: string, n: number) =>
    env().sql.query(
      `INSERT INTO ${table} (key, value, expires_at)
       SELECT $1 || g, '\\x00'::bytea, now() - interval '1 second' FROM generate_series(1, $2::int) g`,
      [prefix, n],
    );

  afterEach(async () => {
    const toClose = opened;
    opened = [];
    await Promise.all(toClose.map((c) => c.close()));
  });
  /** Closes a provider the test created itself after the test. */
  const track = (cache: PostgresCacheProvider): void => {
    opened.push(cache);
  };
  return { open, track, rows, insertExpired };
}
