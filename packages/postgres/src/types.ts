import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import type { Pool, PoolConfig } from 'pg';

/** Per-statement options of {@link SqlExecutor.query}. */
export interface QueryOptions {
  /**
   * Run it as a named (prepared) statement, so the server parses and plans it once per
   * connection instead of on every call — for the fixed statements of a hot path. Ignored by
   * PGlite and when the client was created with `preparedStatements: false`. Default false.
   */
  prepare?: boolean;
}

/** What a statement returned. */
export interface QueryResult<R> {
  rows: R[];
  /** Rows returned by a SELECT, or rows affected by INSERT/UPDATE/DELETE; 0 for DDL. */
  rowCount: number;
}

/**
 * The statement-running part of a {@link SqlClient}: what a transaction callback receives, and
 * what a caller hands to a provider to make its writes part of the caller's own transaction
 * (transactional enqueue).
 *
 * Value conventions, identical on `pg` and PGlite: parameters are always bound, never
 * interpolated; `int8`/`count(*)` come back as `number` (a `bigint` beyond 2^53); `bytea` as a
 * `Uint8Array`; `json`/`jsonb` parsed; `timestamptz` as `Date`; `numeric` as a string. Pass
 * JSON parameters as a string (`JSON.stringify(value)`) — `pg` would turn a JS array into a
 * Postgres array.
 */
export interface SqlExecutor {
  /** `"pg"` for a server reached through `pg`, `"pglite"` for the embedded engine. */
  readonly kind: 'pg' | 'pglite';
  /** One statement with `$1…$n` parameters. Errors are IntegrationErrors (see `sqlState`). */
  query<R = Record<string, any>>(
    text: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** A script of one or more statements, without parameters (DDL, migrations). */
  exec(script: string): Promise<void>;
}

/** Options of {@link SqlClient.listen}. */
export interface ListenOptions {
  /**
   * Called after the listening connection was lost and re-established (`pg` only). Notifications
   * sent while it was down are lost, so a consumer that relies on them (a queue waking up
   * workers) should poll once here.
   */
  onReconnect?: () => void;
}

/** Stops one subscription; the channel is UNLISTENed when its last subscriber goes. Idempotent. */
export type Unlisten = () => Promise<void>;

/**
 * One small interface over a `pg` Pool and PGlite, shared by the Postgres providers.
 * Every error it throws is an IntegrationError: server errors IN405 (kind `database`, SQLSTATE in
 * the message and on `cause.code`), connection problems IN500/IN501/IN502.
 */
export interface SqlClient extends SqlExecutor {
  /**
   * Runs `fn` in a transaction on one connection: COMMIT when it resolves, ROLLBACK when it
   * throws (its error is rethrown as is). A transaction in which a statement failed cannot
   * commit: if `fn` swallowed that error, the call rejects with IN405. On PGlite (one
   * connection) the transaction holds the engine exclusively: other queries wait until it ends,
   * and using the client itself instead of `tx` inside `fn` is refused (it would deadlock).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel (any 1-63 bytes, case-sensitive). All channels of a client
   * share one connection — on `pg`, one connection taken from the pool while any channel is
   * listened — which reconnects by itself after a connection loss and LISTENs again.
   * Payloads are delivered asynchronously, in order; exceptions thrown by `onPayload` are
   * ignored. Resolves once the LISTEN is active.
   */
  listen(channel: string, onPayload: (payload: string) => void, opts?: ListenOptions): Promise<Unlisten>;
  /** `pg_notify(channel, payload)`; delivered to listeners when the sending transaction commits. */
  notify(channel: string, payload?: string): Promise<void>;
  /** `SELECT 1` within `timeoutMs` (default 3000): `false` when it fails or takes longer; never throws. */
  healthCheck(timeoutMs?: number): Promise<boolean>;
  /**
   * Stops listeners and ends the pool / closes PGlite so the process can exit. Idempotent. A pool
   * or PGlite instance the caller passed in is left open (the caller owns it).
   */
  close(): Promise<void>;
  /** True once `close()` was called. */
  readonly closed: boolean;
}

/** Options shared by every form of {@link createSqlClient}. */
export interface CommonSqlClientOptions {
  /**
   * Honour `prepare: true` (named statements). Turn off behind PgBouncer in transaction pooling
   * mode, where a statement prepared on one server connection is not there on the next. Default true.
   */
  preparedStatements?: boolean;
  /**
   * Skip the `SELECT 1` that `createSqlClient` runs to fail fast on a bad URL or a server that is
   * down; the first query connects instead. Default `false`. (PGlite always starts eagerly.)
   */
  lazyConnect?: boolean;
}

/** A Postgres server by connection URL; the client owns the pool it creates. */
export interface SqlClientUrlOptions extends CommonSqlClientOptions {
  /** `postgres://user:password@host:5432/db`. The password never appears in error messages. */
  url: string;
  /**
   * Extra `pg` Pool settings, merged over the defaults: `max: 10`, `connectionTimeoutMillis:
   * 10000`, `idleTimeoutMillis: 30000`, `keepAlive: true`, `application_name: "fraiseql"`,
   * `allowExitOnIdle: true`. No `statement_timeout` is set.
   */
  poolOptions?: Omit<PoolConfig, 'connectionString'>;
}

/** A `pg` Pool the caller created and owns: `close()` does not end it. */
export interface SqlClientPoolOptions extends CommonSqlClientOptions {
  pool: Pool;
}

/** Embedded PGlite, in memory or persisted in a directory; the client owns it. */
export interface SqlClientEmbeddedOptions {
  /**
   * Directory of the database files, created when missing; data survives close/reopen. Absent =
   * in memory (gone at `close()`). A directory is opened by one process at a time: a second open
   * fails with IN002 while a live process holds `<dir>/fraiseql.lock`.
   */
  embeddedDir?: string;
  /** Extra PGlite options (extensions, `relaxedDurability`, …). Default none. */
  pgliteOptions?: Omit<PGliteOptions, 'dataDir'>;
}

/** A PGlite instance the caller created and owns: `close()` does not close it. */
export interface SqlClientPgliteOptions {
  pglite: PGlite;
}

/** The forms {@link createSqlClient} accepts; `{}` is an in-memory PGlite. */
export type CreateSqlClientOptions =
  | SqlClientUrlOptions
  | SqlClientPoolOptions
  | SqlClientEmbeddedOptions
  | SqlClientPgliteOptions;
