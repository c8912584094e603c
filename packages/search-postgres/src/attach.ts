import { assertIndexName, ErrorCode, IntegrationError } from '@fraiseql/core';
import {
  assertIdentifier,
  isUniqueViolation,
  parseQualifiedName,
  qualifiedName,
  quoteIdent,
  type SqlExecutor,
} from '@fraiseql/postgres';
import { CATALOG_TABLE, fitIdent, regconfigLiteral } from './names.ts';
import type { AttachedIndexConfig, AttachedTableOptions, CatalogRow, Weight } from './types.ts';

const WEIGHT_VALUES = new Set<Weight>(['A', 'B', 'C', 'D']);
const DATE_TYPES = new Set(['date', 'timestamp without time zone', 'timestamp with time zone']);
const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function config(message: string, field: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, `search-postgres tables: ${message}`, {
    field,
  });
}

/** The validated, resolved form of one `tables` entry (before looking at the database). */
export interface AttachPlan {
  key: string;
  index: string;
  schema: string;
  table: string;
  columns: string[];
  weights: Record<string, Weight>;
  language?: string;
  idColumn?: string;
  searchColumn: string;
  filterable: string[] | null;
  sortable: string[] | null;
}

function columnList(value: unknown, what: string, key: string, required: boolean): string[] | undefined {
  if (value === undefined && !required) return undefined;
  if (!Array.isArray(value) || (required && value.length === 0)) {
    throw config(`"${key}".${what} must be ${required ? 'a non-empty' : 'an'} array of column names`, what);
  }
  for (const c of value) assertIdentifier(c, `tables."${key}".${what} column`);
  return [...new Set(value as string[])];
}

/** Checks one `tables` entry (names only; IN002 for anything wrong). */
export function planAttach(key: string, opts: AttachedTableOptions): AttachPlan {
  if (!opts || typeof opts !== 'object') throw config(`"${key}" must be an object`, 'tables');
  const { schema, table } = parseQualifiedName(key, 'public', 'table');
  const index = opts.index ?? table;
  try {
    assertIndexName(index);
  } catch {
    throw config(`"${key}": ${JSON.stringify(index)} is not a valid index name (set "index")`, 'index');
  }
  const columns = columnList(opts.columns, 'columns', key, true)!;
  const weights: Record<string, Weight> = {};
  for (const [col, w] of Object.entries(opts.weights ?? {})) {
    if (!columns.includes(col))
      throw config(`"${key}".weights names "${col}", which is not in columns`, 'weights');
    if (!WEIGHT_VALUES.has(w)) throw config(`"${key}".weights.${col} must be A, B, C or D`, 'weights');
    weights[col] = w;
  }
  if (opts.idColumn !== undefined) assertIdentifier(opts.idColumn, `tables."${key}".idColumn`);
  const searchColumn = opts.searchColumn ?? fitIdent(table, '_search');
  assertIdentifier(searchColumn, `tables."${key}".searchColumn`);
  if (columns.includes(searchColumn))
    throw config(`"${key}": the search column cannot be one of columns`, 'columns');
  const filterable = columnList(opts.filterable, 'filterable', key, false) ?? null;
  const sortable = columnList(opts.sortable, 'sortable', key, false) ?? null;
  return {
    key,
    index,
    schema,
    table,
    columns,
    weights,
    ...(opts.language !== undefined ? { language: opts.language } : {}),
    ...(opts.idColumn !== undefined ? { idColumn: opts.idColumn } : {}),
    searchColumn,
    filterable,
    sortable,
  };
}

/** The weighted tsvector of a row; `ref(column)` is how the row's column is written (`NEW."c"`, `"c"`). */
function tsvExpression(plan: AttachPlan, language: string, ref: (column: string) => string): string {
  const cfg = regconfigLiteral(language);
  return plan.columns
    .map(
      (c) => `setweight(to_tsvector(${cfg}, COALESCE((${ref(c)})::text, '')), '${plan.weights[c] ?? 'D'}')`,
    )
    .join(' || ');
}

interface ColumnInfo {
  name: string;
  type: string;
}

/**
 * Attaches full-text search to an existing table, idempotently (safe at every start, and from
 * several processes at once — the caller holds an advisory lock): adds the tsvector column when
 * missing, (re)creates the trigger function and the trigger, creates the GIN index, records the
 * table in the catalog, and fills the column for the rows already there when the table is new
 * to the catalog or its columns/weights/language changed.
 */
