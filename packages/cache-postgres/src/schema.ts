import { createHash } from 'node:crypto';
import { MAX_IDENTIFIER_BYTES, type MigrationStep, qualifiedName, quoteIdent } from '@fraiseql/postgres';

/** The cache table, validated and ready to interpolate into SQL. */
export interface CacheTable {
  schema: string;
  table: string;
  /** `"schema"."table"`. */
  sql: string;
  /** `schema.table`, for messages. */
  display: string;
}

export function cacheTable(schema: string, table: string): CacheTable {
  return { schema, table, sql: qualifiedName(schema, table), display: `${schema}.${table}` };
}

/**
 * `<table>_expires_idx`, or — when that would pass Postgres' 63-byte limit and be silently cut —
 * a shortened name with a hash of the full table name, so two long table names in one schema
 * never end up sharing (and skipping, via IF NOT EXISTS) one index name.
 */
export function expiryIndexName(table: string): string {
  const plain = `${table}_expires_idx`;
  if (plain.length <= MAX_IDENTIFIER_BYTES) return plain;
  const hash = createHash('sha1').update(table).digest('hex').slice(0, 8);
  return `${table.slice(0, MAX_IDENTIFIER_BYTES - 21)}_${hash}_expires_idx`;
}

/**
 * The table's one migration step. `key` uses the "C" collation so the primary-key btree also
 * serves `LIKE 'prefix%'` range scans (deletePattern) whatever the database's collation is; the
 * ordering of cache keys means nothing anyway. UNLOGGED skips the WAL (faster writes; the table is
 * emptied after a crash and not replicated — acceptable for a cache). An engine that refuses
 * UNLOGGED (feature_not_supported) gets a plain table instead of failing the startup.
 */
export function cacheMigrations(t: CacheTable, unlogged: boolean): MigrationStep[] {
  const columns = `(
    key text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL,
    expires_at timestamptz NOT NULL
  )`;
  const plain = `CREATE TABLE IF NOT EXISTS ${t.sql} ${columns};`;
  const create = unlogged
    ? `DO $fraiseql$ BEGIN
         CREATE UNLOGGED TABLE IF NOT EXISTS ${t.sql} ${columns};
       EXCEPTION WHEN feature_not_supported THEN
         ${plain}
       END $fraiseql$;`
    : plain;
  const index = quoteIdent(expiryIndexName(t.table), 'index');
  return [
    {
      id: '001_create_cache_table',
      up: `${create}
        CREATE INDEX IF NOT EXISTS ${index} ON ${t.sql} (expires_at);`,
    },
  ];
}

/** Largest TTL we store: 2^52 ms (~142 000 years) stays far inside timestamptz and interval range. */
export const MAX_TTL_MS = 2 ** 52;
/** Integers JavaScript represents exactly; `incr` refuses results beyond them. */
const MAX_SAFE = '9007199254740991';

/** `now() + <ms parameter>`: the database clock, so every app server agrees on expiry. */
const expiresIn = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`;

/** Every statement of the provider, built once per table. */
export interface Statements {
  get: string;
  set: string;
  delete: string;
  exists: string;
  ttl: string;
  expire: string;
  incr: string;
  deletePattern: string;
  prune: string;
  probe: string;
}

export function statements(t: CacheTable): Statements {
  const tbl = t.sql;
  // The text of a stored value without decoding it as UTF-8 (arbitrary bytes would raise):
  // 'escape' keeps ASCII digits and '-' as they are, so the integer regex sees them unchanged.
  const text = `encode(c.value, 'escape')`;
  return {
    get: `SELECT value FROM ${tbl} WHERE key = $1 AND expires_at > now()`,
    set: `INSERT INTO ${tbl} (key, value, expires_at) VALUES ($1, $2, ${expiresIn('$3')})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    // Removes an expired row too (it is garbage), but reports only a live one.
    delete: `DELETE FROM ${tbl} WHERE key = $1 RETURNING expires_at > now() AS live`,
    exists: `SELECT 1 FROM ${tbl} WHERE key = $1 AND expires_at > now()`,
    ttl: `SELECT floor(extract(epoch FROM expires_at - now()) * 1000)::int8 AS ms
          FROM ${tbl} WHERE key = $1 AND expires_at > now()`,
    expire: `UPDATE ${tbl} SET expires_at = ${expiresIn('$2')} WHERE key = $1 AND expires_at > now()`,
    // One statement, so concurrent calls serialise on the row lock and none is lost:
    // - no row: insert delta with the default TTL ($3);
    // - expired row: restart from delta with the default TTL;
    // - live integer row: add delta, keep expires_at;
    // - live row that is not an integer (or would leave ±2^53): the ON CONFLICT WHERE is false,
    //   nothing changes and no row comes back, which the caller reports as IN202.
    // CASE (not AND) guards the numeric cast: Postgres does not promise AND's evaluation order.
    incr: `INSERT INTO ${tbl} AS c (key, value, expires_at)
           VALUES ($1, convert_to($2::int8::text, 'UTF8'), ${expiresIn('$3')})
           ON CONFLICT (key) DO UPDATE SET
             value = CASE WHEN c.expires_at <= now() THEN excluded.value
                          ELSE convert_to((${text}::numeric + $2::int8)::text, 'UTF8') END,
             expires_at = CASE WHEN c.expires_at <= now() THEN excluded.expires_at ELSE c.expires_at END
           WHERE CASE WHEN c.expires_at <= now() THEN true
                      WHEN ${text} ~ '^-?[0-9]{1,20}$'
                        THEN abs(${text}::numeric + $2::int8) <= ${MAX_SAFE}
                      ELSE false END
           RETURNING encode(value, 'escape')::int8 AS n`,
    // The pattern is the escaped prefix + globToLike(glob); "C" collation lets the literal part
    // become an index range. Expired matches go too, but only live ones are counted.
    deletePattern: `WITH d AS (DELETE FROM ${tbl} WHERE key LIKE $1 ESCAPE '\\' RETURNING expires_at)
                    SELECT count(*) FILTER (WHERE expires_at > now())::int8 AS n FROM d`,
    // Bounded: at most $1 rows per statement. SKIP LOCKED lets several app servers prune the
    // same table without waiting on each other; the outer re-check keeps a row that a concurrent
    // set revived between the sub-select and the delete.
    prune: `DELETE FROM ${tbl} WHERE key IN (
              SELECT key FROM ${tbl} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
            ) AND expires_at <= now()`,
    probe: `SELECT 1 FROM ${tbl} LIMIT 0`,
  };
}
