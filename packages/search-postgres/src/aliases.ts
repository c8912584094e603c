import {
  assertIndexName,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchAliases,
} from '@fraiseql/core';
import { qualifiedName, quoteIdent, type SqlClient, type SqlExecutor } from '@fraiseql/postgres';
import { checkIndexConfig, unsupported } from './checks.ts';
import { createManagedIndexes, createManagedTable, sortIndexName } from './managed.ts';
import { fitIdent, tableNameFor } from './names.ts';
import type { CatalogRow, ManagedIndexConfig } from './types.ts';

/** What the aliases need of their provider (its connection, schema, catalog and locks). */
export interface AliasesHost {
  sql: SqlClient;
  schema: string;
  catalog: string;
  language: string;
  assertOpen(): void;
  lock(tx: SqlExecutor, index: string): Promise<void>;
  row(tx: SqlExecutor, index: string): Promise<CatalogRow | undefined>;
}

/** The names Postgres objects of a managed table carry, derived from the table name. */
function derivedIndexNames(table: string, config: ManagedIndexConfig): string[] {
  const names = [fitIdent(table, '_tsv'), fitIdent(table, '_doc')];
  for (const field of config.sortable ?? []) {
    names.push(sortIndexName(table, field, 'asc'), sortIndexName(table, field, 'desc'));
  }
  return names;
}

/**
 * The `aliases` capability of the PostgreSQL provider (DESIGN §14.3): the new index is an ordinary
 * managed table (`search_<index>__<ts>`), and the switch is one transaction that drops the live
 * table, renames the new one (and its indexes and primary key) to the live names and moves the
 * catalog row. A search running meanwhile waits on the table lock for the few milliseconds of
 * the commit and then reads the new table — Postgres resolves the name again after the lock.
 */
export class PostgresSearchAliases implements SearchAliases {
  readonly #h: AliasesHost;

  constructor(host: AliasesHost) {
    this.#h = host;
  }

  async prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void> {
    this.#h.assertOpen();
    assertIndexName(live);
    assertIndexName(next);
    const wanted = config === undefined ? undefined : checkIndexConfig(config);
    await this.#h.sql.transaction(async (tx) => {
      await this.#lockBoth(tx, live, next);
      const liveRow = await this.#h.row(tx, live);
      if (liveRow?.kind === 'attached') {
        throw unsupported(
          `index "${live}" is an attached table: its rows are indexed by a trigger, there is nothing to rebuild`,
        );
      }
      if (await this.#h.row(tx, next)) {
        throw new IntegrationError(
          ErrorCode.IndexAlreadyExists,
          `[postgresql] index "${next}" already exists`,
          {
            resourceType: 'index',
          },
        );
      }
      const cfg: ManagedIndexConfig = wanted ??
        (liveRow?.config as ManagedIndexConfig | undefined) ?? {
          kind: 'managed',
          searchable: null,
          filterable: null,
          sortable: null,
        };
      const language = wanted || !liveRow ? this.#h.language : liveRow.language;
      const table = tableNameFor(next);
      await tx.exec(`DROP TABLE IF EXISTS ${qualifiedName(this.#h.schema, table)}`);
      // Indexes come after the fill (swapIndex): one build is far cheaper than row-by-row upkeep.
      await createManagedTable(tx, this.#h.schema, table, cfg, language, false);
      await tx.query(
        `INSERT INTO ${this.#h.catalog} (name, table_name, kind, language, config) VALUES ($1, $2, 'managed', $3, $4::jsonb)`,
        [next, table, language, JSON.stringify(cfg)],
      );
    });
  }

  async swapIndex(live: string, next: string): Promise<void> {
    this.#h.assertOpen();
    assertIndexName(live);
    assertIndexName(next);
    const { schema, catalog } = this.#h;
    // Build the new table's indexes before the switch, outside the swap transaction: the live
    // index keeps answering meanwhile, and the swap itself stays a few renames.
    const built = await this.#h.row(this.#h.sql, next);
    if (built?.kind === 'managed') {
      await createManagedIndexes(this.#h.sql, schema, built.table_name, built.config as ManagedIndexConfig);
    }
    await this.#h.sql.transaction(async (tx) => {
      await this.#lockBoth(tx, live, next);
      const nextRow = await this.#h.row(tx, next);
      if (nextRow?.kind !== 'managed') throw IntegrationError.indexNotFound(next);
      const liveRow = await this.#h.row(tx, live);
      if (liveRow?.kind === 'attached') {
        throw unsupported(`index "${live}" is an attached table and cannot be replaced`);
      }
      const from = nextRow.table_name;
      const to = tableNameFor(live);
      await tx.exec(`DROP TABLE IF EXISTS ${qualifiedName(schema, to)}`);
      await tx.exec(`ALTER TABLE ${qualifiedName(schema, from)} RENAME TO ${quoteIdent(to)}`);
      // Index and constraint names are schema-wide: give them the live table's names, so a later
      // configureIndex (CREATE INDEX IF NOT EXISTS <name>) finds them and the next reindex is free.
      const config = nextRow.config as ManagedIndexConfig;
      const oldNames = derivedIndexNames(from, config);
      const newNames = derivedIndexNames(to, config);
      for (let i = 0; i < oldNames.length; i++) {
        await tx.exec(
          `ALTER INDEX IF EXISTS ${qualifiedName(schema, oldNames[i]!)} RENAME TO ${quoteIdent(newNames[i]!)}`,
        );
      }
      const pk = await tx.query<{ conname: string }>(
        `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
        [qualifiedName(schema, to)],
      );
      const pkName = fitIdent(to, '_pkey');
      if (pk.rows[0] && pk.rows[0].conname !== pkName) {
        await tx.exec(
          `ALTER TABLE ${qualifiedName(schema, to)} RENAME CONSTRAINT ${quoteIdent(pk.rows[0].conname)} TO ${quoteIdent(pkName)}`,
        );
      }
      await tx.query(`DELETE FROM ${catalog} WHERE name = $1`, [live]);
      await tx.query(`UPDATE ${catalog} SET name = $1, table_name = $2, updated_at = now() WHERE name = $3`, [
        live,
        to,
        next,
      ]);
    });
  }

  async dropIndex(name: string): Promise<void> {
    this.#h.assertOpen();
    assertIndexName(name);
    await this.#h.sql.transaction(async (tx) => {
      await this.#h.lock(tx, name);
      const row = await this.#h.row(tx, name);
      if (row?.kind === 'attached')
        throw unsupported(`index "${name}" is an attached table and is never dropped`);
      await tx.exec(
        `DROP TABLE IF EXISTS ${qualifiedName(this.#h.schema, row?.table_name ?? tableNameFor(name))}`,
      );
      await tx.query(`DELETE FROM ${this.#h.catalog} WHERE name = $1`, [name]);
    });
  }

  /** Both advisory locks in name order, so two reindexes can never deadlock on each other. */
  async #lockBoth(tx: SqlExecutor, a: string, b: string): Promise<void> {
    for (const name of [a, b].sort()) await this.#h.lock(tx, name);
  }
}
