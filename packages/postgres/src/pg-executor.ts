import type { ClientBase } from 'pg';
import { postgresError, toIntegrationError } from './errors.ts';
import { statement, toResult } from './pg-statement.ts';
import type { QueryOptions, QueryResult, SqlExecutor } from './types.ts';

const FINISHED = 'transaction already finished: use the client, not the transaction, after it ends';

/** Statements on one `pg` connection: our transactions, or a caller's client (`fromPgClient`). */
export class PgConnectionExecutor implements SqlExecutor {
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
