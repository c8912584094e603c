import {
  assertTtl,
  type CacheCommonOptions,
  type CacheProvider,
  ErrorCode,
  fromJson,
  type GetOrSetOptions,
  getOrSetWith,
  globToLike,
  IntegrationError,
  isIntegrationError,
  probeWithTimeout,
  resolveTtl,
  SingleFlight,
  toJson,
  toOwnedBuffer,
} from '@fraiseql/core';
import { migrate, parseQualifiedName, type SqlClient } from '@fraiseql/postgres';
import { assertKey, option, PROVIDER, showKey, toIntegrationError } from './errors';
import {
  type CacheTable,
  cacheMigrations,
  cacheTable,
  MAX_TTL_MS,
  type Statements,
  statements,
} from './schema';

export { PROVIDER } from './errors';
export const DEFAULT_TABLE = '_system.cache';
export const DEFAULT_PREFIX = 'fraiseql:cache:';
export const DEFAULT_TTL_MS = 3_600_000;
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_PRUNE_INTERVAL_MS = 60_000;
export const DEFAULT_PRUNE_BATCH_SIZE = 1000;
export const DEFAULT_PRUNE_MAX_BATCHES = 10;
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 2000;

export interface PostgresCacheOptions extends CacheCommonOptions {
  /**
   * The database, from `createSqlClient` of `@fraiseql/postgres` (a server through `pg`, or
   * PGlite). It stays the caller's: `close()` of the cache does not close it.
   */
  sql: SqlClient;
  /**
   * `"schema.table"` or `"table"` (schema `public`), each part 1-63 characters of `[A-Za-z0-9_]`
   * not starting with a digit; anything else is refused with IN002. Default `"_system.cache"`.
   * Several caches may share a table as long as their prefixes differ.
   */
  table?: string;
  /**
   * Create the schema, table and expiry index when missing (idempotent, safe when several
   * processes start at once; recorded by `migrate` of `@fraiseql/postgres`). `false` for a role
   * without CREATE rights: the table must exist, and nothing is checked (or connected) at
   * startup. Default `true`.
   */
  migrate?: boolean;
  /**
   * Create the table UNLOGGED: no WAL, so faster writes, but it is emptied after a server crash
   * and not replicated to standbys — fine for a cache. An engine that refuses UNLOGGED gets a
   * plain table. Only applies when the table is created. Default `true`.
   */
  unlogged?: boolean;
  /**
   * How often expired rows are deleted in the background (one unref'd timer per provider; reads
   * never see expired rows either way). 0 disables the sweep; call `prune()` yourself then.
   * Default 60_000.
   */
  pruneIntervalMs?: number;
  /** Most expired rows one prune statement deletes. Default 1000. */
  pruneBatchSize?: number;
  /**
   * Most prune statements one background sweep runs (it stops early at a batch that was not
   * full), bounding a sweep to `pruneBatchSize × pruneMaxBatches` rows. Default 10.
   */
  pruneMaxBatches?: number;
  /** `healthCheck()` resolves false when its probe of the table takes longer. Default 2000. */
  healthCheckTimeoutMs?: number;
  /**
   * Told about failures of the background sweep, which has no caller to reject (e.g. to log
   * them). Default: ignored — the next sweep simply tries again.
   */
  onError?: (err: IntegrationError) => void;
}

/** The Postgres cache: a CacheProvider plus its table and on-demand pruning. */
export interface PostgresCacheProvider extends CacheProvider {
  readonly name: 'postgresql';
  /** The table it uses, as `schema.table`. */
  readonly table: string;
  /**
   * Deletes up to `limit` (default `pruneBatchSize`) expired rows of the table — every prefix's,
   * since an expired row is invisible to all of them — in one statement, and returns how many.
   */
  prune(limit?: number): Promise<number>;
}

interface Settings {
  prefix: string;
  defaultTtlMs: number;
  maxValueBytes: number;
  pruneIntervalMs: number;
  pruneBatchSize: number;
  pruneMaxBatches: number;
  healthCheckTimeoutMs: number;
}

