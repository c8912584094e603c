import { createHash } from 'node:crypto';
import { loadModule, parseSync } from 'libpg-query';

/** Why a statement was not served from the cache (the `reason` label of `_bypassed_total`). */
export type BypassReason =
  | 'write'
  | 'utility'
  | 'unparseable'
  | 'multi_statement'
  | 'too_large'
  | 'volatile'
  | 'locking'
  | 'system_catalog'
  | 'transaction'
  | 'params'
  | 'not_requested'
  | 'disabled';

/** What the parser made of one text. */
export interface Analysis {
  /** Cacheable read; otherwise `reason` says why not. */
  cacheable: boolean;
  reason?: BypassReason;
  /** Tables read, as `schema.table` (unqualified = `public`), sorted. */
  reads: string[];
  /** Tables written, as `schema.table`, sorted. */
  writes: string[];
  /** The statement may change anything (DDL, DO, CALL, unparseable, …): bump the global epoch. */
  writesAll: boolean;
  /** sha256 of the canonical form of the statement (its parse tree without positions), for the key. */
  canonical: string;
}

/**
 * Functions whose result differs between two calls with the same arguments (or that have side
 * effects). A read calling one of them is never cached. User-defined VOLATILE functions are not
 * known here: call such reads with `{ cache: false }` or use `mode: 'explicit'`.
 */
export const VOLATILE_FUNCTIONS = new Set([
  'now',
  'random',
  'random_normal',
  'setseed',
  'nextval',
  'currval',
  'lastval',
  'setval',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'gen_salt',
  'txid_current',
  'txid_current_if_assigned',
  'pg_current_xact_id',
  'pg_current_xact_id_if_assigned',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'pg_notify',
  'set_config',
  'current_setting',
  'pg_backend_pid',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_all',
  'pg_advisory_xact_lock',
  'pg_try_advisory_lock',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock_shared',
  'pg_advisory_xact_lock_shared',
  'pg_advisory_unlock_shared',
  'pg_stat_reset',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_logical_emit_message',
  'lo_import',
  'lo_export',
  'lo_create',
  'lo_unlink',
  'lo_from_bytea',
  'lo_put',
  'dblink',
  'dblink_exec',
  'inet_client_addr',
  'inet_client_port',
  'pg_postmaster_start_time',
  'pg_conf_load_time',
]);

/** Schemas whose contents change without any write through a client (catalogs, statistics). */
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** Utility statements that change no table (no invalidation, never cached). */
const HARMLESS_UTILITY = new Set([
  'VariableShowStmt',
  'VariableSetStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'TransactionStmt',
  'PrepareStmt',
  'DeallocateStmt',
  'CheckPointStmt',
  'DiscardStmt',
  'LockStmt',
]);

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

let ready: Promise<void> | undefined;

/** Loads the parser (WebAssembly) once per process. */
export function loadParser(): Promise<void> {
  ready ??= loadModule();
  return ready;
}

type Node = Record<string, unknown>;

interface Walk {
  reads: Set<string>;
  writes: Set<string>;
  writesAll: boolean;
  volatile: boolean;
  locking: boolean;
  system: boolean;
}

function qualified(rv: Node): string {
  const schema = typeof rv.schemaname === 'string' && rv.schemaname !== '' ? rv.schemaname : 'public';
  return `${schema}.${String(rv.relname)}`;
}

function isCte(rv: Node, scopes: Set<string>[]): boolean {
  if (typeof rv.schemaname === 'string' && rv.schemaname !== '') return false;
  const name = String(rv.relname);
  return scopes.some((s) => s.has(name));
}

function ctesOf(node: Node): Node[] {
  const wc = node.withClause as Node | undefined;
  const list = (wc?.ctes as Node[] | undefined) ?? [];
  return list.map((c) => (c as Node).CommonTableExpr as Node).filter(Boolean);
}

