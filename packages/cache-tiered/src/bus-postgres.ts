import { ErrorCode, type IntegrationError, withTimeout, wrapError } from '@fraiseql/core';
import type { Bus, BusHandlers } from './bus';

/** What the bus needs of `@fraiseql/postgres`'s SqlClient (structural: no dependency on it). */
export interface BusSqlClient {
  readonly kind: 'pg' | 'pglite';
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
  exec(script: string): Promise<void>;
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    opts?: { onReconnect?: () => void },
  ): Promise<() => Promise<void>>;
  notify(channel: string, payload?: string): Promise<void>;
}

export interface PostgresBusOptions {
  sql: BusSqlClient;
  channel: string;
  /** Quoted `schema.table` of the lease table. */
  leaseTable: string;
  /** Schema of the lease table, quoted. */
  leaseSchema: string;
  timeoutMs: number;
  /** How often a heartbeat goes round the channel; a missed one marks the bus down. */
  heartbeatMs: number;
}

const HEARTBEAT = 'hb:';

/** Driver errors as IntegrationErrors (network codes where they apply), secrets scrubbed. */
function busError(what: string, err: unknown): IntegrationError {
  return wrapError(err, ErrorCode.PostgresError, 'postgresql', `cache-tiered bus: ${what} failed`);
}

/**
 * PostgreSQL LISTEN/NOTIFY. The SqlClient's listener reconnects by itself but says nothing while
 * it is down, so the bus sends itself a heartbeat: when its own heartbeat does not come back in
 * time (or a NOTIFY fails) the bus counts as lost; the listener's `onReconnect` — sent once the
 * LISTEN is active again — brings it back.
 */
export class PostgresBus implements Bus {
  readonly kind = 'postgresql' as const;
  readonly #o: PostgresBusOptions;
  readonly #id = `${HEARTBEAT}${Math.random().toString(36).slice(2)}`;
  #handlers: BusHandlers | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastBeat = 0;
  #connected = false;
  #closed = false;

  constructor(opts: PostgresBusOptions) {
    this.#o = opts;
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.#handlers = handlers;
    const { sql, channel } = this.#o;
    try {
      await this.#createLeaseTable();
      this.#unlisten = await sql.listen(
        channel,
        (payload) => {
          if (payload === this.#id) {
            this.#lastBeat = Date.now();
            return;
          }
          if (payload.startsWith(HEARTBEAT)) return;
          handlers.onPayload(payload);
        },
        { onReconnect: () => this.#reconnected() },
      );
    } catch (err) {
      throw busError(`LISTEN on PostgreSQL channel "${channel}"`, err);
    }
    this.#connected = true;
    this.#lastBeat = Date.now();
    this.#timer = setInterval(() => this.#beat(), this.#o.heartbeatMs);
    this.#timer.unref();
  }

  async #createLeaseTable(): Promise<void> {
    const { sql, leaseSchema, leaseTable } = this.#o;
    const ddl = `CREATE SCHEMA IF NOT EXISTS ${leaseSchema};
      CREATE UNLOGGED TABLE IF NOT EXISTS ${leaseTable} (
        key text PRIMARY KEY, token text NOT NULL, expires_at timestamptz NOT NULL)`;
    try {
      await sql.exec(ddl);
    } catch (err) {
      // Two processes creating it at once: one loses the race on the catalog; the table exists.
      await sql.exec(ddl).catch(() => {
        throw err;
      });
    }
  }

  #lost(): void {
    if (!this.#connected || this.#closed) return;
    this.#connected = false;
    this.#handlers?.onState(false);
  }

  #reconnected(): void {
    if (this.#closed) return;
    // Anything sent while the listener was away is lost: report the gap even if no heartbeat missed it.
    this.#lost();
    this.#connected = true;
    this.#lastBeat = Date.now();
    this.#handlers?.onState(true);
  }

  #beat(): void {
    if (this.#closed) return;
    if (this.#connected && Date.now() - this.#lastBeat > 3 * this.#o.heartbeatMs) this.#lost();
    this.#o.sql.notify(this.#o.channel, this.#id).then(
      () => {
        // A heartbeat that comes back while down means the LISTEN never went away (a slow spell).
        if (!this.#connected && Date.now() - this.#lastBeat < this.#o.heartbeatMs) this.#reconnected();
      },
      () => this.#lost(),
    );
  }

  async publish(payload: string): Promise<void> {
    try {
      await withTimeout(
        this.#o.sql.notify(this.#o.channel, payload),
        this.#o.timeoutMs,
        () => new Error('timed out'),
      );
    } catch (err) {
      this.#lost();
      throw busError(`NOTIFY on PostgreSQL channel "${this.#o.channel}"`, err);
    }
  }

  async acquire(key: string, token: string, ms: number): Promise<boolean> {
    const t = this.#o.leaseTable;
    try {
      const r = await this.#o.sql.query(
        `INSERT INTO ${t} AS l (key, token, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
         WHERE l.expires_at < now() RETURNING token`,
        [this.#leaseKey(key), token, ms],
      );
      return r.rowCount === 1;
    } catch (err) {
      throw busError('taking a getOrSet lease in PostgreSQL', err);
    }
  }

  async release(key: string, token: string): Promise<void> {
    try {
      await this.#o.sql.query(`DELETE FROM ${this.#o.leaseTable} WHERE key = $1 AND token = $2`, [
        this.#leaseKey(key),
        token,
      ]);
    } catch {
      // The lease expires by itself; a failed release only delays other processes' loads.
    }
  }

  async healthCheck(): Promise<boolean> {
    if (!this.#connected) return false;
    try {
      await withTimeout(this.#o.sql.query('SELECT 1'), this.#o.timeoutMs, () => new Error('timed out'));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    if (this.#timer) clearInterval(this.#timer);
    await this.#unlisten?.().catch(() => {});
  }

  #leaseKey(key: string): string {
    return `${this.#o.channel}:${key}`;
  }
}
