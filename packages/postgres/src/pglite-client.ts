import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { ErrorCode, IntegrationError, probeWithTimeout } from '@fraiseql/core';
import { acquireDirLock } from './dir-lock.ts';
import { postgresError, sqlState, toIntegrationError } from './errors.ts';
import { assertChannel, quoteChannel } from './identifiers.ts';
import type {
  QueryResult,
  SqlClient,
  SqlClientEmbeddedOptions,
  SqlClientPgliteOptions,
  SqlExecutor,
  Unlisten,
} from './types.ts';
import { DEFAULT_HEALTH_TIMEOUT_MS, deliver, Serial, type TxScope, txScope } from './util.ts';

function toResult<R>(r: {
  rows: unknown[];
  rowCount?: number;
  affectedRows?: number;
  command?: string;
}): QueryResult<R> {
  const rows = (r.rows ?? []) as R[];
  const rowCount =
    typeof r.rowCount === 'number'
      ? r.rowCount
      : r.command === 'SELECT'
        ? rows.length
        : (r.affectedRows ?? rows.length);
  return { rows, rowCount };
}

const wrap = (err: unknown, context: string) => toIntegrationError(err, context);

// PGlite's TransactionAbortedError (minified, so matched by SQLSTATE): COMMIT of an aborted
// transaction. Only COMMIT can raise it once the callback itself succeeded.
function isAbortedCommit(err: unknown): boolean {
  return sqlState(err) === '25P02';
}

class PgliteTransaction implements SqlExecutor {
  readonly kind = 'pglite' as const;
  readonly #tx: Transaction;
  readonly #scope: TxScope;

  constructor(tx: Transaction, scope: TxScope) {
    this.#tx = tx;
    this.#scope = scope;
  }

  #assertOpen(): void {
    if (!this.#scope.open) {
      throw postgresError('transaction already finished: use the client, not the transaction, after it ends');
    }
  }

  async query<R = Record<string, any>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#assertOpen();
    try {
      return toResult<R>(await this.#tx.query(text, params ? [...params] : []));
    } catch (err) {
      throw wrap(err, 'query failed');
    }
  }

  async exec(script: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#tx.exec(script);
    } catch (err) {
      throw wrap(err, 'exec failed');
    }
  }
}

/**
 * PGlite is one connection: its own mutex already makes statements outside a transaction wait
 * for it. What it cannot do is notice a call from inside the transaction callback on the client
 * itself — that would wait for its own transaction forever — so we refuse it with a clear error.
 */
class PgliteSqlClient implements SqlClient {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;
  readonly #owns: boolean;
  readonly #releaseLock: (() => void) | undefined;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();
  readonly #serial = new Serial();
  #offNotification: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(db: PGlite, owns: boolean, releaseLock?: () => void) {
    this.#db = db;
    this.#owns = owns;
    this.#releaseLock = releaseLock;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  #assertUsable(what: string): void {
    if (this.#closing) throw postgresError('SqlClient is closed');
    const scope = txScope.getStore();
    if (scope?.open && scope.db === this.#db) {
      throw postgresError(
        `${what} called on the client inside its own transaction: PGlite has one connection, so this ` +
          'would wait for the transaction forever. Use the `tx` passed to the transaction callback.',
      );
    }
  }

  async query<R = Record<string, any>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#assertUsable('query()');
    try {
      return toResult<R>(await this.#db.query(text, params ? [...params] : []));
    } catch (err) {
      throw wrap(err, 'query failed');
    }
  }

