import { qualifiedName, quoteIdent, type SqlExecutor } from '@fraiseql/postgres';
import { postgresJsonPath, postgresSortKeys } from './filter.ts';
import { fitIdent, regconfigLiteral, shortHash } from './names.ts';
import type { ManagedIndexConfig, Weight } from './types.ts';

const WEIGHTS: readonly Weight[] = ['A', 'B', 'C', 'D'];

// Strings and numbers are searchable (engines index numbers as text too); object keys are not.
const SEARCHABLE_JSON = `'["string", "numeric"]'`;

/**
 * The generated tsvector of a managed index: the searchable fields in order of importance, the
 * first weighted A, the second B, the third C, the rest D (like Meilisearch's ranking by
 * attribute order). `jsonb_to_tsvector` reads strings and numbers at any depth, so an array of
 * tags or a nested object is searchable too. `null` searchable (never configured) = the whole document.
 */
export function managedTsvExpression(searchable: string[] | null, language: string): string {
  const cfg = regconfigLiteral(language);
  const part = (json: string) =>
    `COALESCE(jsonb_to_tsvector(${cfg}, ${json}, ${SEARCHABLE_JSON}), ''::tsvector)`;
  if (searchable === null) return part('doc');
  return searchable
    .map((field, i) => `setweight(${part(postgresJsonPath('doc', field))}, '${WEIGHTS[Math.min(i, 3)]}')`)
    .join(' || ');
}

export function sortIndexName(table: string, field: string, direction: 'asc' | 'desc' = 'asc'): string {
  return fitIdent(table, `_sort${direction === 'desc' ? 'd' : ''}_${shortHash(field, 8)}`);
}

/**
 * Two btrees per sortable field over exactly the ORDER BY keys the provider emits (numeric key,
 * text key, id), so a page sorted on that field reads an index instead of sorting every match.
 * Both directions: missing values sort last either way and the id tie-breaker is always
 * ascending, so a backward scan of the ascending index cannot serve a descending sort
 * (`DESC NULLS LAST, id ASC`) — without the second index that sort reads and sorts every match.
 */
async function createSortIndex(tx: SqlExecutor, schema: string, table: string, field: string): Promise<void> {
  const [num, text] = postgresSortKeys('doc', field);
  const t = qualifiedName(schema, table);
  await tx.exec(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(sortIndexName(table, field))} ON ${t} (${num}, ${text}, id)`,
  );
  await tx.exec(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(sortIndexName(table, field, 'desc'))} ON ${t} (${num} DESC NULLS LAST, ${text} DESC NULLS LAST, id)`,
  );
}

/**
 * Creates the table of a managed index with its indexes (idempotent: IF NOT EXISTS everywhere).
 * `withIndexes: false` leaves the GIN and sort indexes to {@link createManagedIndexes} — a reindex
 * fills the table first and builds them once, which is several times faster than maintaining them
 * row by row.
 */
export async function createManagedTable(
  tx: SqlExecutor,
  schema: string,
  table: string,
  config: ManagedIndexConfig,
  language: string,
  withIndexes = true,
): Promise<void> {
  const t = qualifiedName(schema, table);
  // id in "C" collation: byte order is the stable tie-breaker of every page, the same everywhere.
  await tx.exec(
    `CREATE TABLE IF NOT EXISTS ${t} (
      id text COLLATE "C" PRIMARY KEY,
      doc jsonb NOT NULL,
      tsv tsvector GENERATED ALWAYS AS (${managedTsvExpression(config.searchable, language)}) STORED,
      indexed_at timestamptz NOT NULL DEFAULT now()
    )`,
  );
  if (withIndexes) await createManagedIndexes(tx, schema, table, config);
}

/** The GIN indexes (tsvector, document) and sort btrees of a managed table (IF NOT EXISTS). */
export async function createManagedIndexes(
  tx: SqlExecutor,
  schema: string,
  table: string,
  config: ManagedIndexConfig,
): Promise<void> {
  const t = qualifiedName(schema, table);
  await tx.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(fitIdent(table, '_tsv'))} ON ${t} USING gin (tsv)`);
  // jsonb_path_ops serves the containment (@>) of every `eq` filter and raw jsonpath filters, on any field.
  await tx.exec(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(fitIdent(table, '_doc'))} ON ${t} USING gin (doc jsonb_path_ops)`,
  );
  for (const field of config.sortable ?? []) await createSortIndex(tx, schema, table, field);
}

const sameList = (a: string[] | null, b: string[] | null): boolean =>
  a === b || (a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]));

/**
 * Brings an existing managed table from `old` to `next`: a changed searchable list or language
 * regenerates the tsvector (a generated column's expression cannot be altered before Postgres 17,
 * so it is dropped and added back, in one ALTER, which rewrites the table once), and sort indexes
 * follow the sortable list.
 */
export async function alterManagedTable(
  tx: SqlExecutor,
  schema: string,
  table: string,
  old: { config: ManagedIndexConfig; language: string },
  next: ManagedIndexConfig,
  language: string,
): Promise<void> {
  const t = qualifiedName(schema, table);
  if (!sameList(old.config.searchable, next.searchable) || old.language !== language) {
    await tx.exec(
      `ALTER TABLE ${t} DROP COLUMN tsv, ADD COLUMN tsv tsvector GENERATED ALWAYS AS (${managedTsvExpression(next.searchable, language)}) STORED`,
    );
    await tx.exec(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(fitIdent(table, '_tsv'))} ON ${t} USING gin (tsv)`,
    );
  }
  const before = new Set(old.config.sortable ?? []);
  const after = new Set(next.sortable ?? []);
  for (const field of before) {
    if (!after.has(field)) {
      for (const direction of ['asc', 'desc'] as const) {
        await tx.exec(
          `DROP INDEX IF EXISTS ${qualifiedName(schema, sortIndexName(table, field, direction))}`,
        );
      }
    }
  }
  for (const field of after) await createSortIndex(tx, schema, table, field);
}