export async function attachTable(
  tx: SqlExecutor,
  catalogSchema: string,
  plan: AttachPlan,
  language: string,
): Promise<void> {
  const table = qualifiedName(plan.schema, plan.table);
  const found = await tx.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
  if (!found.rows[0]?.oid) throw config(`table ${plan.schema}.${plan.table} does not exist`, 'tables');

  const cols = await tx.query<ColumnInfo>(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [table],
  );
  const byName = new Map(cols.rows.map((c) => [c.name, c]));
  for (const c of [...plan.columns, ...(plan.filterable ?? []), ...(plan.sortable ?? [])]) {
    if (!byName.has(c))
      throw config(`"${plan.key}": column "${c}" does not exist in ${plan.table}`, 'columns');
  }
  let idColumn = plan.idColumn;
  if (idColumn === undefined) {
    const pk = await tx.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [table],
    );
    idColumn = pk.rows.length === 1 ? pk.rows[0]!.name : 'id';
  }
  if (!byName.has(idColumn) || !PLAIN.test(idColumn)) {
    throw config(`"${plan.key}": no id column (set idColumn to a column that identifies a row)`, 'idColumn');
  }
  const existing = byName.get(plan.searchColumn);
  if (existing && existing.type !== 'tsvector') {
    throw config(`"${plan.key}": column "${plan.searchColumn}" exists and is not a tsvector`, 'searchColumn');
  }
  // Only plain names can be written as JSON keys safely; other date columns stay ISO strings.
  const dateColumns = cols.rows
    .filter((c) => DATE_TYPES.has(c.type) && PLAIN.test(c.name) && c.name !== plan.searchColumn)
    .map((c) => c.name);

  const sc = quoteIdent(plan.searchColumn);
  const fn = qualifiedName(plan.schema, fitIdent(plan.table, '_search_trigger'));
  const trigger = quoteIdent(fitIdent(plan.table, '_search_update'));
  await tx.exec(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${sc} tsvector`);
  await tx.exec(
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fraiseql$
     BEGIN
       NEW.${sc} := ${tsvExpression(plan, language, (c) => `NEW.${quoteIdent(c)}`)};
       RETURN NEW;
     END
     $fraiseql$`,
  );
  // UPDATE OF the searched columns only: other updates keep the tsvector, which cannot have changed.
  await tx.exec(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
  await tx.exec(
    `CREATE TRIGGER ${trigger} BEFORE INSERT OR UPDATE OF ${plan.columns.map((c) => quoteIdent(c)).join(', ')}
       ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  );
  await tx.exec(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(fitIdent(`idx_${plan.table}`, '_search'))} ON ${table} USING gin (${sc})`,
  );

  const stored: AttachedIndexConfig = {
    kind: 'attached',
    schema: plan.schema,
    table: plan.table,
    idColumn,
    searchColumn: plan.searchColumn,
    columns: plan.columns,
    weights: plan.weights,
    filterable: plan.filterable,
    sortable: plan.sortable,
    dateColumns,
  };
  const catalog = qualifiedName(catalogSchema, CATALOG_TABLE);
  const prev = await tx.query<CatalogRow>(`SELECT * FROM ${catalog} WHERE name = $1`, [plan.index]);
  const row = prev.rows[0];
  if (row && row.kind !== 'attached') {
    throw config(
      `"${plan.key}": the index name "${plan.index}" is already a managed index (set "index")`,
      'index',
    );
  }
  const old = row?.config as AttachedIndexConfig | undefined;
  const unchanged =
    row !== undefined &&
    old !== undefined &&
    row.language === language &&
    old.schema === plan.schema &&
    old.table === plan.table &&
    old.searchColumn === plan.searchColumn &&
    JSON.stringify(old.columns) === JSON.stringify(plan.columns) &&
    JSON.stringify(old.weights) === JSON.stringify(plan.weights);
  if (!unchanged) {
    await tx.exec(`UPDATE ${table} SET ${sc} = ${tsvExpression(plan, language, (c) => quoteIdent(c))}`);
  }
  try {
    await tx.query(
      `INSERT INTO ${catalog} (name, table_name, kind, language, config) VALUES ($1, $2, 'attached', $3, $4::jsonb)
       ON CONFLICT (name) DO UPDATE SET table_name = EXCLUDED.table_name, language = EXCLUDED.language,
         config = EXCLUDED.config, updated_at = now()`,
      [plan.index, `${plan.schema}.${plan.table}`, language, JSON.stringify(stored)],
    );
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw config(
        `"${plan.key}": ${plan.schema}.${plan.table} is already attached under another index name`,
        'tables',
      );
    }
    throw err;
  }
}

/** The row of an attached table as the document hits return and filters see: dates as epoch ms, no tsvector. */
export function attachedDocExpression(cfg: AttachedIndexConfig, alias: string): string {
  // Catalog values passed these checks when attached; checked again as they are pasted into SQL.
  assertIdentifier(cfg.searchColumn, 'searchColumn');
  let doc = `(to_jsonb(${alias}.*) - '${cfg.searchColumn}')`;
  // jsonb_build_object takes at most 100 arguments: 50 columns per call.
  for (let i = 0; i < cfg.dateColumns.length; i += 50) {
    const pairs = cfg.dateColumns
      .slice(i, i + 50)
      .map((c) => {
        const col = `${alias}.${quoteIdent(c)}`; // validates c: a plain identifier, safe as a literal
        return `'${c}', CASE WHEN isfinite(${col}) THEN round(extract(epoch FROM ${col}) * 1000) END`;
      })
      .join(', ');
    doc = `(${doc} || jsonb_build_object(${pairs}))`;
  }
  return doc;
}