  async exec(script: string): Promise<void> {
    this.#assertUsable('exec()');
    try {
      await this.#db.exec(script);
    } catch (err) {
      throw wrap(err, 'exec failed');
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#assertUsable('transaction()');
    const scope: TxScope = { db: this.#db, open: true };
    let fnFailed = false;
    try {
      return await this.#db.transaction((tx) =>
        txScope.run(scope, async () => {
          try {
            return await fn(new PgliteTransaction(tx, scope));
          } catch (err) {
            fnFailed = true;
            throw err;
          } finally {
            scope.open = false;
          }
        }),
      );
    } catch (err) {
      if (fnFailed) throw err;
      if (isAbortedCommit(err)) {
        throw postgresError(
          'transaction was rolled back: a statement in it failed and the error was caught inside the transaction (SQLSTATE 25P02)',
          err,
        );
      }
      throw wrap(err, 'transaction failed');
    } finally {
      scope.open = false;
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<Unlisten> {
    this.#assertUsable('listen()');
    assertChannel(channel);
    await this.#serial.run(async () => {
      if (this.#closing) throw postgresError('SqlClient is closed');
      this.#offNotification ??= this.#db.onNotification((ch, payload) => this.#dispatch(ch, payload));
      let subs = this.#channels.get(channel);
      if (subs) {
        subs.add(onPayload);
        return;
      }
      subs = new Set([onPayload]);
      this.#channels.set(channel, subs);
      try {
        await this.#db.exec(`LISTEN ${quoteChannel(channel)}`);
      } catch (err) {
        this.#channels.delete(channel);
        throw wrap(err, `LISTEN ${JSON.stringify(channel)} failed`);
      }
    });
    let removed: Promise<void> | undefined;
    return () => {
      removed ??= this.#serial.run(async () => {
        const subs = this.#channels.get(channel);
        if (!subs?.delete(onPayload) || subs.size > 0) return;
        this.#channels.delete(channel);
        if (this.#db.closed) return;
        try {
          await this.#db.exec(`UNLISTEN ${quoteChannel(channel)}`);
        } catch {
          // a closed engine has no LISTEN left
        }
      });
      return removed;
    };
  }

  #dispatch(channel: string, payload: string): void {
    const subs = this.#channels.get(channel);
    if (!subs) return;
    for (const cb of subs) deliver(() => cb(payload));
  }

  async notify(channel: string, payload = ''): Promise<void> {
    assertChannel(channel);
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async healthCheck(timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS): Promise<boolean> {
    if (this.#closing || this.#db.closed) return false;
    const probe = this.#db.query('SELECT 1').then(
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
    await this.#serial.run(async () => {
      this.#offNotification?.();
      this.#offNotification = undefined;
      const channels = [...this.#channels.keys()];
      this.#channels.clear();
      if (this.#owns) return;
      // A borrowed engine lives on: drop our LISTENs so they do not outlive us.
      for (const channel of channels) {
        try {
          if (!this.#db.closed) await this.#db.exec(`UNLISTEN ${quoteChannel(channel)}`);
        } catch {
          // best effort
        }
      }
    });
    if (!this.#owns) return;
    try {
      if (!this.#db.closed) await this.#db.close();
    } catch (err) {
      throw wrap(err, 'close failed');
    } finally {
      this.#releaseLock?.();
    }
  }
}

/** PGlite side of `createSqlClient`: an engine we start (memory or directory) or the caller's. */
export async function createPgliteSqlClient(
  opts: SqlClientEmbeddedOptions | SqlClientPgliteOptions,
): Promise<SqlClient> {
  if ('pglite' in opts && opts.pglite) {
    if (opts.pglite.closed) throw postgresError('the PGlite instance passed in is closed');
    return new PgliteSqlClient(opts.pglite, false);
  }
  const { embeddedDir, pgliteOptions } = opts as SqlClientEmbeddedOptions;
  let dir: string | undefined;
  let releaseLock: (() => void) | undefined;
  if (embeddedDir !== undefined) {
    if (typeof embeddedDir !== 'string' || embeddedDir.trim() === '') {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        'embeddedDir must be a non-empty path (omit it for an in-memory database)',
        { field: 'embeddedDir' },
      );
    }
    dir = resolve(embeddedDir);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `Cannot create embedded Postgres directory ${dir}: ${(err as Error).message}`,
        { field: 'embeddedDir', cause: err },
      );
    }
    releaseLock = acquireDirLock(dir);
  }
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dir ? { ...pgliteOptions, dataDir: dir } : { ...pgliteOptions });
    return new PgliteSqlClient(db, true, releaseLock);
  } catch (err) {
    releaseLock?.();
    throw wrap(err, `starting embedded Postgres${dir ? ` in ${dir}` : ''} failed`);
  }
}
