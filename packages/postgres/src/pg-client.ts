import { probeWithTimeout, redactSecrets, urlSecrets } from '@fraiseql/core';
import pg, { type QueryResult as PgResult, type Pool, type PoolClient } from 'pg';
import { postgresError, toIntegrationError } from './errors.ts';
import { assertChannel } from './identifiers.ts';
import { PgConnectionExecutor } from './pg-executor.ts';
import { PgListener, type Subscription } from './pg-listener.ts';
import { statement, toResult } from './pg-statement.ts';
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
import { DEFAULT_HEALTH_TIMEOUT_MS } from './util.ts';

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
