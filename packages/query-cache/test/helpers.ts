import { createMemoryCache } from '@fraiseql/cache-memory';
import type { CacheProvider } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { createQueryCache, type QueryCache, type QueryCacheOptions } from '../src/index';

export const pg = await checkService('postgres');

/** A SqlClient wrapper counting the statements that reach storage. */
export function counting(sql: SqlClient): SqlClient & { count: number } {
  const c: SqlClient & { count: number } = {
    count: 0,
    get kind() {
      return sql.kind;
    },
    get closed() {
      return sql.closed;
    },
    query: (text, params, opts) => {
      c.count++;
      return sql.query(text, params, opts);
    },
    exec: (script) => sql.exec(script),
    transaction: (fn) => sql.transaction(fn),
    listen: (ch, fn, opts) => sql.listen(ch, fn, opts),
    notify: (ch, payload) => sql.notify(ch, payload),
    healthCheck: (ms) => sql.healthCheck(ms),
    close: () => sql.close(),
  };
  return c;
}

export interface Db {
  name: 'postgres' | 'pglite';
  sql: SqlClient;
  schema: string;
  /** `"schema".name` */
  t(name: string): string;
  close(): Promise<void>;
}

export async function openDb(name: 'postgres' | 'pglite'): Promise<Db> {
  const sql = name === 'postgres' ? await createSqlClient({ url: pg.url }) : await createSqlClient({});
  const schema = name === 'postgres' ? uniqueName('qc') : 'public';
  if (name === 'postgres') await sql.exec(`CREATE SCHEMA "${schema}"`);
  await sql.exec(`
    CREATE TABLE "${schema}".customers (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE "${schema}".orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric NOT NULL);
    CREATE TABLE "${schema}"."Mixed Case" (id int PRIMARY KEY, v text);
    INSERT INTO "${schema}".customers VALUES (1, 'ada'), (2, 'bob');
    INSERT INTO "${schema}".orders VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
    INSERT INTO "${schema}"."Mixed Case" VALUES (1, 'x');
  `);
  return {
    name,
    sql,
    schema,
    t: (n) => `"${schema}".${n}`,
    close: async () => {
      if (name === 'postgres')
        await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await sql.close();
    },
  };
}

export async function qcOn(
  sql: SqlClient,
  opts: Partial<QueryCacheOptions> = {},
): Promise<{ qc: QueryCache; storage: SqlClient & { count: number }; cache: CacheProvider }> {
  const storage = counting(sql);
  const cache = opts.cache ?? (await createMemoryCache({}));
  const qc = await createQueryCache({ sql: storage, cache, prefix: `${uniqueName('p')}:`, ...opts });
  return { qc, storage, cache };
}

export async function until(check: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
