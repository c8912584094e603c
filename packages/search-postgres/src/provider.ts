import {
  assertIndexName,
  type BulkResult,
  type Document,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  isIntegrationError,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { PROVIDER, qualifiedName, type SqlClient, type SqlExecutor, sqlState } from '@fraiseql/postgres';
import { PostgresSearchAliases } from './aliases.ts';
import { type AttachPlan, attachTable } from './attach.ts';
import {
  badDocument,
  checkIndexConfig,
  DOCUMENT_STATES,
  type EncodedDoc,
  encodeDocument,
  resolveLanguage,
  UNDEFINED_TABLE,
  unsupported,
} from './checks.ts';
import { alterManagedTable, createManagedTable } from './managed.ts';
import { CATALOG_TABLE, tableNameFor } from './names.ts';
import { SearchReader } from './read.ts';
import type { CatalogRow, ManagedIndexConfig } from './types.ts';

export * from './constants.ts';
export { createPostgresSearch } from './create.ts';

/**
 * The PostgreSQL full-text SearchProvider (DESIGN §3.3). Build it with {@link createPostgresSearch}.
 *
 * Managed index = table `<schema>.search_<index>` (`id text`, `doc jsonb`, generated weighted
 * `tsv`, GIN on `tsv`, GIN `jsonb_path_ops` on `doc`, a btree per sortable field), described in
 * `<schema>.search_indexes`. Attached index = an existing table with a trigger-maintained tsvector.
 */
export class PostgresSearchProvider implements SearchProvider {
  readonly name = 'postgresql';
  readonly #sql: SqlClient;
  readonly #schema: string;
  readonly #language: string;
  readonly #batchSize: number;
  readonly #autoCreate: boolean;
  readonly #maxFacetValues: number;
  readonly #catalog: string;
  readonly #reader: SearchReader;
  /** Zero-downtime reindex support (DESIGN §14.3): builds, swaps and drops `<index>__<ts>` tables. */
  readonly aliases: PostgresSearchAliases;
  #closed = false;

  /** @internal Use {@link createPostgresSearch}, which validates options and prepares the schema. */
  constructor(
    sql: SqlClient,
    opts: {
      schema: string;
      language: string;
      batchSize: number;
      autoCreate: boolean;
      maxFacetValues: number;
    },
  ) {
    this.#sql = sql;
    this.#schema = opts.schema;
    this.#language = opts.language;
    this.#batchSize = opts.batchSize;
    this.#autoCreate = opts.autoCreate;
    this.#maxFacetValues = opts.maxFacetValues;
    this.#catalog = qualifiedName(opts.schema, CATALOG_TABLE);
    this.#reader = new SearchReader(
      sql,
      { schema: opts.schema, catalog: this.#catalog, maxFacetValues: opts.maxFacetValues },
      () => this.#assertOpen(),
    );
    this.aliases = new PostgresSearchAliases({
      sql,
      schema: opts.schema,
      catalog: this.#catalog,
      language: opts.language,
      assertOpen: () => this.#assertOpen(),
      lock: (tx, index) => this.#lock(tx, index),
      row: (tx, index) => this.#row(tx, index),
    });
  }

  /** The schema holding the index tables and the catalog. */
  get schema(): string {
    return this.#schema;
  }

  /** The text search configuration of managed indexes. */
  get language(): string {
    return this.#language;
  }

  /** The table (`schema.table`) behind an index, without touching the database for a managed one. */
  tableOf(index: string): string {
    assertIndexName(index);
    return `${this.#schema}.${tableNameFor(index)}`;
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    return this.#sql.healthCheck();
  }

  /** Idempotent. The SqlClient belongs to the caller and stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `[${PROVIDER}] the search provider is closed`,
      );
    }
  }

  // ------------------------------------------------------------------------------------------
  // Indexes

  async #lock(tx: SqlExecutor, index: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `fraiseql:search:${this.#schema}:${index}`,
    ]);
  }

  async #row(tx: SqlExecutor, index: string): Promise<CatalogRow | undefined> {
    const r = await tx.query<CatalogRow>(
      `SELECT name, table_name, kind, language, config FROM ${this.#catalog} WHERE name = $1`,
      [index],
    );
    return r.rows[0];
  }

  async #tableExists(tx: SqlExecutor, table: string): Promise<boolean> {
    const r = await tx.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
      qualifiedName(this.#schema, table),
    ]);
    return Boolean(r.rows[0]?.t);
  }

  /**
   * Creates the index or brings it to `config`, idempotently: the same settings twice is a no-op,
   * changed searchable fields regenerate the tsvector, changed sortable fields their indexes. The
   * settings are stored in the catalog, so every provider on this schema (another process, a
   * restart) filters and sorts with them. IN005 for an attached table (configured by `tables`).
   */
  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    this.#assertOpen();
    assertIndexName(index);
    const next = checkIndexConfig(config);
    await this.#sql.transaction(async (tx) => {
      await this.#lock(tx, index);
      const row = await this.#row(tx, index);
      if (row?.kind === 'attached') {
        throw unsupported(`index "${index}" is an attached table; configure it with the "tables" option`);
      }
      const table = tableNameFor(index);
      const language = this.#language;
      if (row && (await this.#tableExists(tx, table))) {
        await alterManagedTable(
          tx,
          this.#schema,
          table,
          { config: row.config as ManagedIndexConfig, language: row.language },
          next,
          language,
        );
      } else {
        await createManagedTable(tx, this.#schema, table, next, language);
      }
      await this.#saveRow(tx, index, table, language, next);
    });
  }

  async #saveRow(
    tx: SqlExecutor,
    index: string,
    table: string,
    language: string,
    config: ManagedIndexConfig,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#catalog} (name, table_name, kind, language, config) VALUES ($1, $2, 'managed', $3, $4::jsonb)
       ON CONFLICT (name) DO UPDATE SET language = EXCLUDED.language, config = EXCLUDED.config, updated_at = now()`,
      [index, table, language, JSON.stringify(config)],
    );
  }

  /** Creates a never-configured index on its first write (or refuses: attached, autoCreate off). */
  async #ensureWritable(index: string): Promise<void> {
    await this.#sql.transaction(async (tx) => {
      await this.#lock(tx, index);
      const row = await this.#row(tx, index);
      if (row?.kind === 'attached') throw this.#attachedWrite(index);
      const table = tableNameFor(index);
      if (row && (await this.#tableExists(tx, table))) return;
      if (!row && !this.#autoCreate) throw IntegrationError.indexNotFound(index);
      const config: ManagedIndexConfig = row
        ? (row.config as ManagedIndexConfig)
        : { kind: 'managed', searchable: null, filterable: null, sortable: null };
      await createManagedTable(tx, this.#schema, table, config, row?.language ?? this.#language);
      await this.#saveRow(tx, index, table, row?.language ?? this.#language, config);
    });
  }

  #attachedWrite(index: string): IntegrationError {
    return unsupported(
      `index "${index}" is an attached table: its rows are indexed by a trigger; write them with SQL`,
    );
  }

  /** Runs a write on a managed index's table; a missing table means the index is unknown (or attached). */
  async #onTable(
    index: string,
    run: (table: string) => Promise<unknown>,
    missing: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await run(qualifiedName(this.#schema, tableNameFor(index)));
    } catch (err) {
      if (sqlState(err) !== UNDEFINED_TABLE) throw err;
      await missing();
    }
  }

  async #kindOf(index: string): Promise<CatalogRow['kind'] | undefined> {
    return (await this.#row(this.#sql, index))?.kind;
  }

  /**
   * Drops a managed index: its table and its catalog row. Resolves `false` when there was no such
   * index. IN005 for an attached table (the provider never drops a user's table or column).
   */
  async dropIndex(index: string): Promise<boolean> {
    this.#assertOpen();
    assertIndexName(index);
    return this.#sql.transaction(async (tx) => {
      await this.#lock(tx, index);
      const row = await this.#row(tx, index);
      if (row?.kind === 'attached') {
        throw unsupported(`index "${index}" is an attached table; remove it from "tables" instead`);
      }
      await tx.exec(`DROP TABLE IF EXISTS ${qualifiedName(this.#schema, tableNameFor(index))}`);
      await tx.query(`DELETE FROM ${this.#catalog} WHERE name = $1`, [index]);
      return row !== undefined;
    });
  }

  /** @internal Attaches one `tables` entry (used by the factory). */
  async attach(plan: AttachPlan): Promise<void> {
    const language = await resolveLanguage(
      this.#sql,
      plan.language ?? this.#language,
      `tables."${plan.key}".language`,
    );
    await this.#sql.transaction(async (tx) => {
      await this.#lock(tx, plan.index);
      await attachTable(tx, this.#schema, plan, language);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Writes

  /** Upserts (replaces) one document; visible to the next search when the promise resolves. */
  async indexDocument(doc: Document): Promise<void> {
    this.#assertOpen();
    if (!doc || typeof doc !== 'object') throw badDocument('A document must be an object');
    assertIndexName(doc.index);
    const encoded = encodeDocument(doc);
    if (!('json' in encoded)) throw badDocument(encoded.reason);
    try {
      await this.#upsertOne(encoded);
    } catch (err) {
      if (DOCUMENT_STATES.test(sqlState(err) ?? '')) {
        throw new IntegrationError(
          ErrorCode.InvalidDocument,
          `Document "${encoded.id}" cannot be stored: ${(err as Error).message}`,
          { field: 'document', cause: err },
        );
      }
      throw err;
    }
  }

  async #upsertOne(doc: EncodedDoc): Promise<void> {
    const run = (table: string) =>
      this.#sql.query(
        `INSERT INTO ${table} AS d (id, doc) VALUES ($1, $2::jsonb)
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, indexed_at = now()`,
        [doc.id, doc.json],
      );
    await this.#onTable(doc.index, run, async () => {
      await this.#ensureWritable(doc.index);
      await run(qualifiedName(this.#schema, tableNameFor(doc.index)));
    });
  }

  /**
   * Upserts many documents in batches of `batchSize` (one INSERT … ON CONFLICT DO UPDATE each;
   * a document replaces the stored one, never merges). Invalid documents (no id, non-object data,
   * not serialisable, rejected by Postgres) are reported in `failed` and the rest indexed; a
   * batch the database refuses is retried row by row to find the culprits. An invalid index
   * name rejects the whole call (IN106), as does losing the connection.
   */
  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    this.#assertOpen();
    if (!Array.isArray(docs)) throw badDocument('indexDocuments takes an array of documents');
    for (const doc of docs) {
      if (doc && typeof doc === 'object') assertIndexName((doc as Document).index);
    }
    const failed: BulkResult['failed'] = [];
    const byIndex = new Map<string, Map<string, EncodedDoc>>();
    let accepted = 0;
    for (const doc of docs) {
      const encoded = encodeDocument(doc);
      if (!('json' in encoded)) {
        failed.push(encoded);
        continue;
      }
      let group = byIndex.get(encoded.index);
      if (!group) {
        group = new Map();
        byIndex.set(encoded.index, group);
      }
      // The same id twice in one call: the later document wins, as if indexed one after the other
      // (and one INSERT … ON CONFLICT cannot touch a row twice).
      group.delete(encoded.id);
      group.set(encoded.id, encoded);
      accepted++;
    }
    let dropped = 0;
    for (const [index, group] of byIndex) {
      const list = [...group.values()];
      let ensured = false;
      for (let i = 0; i < list.length; i += this.#batchSize) {
        const batch = list.slice(i, i + this.#batchSize);
        const bad = await this.#insertBatch(index, batch, ensured);
        ensured = true;
        failed.push(...bad);
        dropped += bad.length;
      }
    }
    return { succeeded: accepted - dropped, failed };
  }

  async #insertBatch(
    index: string,
    batch: EncodedDoc[],
    ensured: boolean,
  ): Promise<{ id: string; reason: string }[]> {
    const payload = `[${batch.map((d) => `{"id":${JSON.stringify(d.id)},"doc":${d.json}}`).join(',')}]`;
    const run = (table: string) =>
      this.#sql.query(
        `INSERT INTO ${table} AS d (id, doc)
         SELECT x.id, x.doc FROM jsonb_to_recordset($1::jsonb) AS x(id text, doc jsonb)
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, indexed_at = now()`,
        [payload],
      );
    try {
      await this.#onTable(index, run, async () => {
        if (ensured) throw IntegrationError.indexNotFound(index);
        await this.#ensureWritable(index);
        return run(qualifiedName(this.#schema, tableNameFor(index)));
      });
      return [];
    } catch (err) {
      if (!isIntegrationError(err) || err.code !== ErrorCode.PostgresError) throw err;
      if (sqlState(err) === UNDEFINED_TABLE) throw err;
    }
    // The batch was refused as a whole: one statement per document tells which ones are bad.
    const failed: { id: string; reason: string }[] = [];
    for (const doc of batch) {
      try {
        await this.#upsertOne(doc);
      } catch (err) {
        if (!DOCUMENT_STATES.test(sqlState(err) ?? '')) throw err;
        failed.push({ id: doc.id, reason: (err as Error).message });
      }
    }
    return failed;
  }

  /** Resolves whether or not the id (or the index) existed. IN005 for an attached table. */
  async deleteDocument(index: string, id: string): Promise<void> {
    this.#assertOpen();
    assertIndexName(index);
    if (typeof id !== 'string' || id.length === 0)
      throw badDocument('Document id must be a non-empty string');
    await this.#onTable(
      index,
      (table) => this.#sql.query(`DELETE FROM ${table} WHERE id = $1`, [id]),
      async () => {
        if ((await this.#kindOf(index)) === 'attached') throw this.#attachedWrite(index);
      },
    );
  }

  /** Removes every document and keeps the settings. Resolves for an unknown index. IN005 for an attached table. */
  async clearIndex(index: string): Promise<void> {
    this.#assertOpen();
    assertIndexName(index);
    await this.#onTable(
      index,
      (table) => this.#sql.query(`TRUNCATE ${table}`),
      async () => {
        if ((await this.#kindOf(index)) === 'attached') throw this.#attachedWrite(index);
      },
    );
  }
  // ------------------------------------------------------------------------------------------
  // Search (src/read.ts)

  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    return this.#reader.search<T>(q);
  }
}
