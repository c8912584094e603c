import { createHash } from 'node:crypto';
import { probeWithTimeout, redactSecrets, urlSecrets } from '@fraiseql/core';
import pg, {
  type ClientBase,
  type CustomTypesConfig,
  type Notification,
  type QueryResult as PgResult,
  type Pool,
  type PoolClient,
  type QueryConfig,
} from 'pg';
import { postgresError, toIntegrationError } from './errors.ts';
import { assertChannel, quoteChannel } from './identifiers.ts';
import type {
  ListenOptions,
  QueryOptions,
  QueryResult,
  SqlClient,
  SqlClientPoolOptions,
  SqlClientUrlOptions,
  SqlExecutor,
  Unlisten,
} from './types.ts';
import { DEFAULT_HEALTH_TIMEOUT_MS, deliver, parseInt8, Serial } from './util.ts';

const INT8_OID = 20;

/**
 * Per-query type parsers (PGlite's value rules, see SqlExecutor) that leave `pg`'s global
 * parsers — and those of a pool the caller passed in — untouched.
 */
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: any) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as any,
};
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** Pool defaults for `{ url }`; see `SqlClientUrlOptions.poolOptions`. */
export const DEFAULT_POOL_OPTIONS = {
  max: 10,
  connectionTimeoutMillis: 10_000,
  idleTimeoutMillis: 30_000,
  keepAlive: true,
  application_name: 'fraiseql',
  allowExitOnIdle: true,
} as const;

/** What error messages are scrubbed of and which server they name. */
interface Redaction {
  secrets: string[];
  target: string;
}

function poolTarget(pool: Pool): string {
  const o: any = (pool as any).options ?? {};
  if (typeof o.connectionString === 'string')
    return redactSecrets(o.connectionString, urlSecrets(o.connectionString));
  return `${o.host ?? process.env.PGHOST ?? 'localhost'}:${o.port ?? process.env.PGPORT ?? 5432}/${o.database ?? process.env.PGDATABASE ?? ''}`;
}

function toResult<R>(r: PgResult<any>): QueryResult<R> {
  const rows = (r.rows ?? []) as R[];
  return { rows, rowCount: typeof r.rowCount === 'number' ? r.rowCount : rows.length };
}

const statementNames = new Map<string, string>();

/** A stable name per statement text (pg keeps prepared statements per connection, by name). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `fq_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return name;
}

/** Statements run with the extended protocol, like PGlite: one statement per call, always bound. */
function statement(text: string, params: readonly unknown[] | undefined, prepare = false): QueryConfig {
  const config = {
    text,
    values: params ? [...params] : [],
    types: TYPES,
    queryMode: 'extended',
  } as QueryConfig;
  if (prepare) config.name = statementName(text);
  return config;
}

interface Subscription {
  onPayload: (payload: string) => void;
  onReconnect: (() => void) | undefined;
}

/**
 * One pooled connection that carries every LISTEN of a client. When it dies (server restart,
 * `pg_terminate_backend`, network loss) it is replaced with jittered backoff and every channel is
 * LISTENed again; subscribers' `onReconnect` then tells them notifications may have been missed.
 */
class PgListener {
  readonly #pool: Pool;
  readonly #wrap: (err: unknown, context: string) => Error;
  readonly #channels = new Map<string, Set<Subscription>>();
  readonly #serial = new Serial();
  #client: PoolClient | undefined;
  #detach: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;
  #closed = false;

  constructor(pool: Pool, wrap: (err: unknown, context: string) => Error) {
    this.#pool = pool;
    this.#wrap = wrap;
  }

