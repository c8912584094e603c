import type { CacheProvider } from '@fraiseql/core';
import {
  type ListenOptions,
  parseQualifiedName,
  type QueryOptions,
  type QueryResult,
  quoteIdent,
  type SqlClient,
  type SqlExecutor,
  type Unlisten,
} from '@fraiseql/postgres';
import { Counter, type Registry } from 'prom-client';
import { type Analysis, analyze, type BypassReason, loadParser } from './analyze';
import { cacheKey, decodeResult, encodeResult, UnsupportedParam } from './codec';

/** Options of {@link createQueryCache}. */
export interface QueryCacheOptions {
  /** The storage: a `@fraiseql/postgres` SqlClient (pg server or PGlite). Required. */
  sql: SqlClient;
  /** Where results and table versions live: any `@fraiseql/core` CacheProvider. Required. */
  cache: CacheProvider;
  /** TTL of a cached result when the call gives no `ttlMs`. Default 3_600_000 (1 hour). */
  defaultTtlMs?: number;
  /** `'all'`: every cacheable read (opt out with `{ cache: false }`); `'explicit'`: only reads called with `{ cache: true }`. Default `'all'`. */
  mode?: 'all' | 'explicit';
  /**
   * `'writes'`: writes through this client invalidate the tables they touch. `'database'`: also
   * writes from any other client/process, through the triggers {@link QueryCache.installInvalidation}
   * puts on tables (NOTIFY on {@link QueryCacheOptions.channel}). Default `'writes'`.
   */
  invalidation?: 'writes' | 'database';
  /** Prepended to every key this cache writes (results and versions). Default `'fraiseql:qc:'`. */
  prefix?: string;
  /** prom-client registry for the `fraiseql_query_cache_*` metrics. Default none (not exported). */
  registry?: Registry;
  /** NOTIFY channel of the invalidation triggers ('database' mode); a plain identifier. Default `'fraiseql_qc'`. */
  channel?: string;
  /**
   * How long a table version read from the cache is trusted in process before it is read again
   * (writes through this client and notifications update it at once). Bounds how long a write by
   * another process sharing the cache (in 'writes' mode) can go unseen. Default 1000.
   */
  versionMaxAgeMs?: number;
  /** After a cache error, skip the cache (read from storage, count `fallbacks`) for this long. Default 1000. */
  cacheRetryMs?: number;
  /** SQL longer than this (characters) is not parsed: bypassed, and treated as a write of everything. Default 262_144. */
  maxSqlLength?: number;
  /** Results whose serialized form is larger (bytes) are not stored. Default 1_048_576. */
  maxEntryBytes?: number;
}

/** Per-call options: the SqlClient's plus the cache's. */
export type CachedQueryOptions = QueryOptions & {
  /** TTL of this result when stored. Default `defaultTtlMs`. */
  ttlMs?: number;
  /** `false` never caches this call; `true` is required in `mode: 'explicit'`. Default: follows `mode`. */
  cache?: boolean;
};

/** Counters of one QueryCache since it was created. */
export interface QueryCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  fallbacks: number;
  bypassed: number;
}

/** A drop-in SqlClient whose reads are served from a cache, invalidated per table. */
export interface QueryCache extends SqlClient {
  query<R = Record<string, any>>(
    text: string,
    params?: readonly unknown[],
    opts?: CachedQueryOptions,
  ): Promise<QueryResult<R>>;
  /** Invalidates every cached read of these tables (`table` = `public.table`, or `schema.table`). */
  invalidateTables(tables: string[]): Promise<void>;
  /** Puts the NOTIFY trigger on these tables (idempotent); writes by anyone then invalidate ('database' mode). */
  installInvalidation(tables: string[]): Promise<void>;
  stats(): QueryCacheStats;
}

const GLOBAL = '*';
/** Versions below this were just created by an `incr` on a missing key: re-seeded from the clock. */
const SEEDED = 1e12;
const ANALYSIS_MEMO = 2000;
const MEMO_MAX_TEXT = 16_384;

function counter(registry: Registry | undefined, name: string, help: string, labelNames: string[] = []) {
  const existing = registry?.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: registry ? [registry] : [] });
}

