import {
  assertOptionsObject,
  configError,
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  isPlainObject,
  nonNegativeIntOption,
  positiveIntOption,
  positiveOption,
  redactSecrets,
  stringOption,
  urlSecrets,
} from '@fraiseql/core';
import {
  assertIdentifier,
  createSqlClient,
  parseQualifiedName,
  qualifiedName,
  quoteIdent,
  type SqlClient,
} from '@fraiseql/postgres';

const PROVIDER = 'connector-postgres';

export interface PostgresPoolOptions {
  /** Connections kept open when idle. Default 0. */
  min?: number;
  /** Largest pool size. Default 10. */
  max?: number;
  /** Idle connections above `min` are closed after this long. Default 30000 ms. */
  idleTimeoutMs?: number;
}

export interface PostgresSslOptions {
  /** `disable`: no TLS; `require`: TLS without certificate checks; `verify-full`: TLS, certificate and host name checked. */
  mode: 'disable' | 'require' | 'verify-full';
  /** PEM contents (not paths: config `ca_file` etc. are read by the caller). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface PostgresConnectorOptions {
  name: string;
  /** `postgres://` or `postgresql://` URL; the connector owns the pool it opens. */
  url?: string;
  /** An open SqlClient of `@fraiseql/postgres` instead of a URL; `close()` leaves it open. */
  sql?: SqlClient;
  pool?: PostgresPoolOptions;
  ssl?: PostgresSslOptions;
}

/** `deliver`'s destination: the table the message's fields go to (`table` or `schema.table`). */
export interface PostgresDestination {
  table?: string;
  [key: string]: unknown;
}

export interface PostgresSelect {
  /** `table` or `schema.table`. */
  table: string;
  /** Column = value conditions, joined with AND; `null` means IS NULL. Values are bound parameters. */
  where?: Record<string, unknown>;
  /** Columns to return. Default all. */
  columns?: string[];
  /** Most rows returned. Default none. */
  limit?: number;
}

export interface PostgresConnector {
  readonly name: string;
  readonly type: 'postgres';
  /** INSERT of the row's fields (validated, quoted column names; bound values; objects/arrays as JSON). */
  insert(table: string, row: Record<string, unknown>): Promise<void>;
  /** Inserts `message.body` (an object) into `destination.table`. */
  deliver(message: { body: unknown; id?: string }, destination: PostgresDestination): Promise<void>;
  /** A statement with `$1…$n` parameters; resolves to its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** A parameterized SELECT for enrichment. */
  select<R = Record<string, unknown>>(q: PostgresSelect): Promise<R[]>;
  test(): Promise<{ ok: boolean; latencyMs: number; detail?: string }>;
  /** Closes the client the connector opened; a `sql` passed in stays open. Idempotent. */
  close(): Promise<void>;
}

/** `pg`'s `ssl` option for a mode. */
export function sslConfig(
  ssl: PostgresSslOptions | undefined,
  tag = PROVIDER,
): false | Record<string, unknown> | undefined {
  if (ssl === undefined) return undefined;
  if (!isPlainObject(ssl)) throw configError(tag, 'ssl must be an object', 'ssl');
  switch (ssl.mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full': {
      const out: Record<string, unknown> = { rejectUnauthorized: true };
      if (ssl.ca !== undefined) out.ca = ssl.ca;
      if (ssl.cert !== undefined) out.cert = ssl.cert;
      if (ssl.key !== undefined) out.key = ssl.key;
      return out;
    }
    default:
      throw configError(
        tag,
        `ssl.mode must be 'disable', 'require' or 'verify-full', got ${JSON.stringify((ssl as any).mode)}`,
        'ssl.mode',
      );
  }
}

/** Parameter form of a value: objects and arrays as JSON text (the column's type decides, e.g. jsonb). */
function param(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  return JSON.stringify(value);
}

function table(name: unknown): string {
  if (typeof name !== 'string') {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `Invalid table ${name === null ? 'null' : typeof name}`,
      {
        field: 'table',
      },
    );
  }
  const { schema, table: t } = parseQualifiedName(name, 'public');
  return qualifiedName(schema, t);
}

/**
 * A PostgreSQL connector on `@fraiseql/postgres`: `insert`/`deliver` write a message's fields with
 * bound parameters into a validated table, `select`/`query` read for enrichment, `test()` runs
 * `SELECT 1`. Identifiers are checked (`[A-Za-z_][A-Za-z0-9_]*`, optional `schema.`) and quoted;
 * anything else is refused with IN002 before any SQL is sent.
 */
