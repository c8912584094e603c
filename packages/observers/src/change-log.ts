import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { parseQualifiedName, qualifiedName, quoteIdent, type SqlExecutor } from '@fraiseql/postgres';

/** The seed's change-log table name. */
export const DEFAULT_CHANGE_LOG = 'tb_entity_change_log';

/** NOTIFY channel of a change log: the runtime LISTENs here; statement-level, so a bulk insert wakes it once. */
export function changeLogChannel(changeLog: string): string {
  const { schema, table } = parseQualifiedName(changeLog, 'public', 'changeLog');
  return `fraiseql_changes:${schema}.${table}`.slice(0, 63);
}

function names(changeLog = DEFAULT_CHANGE_LOG) {
  const { schema, table } = parseQualifiedName(changeLog, 'public', 'changeLog');
  return { schema, table, qualified: qualifiedName(schema, table), channel: changeLogChannel(changeLog) };
}

/**
 * Creates the seed's `tb_entity_change_log` when missing, plus what the runtime needs to read it
 * without gaps: a `txid xid8` column defaulting to the writing transaction's id (so the seed's
 * four-column INSERT still works) and a statement-level trigger that NOTIFYs the runtime.
 * Idempotent; safe on a table created by hand from the seed's DDL.
 */
export async function ensureChangeLog(sql: SqlExecutor, opts: { table?: string } = {}): Promise<void> {
  const n = names(opts.table);
  const fn = qualifiedName(n.schema, `${n.table}_notify`.slice(0, 63));
  await sql.exec(`
    CREATE SCHEMA IF NOT EXISTS ${quoteIdent(n.schema)};
    CREATE TABLE IF NOT EXISTS ${n.qualified} (
      id bigserial PRIMARY KEY,
      object_type text NOT NULL,
      object_id text NOT NULL,
      modification_type text NOT NULL,
      object_data jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE ${n.qualified} ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();
    CREATE INDEX IF NOT EXISTS ${quoteIdent(`${n.table}_txid_idx`.slice(0, 63))} ON ${n.qualified} (txid);
    CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_notify(${literal(n.channel)}, '');
      RETURN NULL;
    END
    $fn$;
    DROP TRIGGER IF EXISTS fraiseql_notify ON ${n.qualified};
    CREATE TRIGGER fraiseql_notify AFTER INSERT ON ${n.qualified}
      FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
  `);
}

/** A string constant for DDL; the channel is built from validated identifiers, this is belt and braces. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const CAPTURE_FUNCTION = 'fraiseql_capture_change';

function captureTrigger(changeLogTable: string): string {
  return `fraiseql_capture_${changeLogTable}`.slice(0, 63);
}

export interface ChangeCaptureOptions {
  /** The user table, `"table"` or `"schema.table"`. */
  table: string;
  /** `object_type` written to the change log, e.g. `'Order'`. */
  entity: string;
  /** Column holding the row's id (`object_id`). Default `'id'`. */
  idColumn?: string;
  /** Default `'tb_entity_change_log'`. */
  changeLog?: string;
}

/**
 * Puts an AFTER INSERT/UPDATE/DELETE row trigger on `table` that writes the new row (the old one
 * on DELETE) to the change log, in the same transaction as the change. Creates the change log
 * when missing. Identifiers are validated and quoted; the entity is passed as a trigger argument,
 * never spliced into code.
 */
export async function installChangeCapture(sql: SqlExecutor, opts: ChangeCaptureOptions): Promise<void> {
  if (
    typeof opts?.entity !== 'string' ||
    opts.entity.length === 0 ||
    opts.entity.length > 255 ||
    opts.entity.includes('\0')
  )
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `[observers] installChangeCapture: entity must be a non-empty string of at most 255 characters, got ${JSON.stringify(opts?.entity)}`,
      { field: 'entity' },
    );
  const user = parseQualifiedName(String(opts.table), 'public', 'table');
  const idColumn = opts.idColumn ?? 'id';
  quoteIdent(idColumn, 'idColumn');
  const log = names(opts.changeLog);
  await ensureChangeLog(sql, { table: opts.changeLog });
  const fn = qualifiedName(log.schema, CAPTURE_FUNCTION);
  await sql.exec(`
    CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      rec jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    BEGIN
      EXECUTE format('INSERT INTO %I.%I (object_type, object_id, modification_type, object_data) VALUES ($1, $2, $3, $4)',
                     TG_ARGV[2], TG_ARGV[3])
        USING TG_ARGV[0], coalesce(rec ->> TG_ARGV[1], ''), TG_OP, rec;
      RETURN NULL;
    END
    $fn$;
    DROP TRIGGER IF EXISTS ${quoteIdent(captureTrigger(log.table))} ON ${qualifiedName(user.schema, user.table)};
    CREATE TRIGGER ${quoteIdent(captureTrigger(log.table))}
      AFTER INSERT OR UPDATE OR DELETE ON ${qualifiedName(user.schema, user.table)}
      FOR EACH ROW EXECUTE FUNCTION ${fn}(${[opts.entity, idColumn, log.schema, log.table].map(literal).join(', ')});
  `);
}

/** Drops the capture trigger `installChangeCapture` put on `table`. Idempotent. */
export async function removeChangeCapture(
  sql: SqlExecutor,
  opts: { table: string; changeLog?: string },
): Promise<void> {
  const user = parseQualifiedName(String(opts?.table), 'public', 'table');
  const log = names(opts.changeLog);
  await sql.exec(
    `DROP TRIGGER IF EXISTS ${quoteIdent(captureTrigger(log.table))} ON ${qualifiedName(user.schema, user.table)}`,
  );
}