/** A plain Uint8Array over the driver's bytes (`pg` returns a Buffer): the same type on both engines. */
function view(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class PostgresCache implements PostgresCacheProvider {
  readonly name = 'postgresql' as const;
  readonly table: string;
  readonly #sql: SqlClient;
  readonly #s: Settings;
  readonly #q: Statements;
  readonly #flight = new SingleFlight<string>();
  readonly #onError: ((err: IntegrationError) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    sql: SqlClient,
    table: CacheTable,
    settings: Settings,
    onError?: (err: IntegrationError) => void,
  ) {
    this.#sql = sql;
    this.#s = settings;
    this.#q = statements(table);
    this.table = table.display;
    this.#onError = onError;
    if (settings.pruneIntervalMs > 0) {
      this.#timer = setInterval(() => this.#sweep(), settings.pruneIntervalMs);
      this.#timer.unref();
    }
  }

  #open(): void {
    if (this.#closing) {
      throw IntegrationError.provider(
        ErrorCode.CacheConnectionFailed,
        PROVIDER,
        `[${PROVIDER}] the cache provider is closed`,
      );
    }
  }

  #fail(err: unknown, what: string): never {
    throw toIntegrationError(err, `cache ${what} on ${this.table}`);
  }

  async #run<R>(what: string, text: string, params: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    try {
      // Every statement of this provider is fixed text: prepared once per connection.
      return await this.#sql.query<R>(text, params, { prepare: true });
    } catch (err) {
      this.#fail(err, what);
    }
  }

  #ttl(ttlMs: number | undefined): number {
    return Math.min(resolveTtl(ttlMs, this.#s.defaultTtlMs), MAX_TTL_MS);
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertKey(key);
    this.#open();
    const r = await this.#run<{ value: Uint8Array }>(`get ${showKey(key)}`, this.#q.get, [
      this.#s.prefix + key,
    ]);
    const row = r.rows[0];
    return row ? view(row.value) : null;
  }

  async set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    assertKey(key);
    const ttl = this.#ttl(ttlMs);
    const payload = toOwnedBuffer(value, this.#s.maxValueBytes);
    this.#open();
    await this.#write(key, payload, ttl);
  }

  async getJson<T>(key: string): Promise<T | null> {
    const bytes = await this.get(key);
    return bytes === null ? null : fromJson<T>(bytes, key);
  }

  async setJson<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    assertKey(key);
    const ttl = this.#ttl(ttlMs);
    const text = toJson(value, ErrorCode.CacheSerializationError, 'Cache value', this.#s.maxValueBytes);
    this.#open();
    await this.#write(key, Buffer.from(text, 'utf8'), ttl);
  }

  async #write(key: string, value: Buffer, ttl: number): Promise<void> {
    await this.#run(`set ${showKey(key)}`, this.#q.set, [this.#s.prefix + key, value, ttl]);
  }

  async delete(key: string): Promise<boolean> {
    assertKey(key);
    this.#open();
    const r = await this.#run<{ live: boolean }>(`delete ${showKey(key)}`, this.#q.delete, [
      this.#s.prefix + key,
    ]);
    return r.rows[0]?.live === true;
  }

  async exists(key: string): Promise<boolean> {
    assertKey(key);
    this.#open();
    const r = await this.#run(`exists ${showKey(key)}`, this.#q.exists, [this.#s.prefix + key]);
    return r.rows.length > 0;
  }

  async ttl(key: string): Promise<number | null> {
    assertKey(key);
    this.#open();
    const r = await this.#run<{ ms: number }>(`ttl ${showKey(key)}`, this.#q.ttl, [this.#s.prefix + key]);
    const row = r.rows[0];
    // A live row has at least a fraction of a millisecond left: never report 0 for it.
    return row ? Math.max(1, Number(row.ms)) : null;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertKey(key);
    const ttl = Math.min(assertTtl(ttlMs), MAX_TTL_MS);
    this.#open();
    const r = await this.#run(`expire ${showKey(key)}`, this.#q.expire, [this.#s.prefix + key, ttl]);
    return r.rowCount > 0;
  }

  async incr(key: string, delta = 1): Promise<number> {
    assertKey(key);
    if (!Number.isSafeInteger(delta)) {
      throw IntegrationError.invalidInput(
        ErrorCode.CacheSerializationError,
        `incr delta must be a safe integer, got ${String(delta)}`,
        'delta',
      );
    }
    this.#open();
    const r = await this.#run<{ n: number }>(`incr ${showKey(key)}`, this.#q.incr, [
      this.#s.prefix + key,
      String(delta),
      this.#s.defaultTtlMs,
    ]);
    const row = r.rows[0];
    if (!row) {
      throw new IntegrationError(
        ErrorCode.CacheSerializationError,
        `[${PROVIDER}] incr ${showKey(key)}: the stored value is not an integer, or the result would pass ±(2^53 - 1)`,
        { kind: 'serialization', provider: PROVIDER, field: 'key' },
      );
    }
    return Number(row.n);
  }

  async getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    this.#open();
    return getOrSetWith(this, this.#flight, key, load, opts);
  }

  async deletePattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string') {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidCacheKey,
        `deletePattern needs a string glob, got ${pattern === null ? 'null' : typeof pattern}`,
        'pattern',
      );
    }
    // Keys cannot hold NUL here (Postgres text), so no pattern with one can match: refuse it like a key.
    if (pattern.includes('\u0000')) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidCacheKey,
        'deletePattern: a pattern cannot contain NUL',
        'pattern',
      );
    }
    this.#open();
    // Only the empty key would match, and no key is empty.
    if (pattern.length === 0) return 0;
    // The prefix is literal too: its own `%`, `_` and `\` must not widen the match.
    const like = this.#s.prefix.replace(/[\\%_]/g, '\\$&') + globToLike(pattern);
    const r = await this.#run<{ n: number }>(
      `deletePattern ${JSON.stringify(pattern)}`,
      this.#q.deletePattern,
      [like],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async prune(limit: number = this.#s.pruneBatchSize): Promise<number> {
    option(limit, 'prune limit', 0, { integer: true });
    this.#open();
    const r = await this.#run('prune', this.#q.prune, [limit]);
    return r.rowCount;
  }

  /** One background sweep: batches until one comes back short, at most `pruneMaxBatches`. */
  #sweep(): void {
    if (this.#sweeping || this.#closing || this.#sql.closed) return;
    this.#sweeping = (async () => {
      try {
        for (let i = 0; i < this.#s.pruneMaxBatches && !this.#closing; i++) {
          if ((await this.prune()) < this.#s.pruneBatchSize) break;
        }
      } catch (err) {
        if (!this.#onError || this.#closing) return;
        try {
          this.#onError(
            isIntegrationError(err) ? err : toIntegrationError(err, 'cache background prune failed'),
          );
        } catch {
          // A throwing error hook must not become an unhandled rejection.
        }
      } finally {
        this.#sweeping = undefined;
      }
    })();
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closing || this.#sql.closed) return false;
    // Probes the table, not just the connection: a dropped table or a lost privilege is unhealthy too.
    const probe = this.#sql.query(this.#q.probe).then(
      () => true,
      () => false,
    );
    return probeWithTimeout(probe, this.#s.healthCheckTimeoutMs);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    // Let a running sweep finish, so the caller can close the SqlClient right after us.
    await this.#sweeping;
  }
}