/** Creates a {@link QueryCache} over `opts.sql`. In 'database' mode it starts LISTENing first. */
export async function createQueryCache(opts: QueryCacheOptions): Promise<QueryCache> {
  await loadParser();
  const { sql, cache } = opts;
  const defaultTtlMs = opts.defaultTtlMs ?? 3_600_000;
  const mode = opts.mode ?? 'all';
  const invalidation = opts.invalidation ?? 'writes';
  const prefix = opts.prefix ?? 'fraiseql:qc:';
  const channel = opts.channel ?? 'fraiseql_qc';
  quoteIdent(channel, 'channel');
  const versionMaxAgeMs = opts.versionMaxAgeMs ?? 1000;
  const cacheRetryMs = opts.cacheRetryMs ?? 1000;
  const maxSqlLength = opts.maxSqlLength ?? 262_144;
  const maxEntryBytes = opts.maxEntryBytes ?? 1_048_576;

  const m = {
    hits: counter(opts.registry, 'fraiseql_query_cache_hits_total', 'Reads answered from the query cache'),
    misses: counter(
      opts.registry,
      'fraiseql_query_cache_misses_total',
      'Cacheable reads answered from storage',
    ),
    invalidations: counter(
      opts.registry,
      'fraiseql_query_cache_invalidations_total',
      'Table versions bumped (table "*" = everything)',
      ['table'],
    ),
    fallbacks: counter(
      opts.registry,
      'fraiseql_query_cache_fallbacks_total',
      'Queries answered from storage because the cache failed',
    ),
    bypassed: counter(
      opts.registry,
      'fraiseql_query_cache_bypassed_total',
      'Statements not eligible for caching',
      ['reason'],
    ),
  };
  const stats: QueryCacheStats = { hits: 0, misses: 0, invalidations: 0, fallbacks: 0, bypassed: 0 };

  const memo = new Map<string, Analysis>();
  function analysisOf(text: string): Analysis {
    const hit = memo.get(text);
    if (hit) return hit;
    const a = analyze(text, maxSqlLength);
    if (text.length <= MEMO_MAX_TEXT) {
      if (memo.size >= ANALYSIS_MEMO) memo.delete(memo.keys().next().value as string);
      memo.set(text, a);
    }
    return a;
  }

  // --- cache health ------------------------------------------------------------------------
  let cacheDownUntil = 0;
  const cacheUsable = () => cacheDownUntil === 0 || Date.now() >= cacheDownUntil;
  const cacheFailed = () => {
    cacheDownUntil = Date.now() + cacheRetryMs;
  };

  // --- table versions ----------------------------------------------------------------------
  const versionKey = (table: string) => `${prefix}v:${table}`;
  const local = new Map<string, { v: number; at: number }>();
  /** Bumps not yet applied to the cache (it was failing): retried before the next cached read. */
  const pending = new Set<string>();

  const remember = (table: string, v: number) => {
    const cur = local.get(table);
    local.set(table, { v: cur && cur.v > v ? cur.v : v, at: Date.now() });
  };
  const seed = async (table: string, v: number) =>
    v < SEEDED ? await cache.incr(versionKey(table), Date.now() * 1000) : v;

  async function bumpInCache(table: string): Promise<number> {
    return seed(table, await cache.incr(versionKey(table), 1));
  }

  /** Bumps `tables` (a write happened); never throws — a failed bump is remembered and retried. */
  async function bump(tables: Iterable<string>): Promise<void> {
    const list = [...new Set(tables)];
    await Promise.all(
      list.map(async (t) => {
        stats.invalidations++;
        m.invalidations.inc({ table: t });
        if (cacheUsable()) {
          try {
            remember(t, await bumpInCache(t));
            pending.delete(t);
            return;
          } catch {
            cacheFailed();
          }
        }
        // The cache is failing: a version of this process only, so none of its reads can match an
        // entry written before the write; the cache is bumped once it answers again.
        const cur = local.get(t)?.v ?? 0;
        local.set(t, { v: Math.max(cur + 1, Date.now() * 1000), at: Date.now() });
        pending.add(t);
      }),
    );
  }

  async function flushPending(): Promise<void> {
    for (const t of [...pending]) {
      remember(t, await bumpInCache(t));
      pending.delete(t);
    }
  }

  /** Versions of `tables` (and the global epoch), read from the cache when older than `versionMaxAgeMs`. */
  async function versionsOf(tables: readonly string[]): Promise<number[]> {
    if (pending.size > 0) await flushPending();
    const all = [GLOBAL, ...tables];
    const now = Date.now();
    const stale = all.filter((t) => {
      const e = local.get(t);
      return !e || now - e.at > versionMaxAgeMs;
    });
    if (stale.length > 0) {
      await Promise.all(
        stale.map(async (t) => {
          const bytes = await cache.get(versionKey(t));
          const v = bytes === null ? Number.NaN : Number(Buffer.from(bytes).toString('utf8'));
          remember(
            t,
            Number.isSafeInteger(v) && v >= SEEDED ? v : await seed(t, await cache.incr(versionKey(t), 0)),
          );
        }),
      );
    }
    return all.map((t) => local.get(t)?.v ?? 0);
  }

  // --- statements --------------------------------------------------------------------------
  function bypass(reason: BypassReason): void {
    stats.bypassed++;
    m.bypassed.inc({ reason });
  }

  /** Invalidation owed by a statement that ran (successfully). */
  function touched(a: Analysis): string[] {
    if (a.writesAll) return [GLOBAL];
    return a.writes;
  }

  const inflight = new Map<string, Promise<QueryResult<unknown>>>();

  async function cachedRead<R>(
    a: Analysis,
    text: string,
    params: readonly unknown[],
    qopts: CachedQueryOptions | undefined,
  ): Promise<QueryResult<R>> {
    const storageOpts: QueryOptions | undefined = qopts?.prepare ? { prepare: true } : undefined;
    const fromStorage = () => sql.query<R>(text, params, storageOpts);
    if (!cacheUsable()) {
      stats.fallbacks++;
      m.fallbacks.inc();
      return fromStorage();
    }
    let key: string;
    try {
      key = `${prefix}r:${cacheKey(a.canonical, params)}`;
    } catch (err) {
      if (err instanceof UnsupportedParam) {
        bypass('params');
        return fromStorage();
      }
      throw err;
    }
    let bytes: Uint8Array | null;
    try {
      const versions = await versionsOf(a.reads);
      key = `${key}:${versions.join('.')}`;
      bytes = await cache.get(key);
      if (bytes !== null) {
        const result = decodeResult<R>(bytes);
        stats.hits++;
        m.hits.inc();
        return result;
      }
    } catch {
      cacheFailed();
      stats.fallbacks++;
      m.fallbacks.inc();
      return fromStorage();
    }
    stats.misses++;
    m.misses.inc();
    const running = inflight.get(key) as Promise<QueryResult<R>> | undefined;
    if (running) return running;
    const load = (async () => {
      const result = await fromStorage();
      const encoded = encodeResult(result as QueryResult<unknown>);
      if (Buffer.byteLength(encoded) <= maxEntryBytes) {
        const ttl = qopts?.ttlMs ?? defaultTtlMs;
        try {
          await cache.set(key, encoded, ttl);
        } catch {
          cacheFailed();
          stats.fallbacks++;
          m.fallbacks.inc();
        }
      }
      return result;
    })();
    inflight.set(key, load as Promise<QueryResult<unknown>>);
    try {
      return await load;
    } finally {
      inflight.delete(key);
    }
  }

  async function query<R = Record<string, any>>(
    text: string,
    params: readonly unknown[] = [],
    qopts?: CachedQueryOptions,
  ): Promise<QueryResult<R>> {
    const storageOpts: QueryOptions | undefined = qopts?.prepare ? { prepare: true } : undefined;
    if (typeof text !== 'string' || !Array.isArray(params)) {
      // Let the storage reject what it cannot run; never analyzed, never cached.
      bypass('params');
      return sql.query<R>(text, params, storageOpts);
    }
    const a = analysisOf(text);
    if (!a.cacheable) {
      bypass(a.reason ?? 'utility');
      const owed = touched(a);
      if (owed.length === 0) return sql.query<R>(text, params, storageOpts);
      try {
        const result = await sql.query<R>(text, params, storageOpts);
        await bump(owed);
        return result;
      } catch (err) {
        // A lost connection leaves the outcome unknown: invalidate as if it had committed.
        const code = (err as { code?: string }).code;
        if (code === 'IN500' || code === 'IN501' || code === 'IN502') await bump(owed);
        throw err;
      }
    }
    if (qopts?.cache === false) {
      bypass('disabled');
      return sql.query<R>(text, params, storageOpts);
    }
    if (mode === 'explicit' && qopts?.cache !== true) {
      bypass('not_requested');
      return sql.query<R>(text, params, storageOpts);
    }
    return cachedRead<R>(a, text, params, qopts);
  }

  async function exec(script: string): Promise<void> {
    const a = analysisOf(script);
    const owed = touched(a);
    bypass(a.cacheable ? 'utility' : (a.reason ?? 'utility'));
    try {
      await sql.exec(script);
    } finally {
      // A script may have partly run before failing: invalidate what it could have written.
      if (owed.length > 0) await bump(owed);
    }
  }

  async function transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const owed = new Set<string>();
    const result = await sql.transaction(async (tx) => {
      const wrapped: SqlExecutor = {
        kind: tx.kind,
        query: async <R>(text: string, params?: readonly unknown[], qopts?: QueryOptions) => {
          const a = analysisOf(text);
          bypass(a.cacheable ? 'transaction' : (a.reason ?? 'utility'));
          for (const t of touched(a)) owed.add(t);
          return tx.query<R>(text, params, qopts?.prepare ? { prepare: true } : undefined);
        },
        exec: async (script: string) => {
          const a = analysisOf(script);
          bypass('transaction');
          for (const t of touched(a)) owed.add(t);
          return tx.exec(script);
        },
      };
      return fn(wrapped);
    });
    // After COMMIT only: a rollback (fn threw) never gets here.
    if (owed.size > 0) await bump(owed);
    return result;
  }

  function normalizeTable(name: string): string {
    const { schema, table } = parseQualifiedName(name, 'public', 'table');
    return `${schema}.${table}`;
  }

  async function invalidateTables(tables: string[]): Promise<void> {
    await bump(tables.map(normalizeTable));
  }

  async function installInvalidation(tables: string[]): Promise<void> {
    const parsed = tables.map((t) => parseQualifiedName(t, 'public', 'table'));
    const fnBody = `BEGIN PERFORM pg_notify('${channel}', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME); RETURN NULL; END`;
    await sql.transaction(async (tx) => {
      // Concurrent installs would collide on CREATE OR REPLACE FUNCTION ("tuple concurrently updated").
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('fraiseql_query_cache_install'))`);
      for (const { schema, table } of parsed) {
        const s = quoteIdent(schema, 'schema');
        const t = quoteIdent(table, 'table');
        await tx.exec(
          `CREATE OR REPLACE FUNCTION ${s}.fraiseql_qc_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$ ${fnBody} $fn$;
           DROP TRIGGER IF EXISTS fraiseql_qc_notify ON ${s}.${t};
           CREATE TRIGGER fraiseql_qc_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${s}.${t}
             FOR EACH STATEMENT EXECUTE FUNCTION ${s}.fraiseql_qc_notify();`,
        );
      }
    });
  }

  let unlisten: Unlisten | undefined;
  if (invalidation === 'database') {
    unlisten = await sql.listen(
      channel,
      (payload) => {
        if (/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/.test(payload)) void bump([payload]);
      },
      {
        // Notifications sent while the connection was down are lost: invalidate everything.
        onReconnect: () => void bump([GLOBAL]),
      } satisfies ListenOptions,
    );
  }

  const qc: QueryCache = {
    get kind() {
      return sql.kind;
    },
    get closed() {
      return sql.closed;
    },
    query,
    exec,
    transaction,
    listen: (ch, onPayload, lopts) => sql.listen(ch, onPayload, lopts),
    notify: (ch, payload) => sql.notify(ch, payload),
    healthCheck: (timeoutMs) => sql.healthCheck(timeoutMs),
    close: async () => {
      if (unlisten) await unlisten().catch(() => undefined);
      unlisten = undefined;
      await sql.close();
    },
    invalidateTables,
    installInvalidation,
    stats: () => ({ ...stats }),
  };
  return qc;
}