/** Walks any parse-tree value, collecting tables and flags; `scopes` holds the visible CTE names. */
function walk(value: unknown, w: Walk, scopes: Set<string>[]): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, w, scopes);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [type, inner] of Object.entries(value as Node)) {
    if (Array.isArray(inner)) {
      walk(inner, w, scopes);
      continue;
    }
    if (inner === null || typeof inner !== 'object') continue;
    const body = inner as Node;
    switch (type) {
      case 'RangeVar': {
        if (!isCte(body, scopes)) {
          const name = qualified(body);
          w.reads.add(name);
          const schema = name.slice(0, name.indexOf('.'));
          if (SYSTEM_SCHEMAS.has(schema) || String(body.relname).startsWith('pg_')) w.system = true;
        }
        continue;
      }
      case 'FuncCall': {
        const parts = ((body.funcname as Node[] | undefined) ?? []).map(
          (p) => (p.String as Node | undefined)?.sval,
        );
        const last = parts[parts.length - 1];
        if (typeof last === 'string' && VOLATILE_FUNCTIONS.has(last.toLowerCase())) w.volatile = true;
        break;
      }
      case 'SQLValueFunction':
        // CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIME, CURRENT_USER, …: time- or session-dependent.
        w.volatile = true;
        break;
      case 'SelectStmt':
        if (Array.isArray(body.lockingClause) && body.lockingClause.length > 0) w.locking = true;
        // SELECT … INTO creates a table.
        if (body.intoClause) w.writesAll = true;
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt': {
        // The target is a bare RangeVar body (not wrapped), so it is not also counted as a read.
        const rv = body.relation as Node | undefined;
        if (rv && typeof rv.relname === 'string') w.writes.add(qualified(rv));
        break;
      }
      case 'TruncateStmt':
        for (const r of (body.relations as Node[] | undefined) ?? []) {
          const rv = r.RangeVar as Node | undefined;
          if (rv) w.writes.add(qualified(rv));
        }
        break;
      default:
        break;
    }
    const ctes = ctesOf(body);
    // A CTE name hides a table of the same name in this statement and below.
    walk(body, w, ctes.length > 0 ? [...scopes, new Set(ctes.map((c) => String(c.ctename)))] : scopes);
  }
}

function stripLocations(key: string, value: unknown): unknown {
  return key === 'location' || key === 'stmt_location' || key === 'stmt_len' ? undefined : value;
}

/** Parses `text` and classifies it. Throws nothing: what cannot be parsed is `unparseable`. */
export function analyze(text: string, maxSqlLength: number): Analysis {
  const none: Analysis = { cacheable: false, reads: [], writes: [], writesAll: true, canonical: '' };
  if (text.length > maxSqlLength) return { ...none, reason: 'too_large' };
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = parseSync(text) as typeof tree;
  } catch {
    return { ...none, reason: 'unparseable' };
  }
  const stmts = (tree.stmts ?? []).map((s) => s.stmt ?? {});
  const w: Walk = {
    reads: new Set(),
    writes: new Set(),
    writesAll: false,
    volatile: false,
    locking: false,
    system: false,
  };
  let utility = false;
  for (const stmt of stmts) {
    const type = Object.keys(stmt)[0] ?? '';
    if (type !== 'SelectStmt' && !DML.has(type) && type !== 'TruncateStmt') {
      utility = true;
      if (!HARMLESS_UTILITY.has(type)) w.writesAll = true;
      continue;
    }
    walk(stmt, w, []);
  }
  const reads = [...w.reads].sort();
  const writes = [...w.writes].sort();
  const base = { reads, writes, writesAll: w.writesAll, canonical: '' };
  if (stmts.length !== 1)
    return { ...base, cacheable: false, reason: stmts.length === 0 ? 'utility' : 'multi_statement' };
  if (utility) return { ...base, cacheable: false, reason: 'utility' };
  // A data-modifying CTE lands here too: its DML target is in `writes`.
  if (writes.length > 0 || w.writesAll) return { ...base, cacheable: false, reason: 'write' };
  if (w.locking) return { ...base, cacheable: false, reason: 'locking' };
  if (w.volatile) return { ...base, cacheable: false, reason: 'volatile' };
  if (w.system) return { ...base, cacheable: false, reason: 'system_catalog' };
  return {
    ...base,
    cacheable: true,
    canonical: createHash('sha256').update(JSON.stringify(stmts[0], stripLocations)).digest('base64url'),
  };
}