/**
 * Creates the cache table when missing (unless `migrate: false`) and returns a CacheProvider named
 * "postgresql" that works the same on a Postgres server and on PGlite.
 *
 * Rows hold `prefix + key`, the value as bytea and `expires_at` by the database clock (so several
 * app servers agree on expiry); reads ignore expired rows and a background sweep deletes them in
 * bounded batches. Errors are IntegrationErrors: invalid input IN2xx, server errors IN405 (with
 * the SQLSTATE), an unreachable database IN500/IN501/IN502 as the SqlClient reports it, a closed
 * provider IN201.
 */
export async function createPostgresCache(opts: PostgresCacheOptions): Promise<PostgresCacheProvider> {
  if (!opts || typeof opts !== 'object' || !opts.sql || typeof opts.sql.query !== 'function') {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] createPostgresCache needs \`sql\`: a SqlClient from createSqlClient() of @fraiseql/postgres`,
    );
  }
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix.includes('\0')) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[${PROVIDER}] prefix must be a string without NUL characters`,
    );
  }
  const settings: Settings = {
    prefix,
    defaultTtlMs:
      opts.defaultTtlMs === undefined
        ? DEFAULT_TTL_MS
        : Math.min(assertTtl(opts.defaultTtlMs, 'defaultTtlMs'), MAX_TTL_MS),
    maxValueBytes: option(opts.maxValueBytes, 'maxValueBytes', DEFAULT_MAX_VALUE_BYTES, { integer: true }),
    pruneIntervalMs: option(opts.pruneIntervalMs, 'pruneIntervalMs', DEFAULT_PRUNE_INTERVAL_MS, {
      zero: true,
    }),
    pruneBatchSize: option(opts.pruneBatchSize, 'pruneBatchSize', DEFAULT_PRUNE_BATCH_SIZE, {
      integer: true,
    }),
    pruneMaxBatches: option(opts.pruneMaxBatches, 'pruneMaxBatches', DEFAULT_PRUNE_MAX_BATCHES, {
      integer: true,
    }),
    healthCheckTimeoutMs: option(
      opts.healthCheckTimeoutMs,
      'healthCheckTimeoutMs',
      DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
    ),
  };
  const { schema, table } = parseQualifiedName(opts.table ?? DEFAULT_TABLE, 'public', 'table');
  const t = cacheTable(schema, table);

  if (opts.migrate !== false) {
    try {
      await migrate(opts.sql, {
        schema,
        namespace: `cache-postgres/${table}`,
        steps: cacheMigrations(t, opts.unlogged !== false),
      });
      const found = await opts.sql.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [t.sql]);
      if (!found.rows[0]?.t) {
        throw IntegrationError.configuration(
          ErrorCode.InvalidConfiguration,
          `[${PROVIDER}] cache table ${t.display} is missing although its creation is recorded in ${schema}._fraiseql_migrations ` +
            `(was it dropped?). Delete the row with namespace 'cache-postgres/${table}' there to have it created again.`,
        );
      }
    } catch (err) {
      if (isIntegrationError(err) && err.kind === 'configuration') throw err;
      throw toIntegrationError(err, `creating cache table ${t.display} failed`);
    }
  }
  return new PostgresCache(opts.sql, t, settings, opts.onError);
}