export async function createPostgresConnector(options: PostgresConnectorOptions): Promise<PostgresConnector> {
  assertOptionsObject(options, PROVIDER);
  const name = stringOption(options.name, 'name', undefined, PROVIDER);
  if (name === undefined) throw configError(PROVIDER, 'name is required', 'name');
  const tag = `${PROVIDER} ${name}`;
  if (options.url !== undefined && options.sql !== undefined)
    throw configError(tag, 'give url or sql, not both', 'url');

  let sql: SqlClient;
  let owns = false;
  let secrets: string[] = [];
  if (options.sql !== undefined) {
    if (typeof (options.sql as SqlClient)?.query !== 'function')
      throw configError(tag, 'sql must be a SqlClient', 'sql');
    sql = options.sql;
  } else {
    const url = stringOption(options.url, 'url', undefined, tag);
    if (url === undefined) throw configError(tag, 'url (or sql) is required', 'url');
    secrets = urlSecrets(url);
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // shown below, redacted
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      throw configError(
        tag,
        `url must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactSecrets(url, secrets))}`,
        'url',
      );
    }
    const pool = options.pool ?? {};
    if (!isPlainObject(pool)) throw configError(tag, 'pool must be an object', 'pool');
    const poolOptions: Record<string, unknown> = {};
    const min = nonNegativeIntOption(pool.min, 'pool.min', undefined, tag);
    const max = positiveIntOption(pool.max, 'pool.max', undefined, tag);
    if (min !== undefined && max !== undefined && min > max) {
      throw configError(tag, `pool.min (${min}) must not exceed pool.max (${max})`, 'pool.min');
    }
    const idle = positiveOption(pool.idleTimeoutMs, 'pool.idleTimeoutMs', undefined, tag, 'milliseconds');
    if (min !== undefined) poolOptions.min = min;
    if (max !== undefined) poolOptions.max = max;
    if (idle !== undefined) poolOptions.idleTimeoutMillis = idle;
    const ssl = sslConfig(options.ssl, tag);
    if (ssl !== undefined) poolOptions.ssl = ssl;
    try {
      sql = await createSqlClient({ url, poolOptions });
    } catch (err) {
      throw wrap(err, `[${tag}] connect failed`, secrets);
    }
    owns = true;
  }
  let closed = false;

  async function run<R>(context: string, text: string, params: readonly unknown[]): Promise<R[]> {
    if (closed)
      throw new IntegrationError(ErrorCode.ProviderUnavailable, `[${tag}] connector is closed`, {
        provider: PROVIDER,
      });
    try {
      return (await sql.query<R>(text, params)).rows;
    } catch (err) {
      throw wrap(err, `[${tag}] ${context} failed`, secrets);
    }
  }

  async function insert(target: string, row: Record<string, unknown>): Promise<void> {
    const qualified = table(target);
    if (!isPlainObject(row)) {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `[${tag}] insert into ${target}: the row must be an object`,
        {
          kind: 'invalid_input',
          field: 'row',
        },
      );
    }
    const entries = Object.entries(row).filter(([, v]) => v !== undefined);
    for (const [column] of entries) assertIdentifier(column, 'column');
    const text =
      entries.length === 0
        ? `INSERT INTO ${qualified} DEFAULT VALUES`
        : `INSERT INTO ${qualified} (${entries.map(([c]) => quoteIdent(c, 'column')).join(', ')}) VALUES (${entries
            .map((_, i) => `$${i + 1}`)
            .join(', ')})`;
    await run(
      `insert into ${target}`,
      text,
      entries.map(([, v]) => param(v)),
    );
  }

  return {
    name,
    type: 'postgres',
    insert,
    async deliver(message, destination) {
      const target = destination?.table;
      if (typeof target !== 'string')
        throw configError(tag, 'deliver: destination.table is required', 'table');
      await insert(target, message?.body as Record<string, unknown>);
    },
    async query<R = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<R[]> {
      if (typeof text !== 'string' || text.trim() === '')
        throw configError(tag, 'query: sql must be a non-empty string', 'sql');
      return run<R>('query', text, params);
    },
    async select<R = Record<string, unknown>>(q: PostgresSelect): Promise<R[]> {
      if (!isPlainObject(q)) throw configError(tag, 'select: expected { table, where?, columns?, limit? }');
      const qualified = table(q.table);
      const columns =
        q.columns === undefined ? '*' : q.columns.map((c) => quoteIdent(c, 'column')).join(', ');
      if (q.columns !== undefined && q.columns.length === 0)
        throw configError(tag, 'select: columns must not be empty', 'columns');
      const params: unknown[] = [];
      const conditions = Object.entries(q.where ?? {}).map(([column, value]) => {
        const col = quoteIdent(column, 'column');
        if (value === null || value === undefined) return `${col} IS NULL`;
        params.push(param(value));
        return `${col} = $${params.length}`;
      });
      let text = `SELECT ${columns} FROM ${qualified}`;
      if (conditions.length > 0) text += ` WHERE ${conditions.join(' AND ')}`;
      const limit = positiveIntOption(q.limit, 'limit', undefined, tag);
      if (limit !== undefined) {
        params.push(limit);
        text += ` LIMIT $${params.length}`;
      }
      return run<R>(`select from ${q.table}`, text, params);
    },
    async test() {
      const started = performance.now();
      const latency = () => Math.round((performance.now() - started) * 100) / 100;
      try {
        await run('test', 'SELECT 1', []);
        return { ok: true, latencyMs: latency() };
      } catch (err) {
        return { ok: false, latencyMs: latency(), detail: describeError(err, secrets) };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owns) await sql.close();
    },
  };
}

function wrap(err: unknown, context: string, secrets: string[]): IntegrationError {
  const message = `${context}: ${describeError(err, secrets)}`;
  if (isIntegrationError(err)) {
    return new IntegrationError(err.code, message, {
      kind: err.kind,
      provider: PROVIDER,
      ...(err.field === undefined ? {} : { field: err.field }),
      cause: err,
    });
  }
  return new IntegrationError(ErrorCode.PostgresError, message, { provider: PROVIDER, cause: err });
}