  add(channel: string, sub: Subscription): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) throw postgresError('SqlClient is closed');
      let subs = this.#channels.get(channel);
      const first = !subs;
      if (!subs) {
        subs = new Set();
        this.#channels.set(channel, subs);
      }
      subs.add(sub);
      if (!first && this.#client) return;
      try {
        if (this.#client) await this.#client.query(`LISTEN ${quoteChannel(channel)}`);
        else {
          // Connect now rather than wait for a scheduled retry: the caller waits for an active LISTEN.
          this.#clearTimer();
          await this.#connect();
        }
      } catch (err) {
        subs.delete(sub);
        if (subs.size === 0) this.#channels.delete(channel);
        if (!this.#client && this.#channels.size > 0) this.#schedule();
        throw this.#wrap(err, `LISTEN ${JSON.stringify(channel)} failed`);
      }
    });
  }

  remove(channel: string, sub: Subscription): Promise<void> {
    return this.#serial.run(async () => {
      const subs = this.#channels.get(channel);
      if (!subs?.delete(sub) || subs.size > 0) return;
      this.#channels.delete(channel);
      const client = this.#client;
      if (!client) return;
      try {
        await client.query(`UNLISTEN ${quoteChannel(channel)}`);
      } catch {
        // A dead connection has no LISTEN left; the reconnect will not restore a removed channel.
      }
      if (this.#channels.size === 0 && this.#client === client) {
        // Nothing left to listen to: give the connection back to the pool.
        this.#detach?.();
        this.#client = undefined;
        this.#detach = undefined;
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.#serial.run(async () => {
      const client = this.#client;
      this.#client = undefined;
      this.#detach?.();
      this.#detach = undefined;
      // Destroy rather than reuse: it still has LISTENs registered.
      if (client) client.release(true);
    });
  }

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    const onError = (err: Error) => this.#dropped(client, err);
    const onEnd = () => this.#dropped(client, new Error('listener connection ended'));
    const onNotification = (msg: Notification) => this.#dispatch(msg.channel, msg.payload ?? '');
    client.on('error', onError);
    client.on('end', onEnd);
    client.on('notification', onNotification);
    const detach = () => {
      client.off('end', onEnd);
      client.off('notification', onNotification);
      // A released/destroyed client can still emit 'error' late; keep a no-op so it never goes unhandled.
      client.off('error', onError);
      client.on('error', () => {});
    };
    try {
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`);
    } catch (err) {
      detach();
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    this.#client = client;
    this.#detach = detach;
    this.#delay = RECONNECT_MIN_MS;
  }

  #dropped(client: PoolClient, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#detach?.();
    this.#detach = undefined;
    try {
      client.release(err);
    } catch {
      // already released
    }
    if (!this.#closed && this.#channels.size > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    const wait = Math.round(this.#delay * (0.5 + Math.random() / 2));
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MAX_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#reconnect();
    }, wait);
  }

  #reconnect(): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed || this.#client || this.#channels.size === 0) return;
      try {
        await this.#connect();
      } catch {
        this.#schedule();
        return;
      }
      for (const subs of this.#channels.values()) {
        for (const sub of subs) if (sub.onReconnect) deliver(sub.onReconnect);
      }
    });
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #dispatch(channel: string, payload: string): void {
    const subs = this.#channels.get(channel);
    if (!subs) return;
    for (const sub of subs) deliver(() => sub.onPayload(payload));
  }
}

const FINISHED = 'transaction already finished: use the client, not the transaction, after it ends';

/** Statements on one `pg` connection: our transactions, or a caller's client (`fromPgClient`). */
class PgConnectionExecutor implements SqlExecutor {
  readonly kind = 'pg' as const;
  done = false;
  readonly #client: ClientBase;
  readonly #wrap: (err: unknown, context: string) => Error;
  readonly prepared: boolean;

  constructor(client: ClientBase, wrap: (err: unknown, context: string) => Error, prepared = true) {
    this.prepared = prepared;
    this.#client = client;
    this.#wrap = wrap;
  }

  async query<R = Record<string, any>>(
    text: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<R>> {
    if (this.done) throw postgresError(FINISHED);
    try {
      return toResult<R>(
        await this.#client.query(statement(text, params, opts?.prepare === true && this.prepared)),
      );
    } catch (err) {
      throw this.#wrap(err, 'query failed');
    }
  }

  async exec(script: string): Promise<void> {
    if (this.done) throw postgresError(FINISHED);
    try {
      await this.#client.query(script);
    } catch (err) {
      throw this.#wrap(err, 'exec failed');
    }
  }
}

/**
 * A {@link SqlExecutor} over a `pg` client the caller holds — typically inside the caller's own
 * `BEGIN … COMMIT` — so a provider's writes (e.g. an enqueue) commit or roll back with the
 * caller's. The caller keeps owning the client (we never release or end it).
 */
export function fromPgClient(client: ClientBase): SqlExecutor {
  return new PgConnectionExecutor(client, (err, context) => toIntegrationError(err, context));
}

class PgSqlClient implements SqlClient {
  readonly kind = 'pg' as const;
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  readonly #redaction: Redaction;
  readonly #listener: PgListener;
  readonly #onPoolError = () => {
    // pg-pool already discards an idle client whose backend died; without a listener the
    // 'error' event would crash the process.
  };
  #closing: Promise<void> | undefined;

  readonly #prepared: boolean;

  constructor(pool: Pool, ownsPool: boolean, redaction: Redaction, prepared = true) {
    this.#prepared = prepared;
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#redaction = redaction;
    this.#listener = new PgListener(pool, (err, context) => this.#wrap(err, context));
    pool.on('error', this.#onPoolError);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  #wrap = (err: unknown, context: string) =>
    toIntegrationError(err, context, { secrets: this.#redaction.secrets, target: this.#redaction.target });

  #assertOpen(): void {
    if (this.#closing) throw postgresError('SqlClient is closed');
  }

  async query<R = Record<string, any>>(
    text: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<R>> {
    this.#assertOpen();
    try {
      return toResult<R>(
        await this.#pool.query(statement(text, params, opts?.prepare === true && this.#prepared)),
      );
    } catch (err) {
      throw this.#wrap(err, 'query failed');
    }
  }

  /** The eager connection check of `createSqlClient` (skipped with `lazyConnect`). */
  async connectCheck(): Promise<void> {
    try {
      await this.#pool.query('SELECT 1');
    } catch (err) {
      throw this.#wrap(err, 'connect failed');
    }
  }

  async exec(script: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#pool.query(script);
    } catch (err) {
      throw this.#wrap(err, 'exec failed');
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#assertOpen();
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#wrap(err, 'connect failed');
    }
    // A checked-out client has no pool 'error' listener: a backend killed mid-transaction would
    // otherwise surface as an unhandled 'error' event.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const tx = new PgConnectionExecutor(client, this.#wrap, this.#prepared);
    let open = false;
    try {
      try {
        await client.query('BEGIN');
      } catch (err) {
        throw this.#wrap(err, 'BEGIN failed');
      }
      open = true;
      const result = await fn(tx);
      tx.done = true;
      open = false;
      let commit: PgResult<any>;
      try {
        commit = await client.query('COMMIT');
      } catch (err) {
        throw this.#wrap(err, 'COMMIT failed');
      }
      // Postgres answers COMMIT of an aborted transaction with ROLLBACK, not an error.
      if (commit.command === 'ROLLBACK') {
        // Same shape as PGlite's error here, so sqlState() reads 25P02 on both.
        const cause = Object.assign(new Error('COMMIT rolled back an aborted transaction'), {
          code: '25P02',
          severity: 'ERROR',
        });
        throw postgresError(
          'transaction was rolled back: a statement in it failed and the error was caught inside the transaction (SQLSTATE 25P02)',
          cause,
        );
      }
      return result;
    } catch (err) {
      tx.done = true;
      if (open) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken ??= rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
      }
      throw err;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed instead of going back to the pool.
      client.release(broken ?? false);
    }
  }

  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    opts: ListenOptions = {},
  ): Promise<Unlisten> {
    this.#assertOpen();
    assertChannel(channel);
    const sub: Subscription = { onPayload, onReconnect: opts.onReconnect };
    await this.#listener.add(channel, sub);
    let removed: Promise<void> | undefined;
    return () => {
      removed ??= this.#listener.remove(channel, sub);
      return removed;
    };
  }

  async notify(channel: string, payload = ''): Promise<void> {
    assertChannel(channel);
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async healthCheck(timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS): Promise<boolean> {
    if (this.#closing) return false;
    const probe = this.#pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    return probeWithTimeout(probe, timeoutMs);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#listener.close();
    if (this.#ownsPool) {
      try {
        await this.#pool.end();
      } catch {
        // ending twice or a dead server: nothing left to release
      }
      // Late errors of clients being torn down still need a listener, so it stays on our own pool.
    } else {
      this.#pool.off('error', this.#onPoolError);
    }
  }
}

/** `pg` side of `createSqlClient`: a pool from a URL (owned) or the caller's pool (borrowed). */
export async function createPgSqlClient(
  opts: SqlClientUrlOptions | SqlClientPoolOptions,
): Promise<SqlClient> {
  let client: PgSqlClient;
  if ('pool' in opts && opts.pool) {
    client = new PgSqlClient(
      opts.pool,
      false,
      { secrets: [], target: poolTarget(opts.pool) },
      opts.preparedStatements !== false,
    );
  } else {
    const url = (opts as SqlClientUrlOptions).url;
    const secrets = urlSecrets(url);
    const pool = new pg.Pool({
      ...DEFAULT_POOL_OPTIONS,
      ...(opts as SqlClientUrlOptions).poolOptions,
      connectionString: url,
    });
    client = new PgSqlClient(
      pool,
      true,
      { secrets, target: redactSecrets(url, secrets) },
      opts.preparedStatements !== false,
    );
  }
  if (!opts.lazyConnect) {
    try {
      await client.connectCheck();
    } catch (err) {
      await client.close();
      throw err;
    }
  }
  return client;
}
