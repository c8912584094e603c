import {
  assertIndexName,
  type BulkResult,
  DEFAULT_SEARCH_LIMIT,
  type Document,
  ErrorCode,
  type FacetCount,
  type IndexConfig,
  IntegrationError,
  isIntegrationError,
  isValidFieldName,
  MAX_SEARCH_LIMIT,
  type NormalizedFilter,
  normalizeFilter,
  parseSort,
  type SearchHit,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
  type SortSpec,
} from '@fraiseql/core';
import {
  assertIdentifier,
  migrate,
  PROVIDER,
  qualifiedName,
  quoteIdent,
  type SqlClient,
  type SqlExecutor,
  sqlState,
} from '@fraiseql/postgres';
import { type AttachPlan, attachedDocExpression, attachTable, planAttach } from './attach.ts';
import { postgresJsonPath, postgresSortKeys, postgresTextPath, toPostgresFilter } from './filter.ts';
import { alterManagedTable, createManagedTable } from './managed.ts';
import { CATALOG_TABLE, LANGUAGE_NAME, tableNameFor } from './names.ts';
import { LAST_WORD_PLACEHOLDER, splitQuery } from './query-text.ts';
import type {
  AttachedIndexConfig,
  CatalogRow,
  ManagedIndexConfig,
  PostgresSearchOptions,
  StoredIndexConfig,
} from './types.ts';

/** Default schema of the index tables and the catalog. */
export const DEFAULT_SEARCH_SCHEMA = '_system';
/** Default text search configuration. */
export const DEFAULT_LANGUAGE = 'english';
/** Default documents per INSERT in `indexDocuments`. */
export const DEFAULT_BATCH_SIZE = 500;
/** Default most values per facet. */
export const DEFAULT_MAX_FACET_VALUES = 100;
/** Fields up to this many characters are highlighted whole; longer ones as fragments around the matches. */
export const HIGHLIGHT_WHOLE_FIELD_MAX_CHARS = 1000;
/** Longest document id, in UTF-8 bytes (a btree key must stay well under a page). */
export const MAX_ID_BYTES = 512;

const HEADLINE_WHOLE = 'StartSel=<mark>, StopSel=</mark>, HighlightAll=true';
const HEADLINE_FRAGMENTS =
  'StartSel=<mark>, StopSel=</mark>, MaxFragments=3, MaxWords=30, MinWords=10, FragmentDelimiter=" … "';

// SQLSTATEs that mean "this document cannot be stored" (bad unicode escape, tsvector too long, …).
const DOCUMENT_STATES = /^(22|54)/;
const UNDEFINED_TABLE = '42P01';
const QUERY_CANCELED = '57014';

function badQuery(message: string, field = 'query'): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
}

function badDocument(message: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidDocument, message, 'document');
}

function unsupported(message: string): IntegrationError {
  return new IntegrationError(ErrorCode.UnsupportedOperation, `[${PROVIDER}] ${message}`, {
    provider: PROVIDER,
  });
}

function badConfig(message: string, field: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, message, { field });
}

function pageInt(value: unknown, fallback: number, field: string, max?: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badQuery(`${field} must be a non-negative integer`, field);
  }
  if (max !== undefined && value > max) throw badQuery(`${field} must be at most ${max}`, field);
  return value;
}

function fieldList(value: unknown, what: string, allowed: string[] | null): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isValidFieldName)) {
    throw badQuery(`${what} must be an array of field names`, what);
  }
  if (allowed) {
    const set = new Set(allowed);
    const bad = value.find((f) => !set.has(f));
    if (bad !== undefined) {
      throw badQuery(`Field "${bad}" is not filterable; declare it in the index's filterable fields`, what);
    }
  }
  return [...new Set(value as string[])];
}

/** IndexConfig → its stored form; IN002 for anything malformed (the mock's rules). */
function checkIndexConfig(config: IndexConfig): ManagedIndexConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      'Index settings must be an object',
      'config',
    );
  }
  const list = (value: unknown, key: string, required: boolean): string[] | null => {
    if (value === undefined && !required) return null;
    if (!Array.isArray(value) || !value.every(isValidFieldName) || (required && value.length === 0)) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidConfiguration,
        `Index setting "${key}" must be ${required ? 'a non-empty' : 'an'} array of field names`,
        key,
      );
    }
    return [...new Set(value as string[])];
  };
  const out: ManagedIndexConfig = {
    kind: 'managed',
    searchable: list(config.searchable, 'searchable', true),
    filterable: list(config.filterable, 'filterable', false) ?? [],
    sortable: list(config.sortable, 'sortable', false) ?? [],
  };
  if (config.primaryKey !== undefined) {
    if (typeof config.primaryKey !== 'string' || config.primaryKey.length === 0) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidConfiguration,
        'Index setting "primaryKey" must be a non-empty string',
        'primaryKey',
      );
    }
    out.primaryKey = config.primaryKey;
  }
  return out;
}

/** JSON text of a document's data, with `Date`s as epoch milliseconds (how every engine filters dates). */
function encodeData(data: Record<string, unknown>): string {
  return JSON.stringify(data, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() : value;
  });
}

interface EncodedDoc {
  id: string;
  index: string;
  json: string;
}

/** Validates one document; the reason is returned (for BulkResult) rather than thrown. */
function encodeDocument(doc: unknown): EncodedDoc | { id: string; reason: string } {
  if (!doc || typeof doc !== 'object') return { id: '', reason: 'A document must be an object' };
  const { id, index, data } = doc as Partial<Document>;
  const shownId = typeof id === 'string' ? id : id === undefined || id === null ? '' : String(id);
  if (typeof id !== 'string' || id.length === 0) {
    return { id: shownId, reason: 'Document id must be a non-empty string' };
  }
  if (id.includes('\u0000') || Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) {
    return { id, reason: `Document id must be at most ${MAX_ID_BYTES} UTF-8 bytes without NUL characters` };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { id, reason: 'Document data must be a plain object' };
  }
  let json: string;
  try {
    json = encodeData(data);
  } catch (err) {
    return { id, reason: `Document data cannot be serialised to JSON: ${(err as Error).message}` };
  }
  return { id, index: index as string, json };
}

/** Where a search reads from: SQL pieces of a managed table or an attached one. */
interface Source {
  from: string;
  /**
   * The plain table behind a managed index (`from` is `<table> AS d`). Its page query can count
   * the matches in the same scan and fetch the documents of the page alone by `ctid`. Absent for
   * an attached table: a partitioned one repeats ctids across partitions.
   */
  table?: string;
  doc: string;
  id: string;
  tsv: string;
  tieBreak: string;
  filterable: string[] | null;
  sortable: string[] | null;
}

interface PageRow {
  id: string;
  doc: Record<string, unknown>;
  score?: number;
  /** Matches in all, on every row of a managed index's page. */
  _total?: string | number;
  [h: string]: unknown;
}

interface SearchPlan {
  source: Source;
  /** The WHERE condition and its parameters, numbered from $1. */
  where: string;
  params: unknown[];
  /** `$n` of the tsquery among params, when the query has words. */
  tsq?: string;
  language: string;
}

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
  // Search

  #source(row: CatalogRow): Source {
    const config = row.config as StoredIndexConfig;
    if (config.kind === 'attached') {
      const a = config as AttachedIndexConfig;
      return {
        // OFFSET 0 keeps the subquery from being inlined, so the row becomes jsonb once, not per use.
        from: `${qualifiedName(a.schema, a.table)} AS d CROSS JOIN LATERAL (SELECT ${attachedDocExpression(a, 'd')} AS doc OFFSET 0) AS x`,
        doc: 'x.doc',
        id: `(d.${quoteIdent(a.idColumn)})::text`,
        tsv: `d.${quoteIdent(a.searchColumn)}`,
        tieBreak: `d.${quoteIdent(a.idColumn)}`,
        filterable: a.filterable,
        sortable: a.sortable,
      };
    }
    const m = config as ManagedIndexConfig;
    assertIdentifier(row.table_name, 'table');
    const table = qualifiedName(this.#schema, row.table_name);
    return {
      from: `${table} AS d`,
      table,
      doc: 'd.doc',
      id: 'd.id',
      tsv: 'd.tsv',
      tieBreak: 'd.id',
      filterable: m.filterable,
      sortable: m.sortable,
    };
  }

  /**
   * One round trip: the index's catalog row, the query as a tsquery, and the rawFilter checked.
   * The tsquery is `websearch_to_tsquery` of the text with the last word swapped, by `ts_rewrite`,
   * for the prefix query built from that word's lexemes (each quoted and escaped, then `:*`).
   */
  async #lookup(
    index: string,
    query: string,
    rawFilter: string | undefined,
  ): Promise<{ row: CatalogRow; tsquery: string | null | undefined }> {
    const params: unknown[] = [index];
    let q = 'NULL::text';
    if (query.trim() !== '') {
      const split = splitQuery(query);
      params.push(split.text);
      const web = `websearch_to_tsquery(c.language::regconfig, $${params.length})`;
      if (split.last === undefined) {
        q = `${web}::text`;
      } else {
        params.push(LAST_WORD_PLACEHOLDER, split.last);
        const n = params.length;
        const prefix =
          `COALESCE((SELECT string_agg('''' || replace(replace(u.lexeme, '\\', '\\\\'), '''', '''''') || ''':*', ' & ') ` +
          `FROM unnest(to_tsvector(c.language::regconfig, $${n})) AS u), '')::tsquery`;
        q = `ts_rewrite(${web}, $${n - 1}::tsquery, ${prefix})::text`;
      }
    }
    let raw = '';
    if (rawFilter !== undefined) {
      params.push(rawFilter);
      raw = `, $${params.length}::jsonpath IS NOT NULL AS raw_ok`;
    }
    let r: { rows: (CatalogRow & { q: string | null })[] };
    try {
      r = await this.#sql.query(
        `SELECT c.name, c.table_name, c.kind, c.language, c.config, ${q} AS q${raw}
           FROM ${this.#catalog} AS c WHERE c.name = $1`,
        params,
      );
    } catch (err) {
      // Our SQL is fixed; a syntax or data error here can only come from the rawFilter's jsonpath.
      if (rawFilter !== undefined && isRawFilterError(err)) {
        throw badQuery(
          `Invalid rawFilter (an SQL/JSON path predicate): ${(err as Error).message}`,
          'rawFilter',
        );
      }
      throw err;
    }
    const row = r.rows[0];
    if (!row) throw IntegrationError.indexNotFound(index);
    return { row, tsquery: row.q };
  }

  #plan(
    row: CatalogRow,
    tsquery: string | null | undefined,
    nf: NormalizedFilter,
    rawFilter?: string,
  ): SearchPlan {
    const source = this.#source(row);
    const params: unknown[] = [];
    const where: string[] = [];
    let tsq: string | undefined;
    if (tsquery) {
      params.push(tsquery);
      tsq = `$${params.length}::tsquery`;
      where.push(`${source.tsv} @@ ${tsq}`);
    }
    if (nf.length > 0) {
      const f = toPostgresFilter(nf, { doc: source.doc, paramOffset: params.length });
      params.push(...f.params);
      where.push(f.sql);
    }
    if (rawFilter !== undefined) {
      params.push(rawFilter);
      where.push(`${source.doc} @@ $${params.length}::jsonpath`);
    }
    return {
      source,
      where: where.length === 0 ? 'TRUE' : where.join(' AND '),
      params,
      ...(tsq ? { tsq } : {}),
      language: row.language,
    };
  }

  /**
   * The page; with `counted`, the number of matches too (`_total` on every row): the page's own
   * scan counts them (`count(*) OVER ()` over narrow rows, the documents of the page alone then
   * fetched by `ctid`), so the matches are read once instead of twice. Only on a managed table.
   */
  async #page(
    plan: SearchPlan,
    sort: SortSpec[],
    limit: number,
    offset: number,
    highlight: string[],
    counted: boolean,
  ): Promise<PageRow[]> {
    const { source } = plan;
    const params = [...plan.params];
    const add = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    // Sort keys are selected under names so the outer query can restore the order (a subquery's
    // ORDER BY does not formally survive the outer SELECT).
    const cols = [`${source.id} AS id`, counted ? 'd.ctid AS _ctid' : `${source.doc} AS doc`];
    const order: string[] = [];
    sort.forEach(({ field, direction }, i) => {
      const dir = direction === 'desc' ? 'DESC' : 'ASC';
      postgresSortKeys(source.doc, field).forEach((key, j) => {
        cols.push(`${key} AS _k${i}_${j}`);
        order.push(`_k${i}_${j} ${dir} NULLS LAST`);
      });
    });
    if (plan.tsq) {
      cols.push(`ts_rank_cd(${source.tsv}, ${plan.tsq}, 32) AS score`);
      order.push('score DESC');
    }
    cols.push(`${source.tieBreak} AS _tb`);
    order.push('_tb');
    if (counted) cols.push('count(*) OVER () AS _total');
    const inner =
      `SELECT ${cols.join(', ')} FROM ${source.from} WHERE ${plan.where} ` +
      `ORDER BY ${order.join(', ')} LIMIT ${add(limit)} OFFSET ${add(offset)}`;
    // Highlights only for the rows of the page, after LIMIT.
    const docOf = counted ? 's.doc' : 'p.doc';
    const outer = [
      'p.id',
      `${docOf} AS doc`,
      ...(plan.tsq ? ['p.score'] : []),
      ...(counted ? ['p._total'] : []),
    ];
    if (highlight.length > 0) {
      const cfg = plan.tsq ? `${add(plan.language)}::regconfig` : '';
      const whole = plan.tsq ? add(HEADLINE_WHOLE) : '';
      const frags = plan.tsq ? add(HEADLINE_FRAGMENTS) : '';
      highlight.forEach((field, i) => {
        const text = postgresTextPath(docOf, field);
        const body = plan.tsq
          ? `CASE WHEN length(${text}) <= ${HIGHLIGHT_WHOLE_FIELD_MAX_CHARS} ` +
            `THEN ts_headline(${cfg}, ${text}, ${plan.tsq}, ${whole}) ELSE ts_headline(${cfg}, ${text}, ${plan.tsq}, ${frags}) END`
          : text;
        outer.push(
          `CASE WHEN jsonb_typeof(${postgresJsonPath(docOf, field)}) = 'string' THEN ${body} END AS _h${i}`,
        );
      });
    }
    const join = counted ? ` JOIN ${source.table} AS s ON s.ctid = p._ctid` : '';
    const r = await this.#sql.query(
      `SELECT ${outer.join(', ')} FROM (${inner}) AS p${join} ORDER BY ${order.map((o) => `p.${o}`).join(', ')}`,
      params,
    );
    return r.rows as never;
  }

  async #count(plan: SearchPlan): Promise<number> {
    const r = await this.#sql.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${plan.source.from} WHERE ${plan.where}`,
      plan.params,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Value counts of one field over the whole filtered set; array fields count each distinct element once per document. */
  async #facet(plan: SearchPlan, field: string): Promise<FacetCount[]> {
    const v = postgresJsonPath(plan.source.doc, field);
    const params = [...plan.params, this.#maxFacetValues];
    const r = await this.#sql.query<{ value: string; count: number }>(
      `SELECT f.value, count(*) AS count
         FROM ${plan.source.from}
        CROSS JOIN LATERAL (
          SELECT DISTINCT e.x #>> '{}' AS value
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} ELSE jsonb_build_array(${v}) END) AS e(x)
           WHERE jsonb_typeof(e.x) IN ('string', 'number', 'boolean')
        ) AS f
        WHERE ${plan.where}
        GROUP BY f.value
        ORDER BY count(*) DESC, f.value COLLATE "C"
        LIMIT $${params.length}`,
      params,
    );
    return r.rows.map((row) => ({ value: row.value, count: Number(row.count) }));
  }

  /**
   * Words (websearch syntax: `"a phrase"`, `-without`, `or`; every other word required, the last
   * one a prefix), a portable filter and/or a `rawFilter` (an SQL/JSON path predicate over the
   * document, e.g. `$.price < 20 && $.tags[*] == "sale"`), sort, page, facets and highlights.
   * Totals are exact (`count(*)` over the filtered set).
   */
  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    const started = performance.now();
    this.#assertOpen();
    if (!q || typeof q !== 'object') throw badQuery('search takes a query object');
    assertIndexName(q.index);
    if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses every document)');
    const limit = pageInt(q.limit, DEFAULT_SEARCH_LIMIT, 'limit', MAX_SEARCH_LIMIT);
    const offset = pageInt(q.offset, 0, 'offset');
    if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string') {
      throw badQuery('rawFilter must be a string (an SQL/JSON path predicate)', 'rawFilter');
    }
    // Shape errors before any round trip; declared-field errors once the catalog is read.
    normalizeFilter(q.filter);
    parseSort(q.sort);
    fieldList(q.facets, 'facets', null);
    const highlight = fieldList(q.highlight, 'highlight', null);

    if (q.rawFilter?.includes('\u0000'))
      throw badQuery('rawFilter cannot contain NUL characters', 'rawFilter');
    // Postgres text cannot hold U+0000; as a word separator it means nothing anyway.
    const words = q.query.replaceAll('\u0000', ' ');
    try {
      return await this.#run<T>(q, words, limit, offset, highlight, started);
    } catch (err) {
      // A server-side statement_timeout (or a cancel) is the search timing out.
      if (sqlState(err) === QUERY_CANCELED) {
        throw IntegrationError.provider(
          ErrorCode.SearchTimeout,
          PROVIDER,
          `[${PROVIDER}] search on "${q.index}" was cancelled: ${(err as Error).message}`,
          err,
        );
      }
      // The path is valid but fails when evaluated (an undefined variable, a bad escape, …):
      // still the caller's rawFilter, not the database failing.
      if (q.rawFilter !== undefined && isRawFilterError(err)) {
        throw badQuery(
          `Invalid rawFilter (an SQL/JSON path predicate): ${(err as Error).message}`,
          'rawFilter',
        );
      }
      throw err;
    }
  }

  async #run<T>(
    q: SearchQuery,
    words: string,
    limit: number,
    offset: number,
    highlight: string[],
    started: number,
  ): Promise<SearchResult<T>> {
    const { row, tsquery } = await this.#lookup(q.index, words, q.rawFilter);
    const source = this.#source(row);
    const nf = normalizeFilter(q.filter, source.filterable ?? undefined);
    const sort = parseSort(q.sort, source.sortable ?? undefined);
    const facets = fieldList(q.facets, 'facets', source.filterable);

    const result: SearchResult<T> = { hits: [], totalHits: 0, totalHitsExact: true, processingTimeMs: 0 };
    // Words that leave no lexeme (only stop words or punctuation) match nothing.
    if (tsquery === '') {
      if (q.facets !== undefined) result.facets = Object.fromEntries(facets.map((f) => [f, []]));
      result.processingTimeMs = Math.round(performance.now() - started);
      return result;
    }
    const plan = this.#plan(row, tsquery, nf, q.rawFilter);
    // Counting in the page's scan saves reading the matches twice, but on a server a separate
    // count runs beside the page on another connection (and core). So: when facet queries run
    // beside the page anyway, or on PGlite (one connection: queries run one after another).
    // An attached table may be partitioned, where ctids repeat: it keeps the separate count.
    const countedByPage =
      limit > 0 && plan.source.table !== undefined && (facets.length > 0 || this.#sql.kind === 'pglite');
    const [rows, separateTotal, ...facetCounts] = await Promise.all([
      limit === 0 ? Promise.resolve([]) : this.#page(plan, sort, limit, offset, highlight, countedByPage),
      countedByPage ? Promise.resolve(undefined) : this.#count(plan),
      ...facets.map((f) => this.#facet(plan, f)),
    ]);
    // A page past the last match has no row to carry the count: only then is it a query of its own.
    const total =
      separateTotal ?? (rows.length > 0 ? Number(rows[0]!._total) : offset > 0 ? await this.#count(plan) : 0);
    result.hits = rows.map((r) => {
      const hit: SearchHit<T> = { id: r.id, document: r.doc as T };
      if (r.score !== undefined && r.score !== null) hit.score = Number(r.score);
      if (highlight.length > 0) {
        const h: Record<string, string> = {};
        highlight.forEach((field, i) => {
          const value = r[`_h${i}`];
          if (typeof value === 'string') h[field] = value;
        });
        hit.highlights = h;
      }
      return hit;
    });
    result.totalHits = total;
    if (q.facets !== undefined)
      result.facets = Object.fromEntries(facets.map((f, i) => [f, facetCounts[i]!]));
    result.processingTimeMs = Math.round(performance.now() - started);
    return result;
  }
}

/**
 * SQLSTATE classes a rawFilter can cause: 42 (syntax, undefined object such as a `$var`) and
 * 22 (data exceptions, SQL/JSON path errors 2203x).
 */
function isRawFilterError(err: unknown): boolean {
  const state = sqlState(err) ?? '';
  return state.startsWith('42') || state.startsWith('22');
}

/** Checks that a text search configuration exists; returns its canonical name (`English` → `english`). */
async function resolveLanguage(sql: SqlExecutor, language: unknown, field: string): Promise<string> {
  if (typeof language !== 'string' || !LANGUAGE_NAME.test(language)) {
    throw badConfig(
      `${field} must be a text search configuration name like "english" (got ${JSON.stringify(language)})`,
      field,
    );
  }
  try {
    const r = await sql.query<{ name: string }>('SELECT $1::regconfig::text AS name', [language]);
    const name = r.rows[0]!.name;
    if (!LANGUAGE_NAME.test(name)) throw new Error(`unusual name ${name}`);
    return name;
  } catch (err) {
    // 42704: no such configuration; 3F000: a schema-qualified name whose schema does not exist.
    const state = sqlState(err);
    if (state !== '42704' && state !== '3F000' && !(err instanceof Error && /unusual name/.test(err.message)))
      throw err;
    throw badConfig(
      `${field}: text search configuration "${language}" does not exist in this database`,
      field,
    );
  }
}

const CATALOG_STEPS = [
  {
    id: '001_search_indexes',
    up: `CREATE TABLE IF NOT EXISTS ${CATALOG_TABLE} (
      name text COLLATE "C" PRIMARY KEY,
      table_name text COLLATE "C" NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('managed', 'attached')),
      language text NOT NULL,
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];

function positiveInt(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw badConfig(`${field} must be a positive integer`, field);
  }
  return value;
}

/**
 * The `postgresql` search provider, on a Postgres server or PGlite (`@fraiseql/postgres`'s SqlClient).
 *
 * Creates `<schema>` and its catalog `search_indexes` when missing, attaches every `tables`
 * entry and configures every `indexes` entry (both idempotent), then resolves. Options: see
 * {@link PostgresSearchOptions}. Every problem with them is IN002.
 */
export async function createPostgresSearch(opts: PostgresSearchOptions): Promise<PostgresSearchProvider> {
  if (!opts || typeof opts !== 'object')
    throw badConfig('createPostgresSearch: options must be an object', 'options');
  const sql = opts.sql;
  if (!sql || typeof sql.query !== 'function' || typeof sql.transaction !== 'function') {
    throw badConfig(
      'createPostgresSearch: "sql" must be a SqlClient (createSqlClient of @fraiseql/postgres)',
      'sql',
    );
  }
  const schema = opts.schema ?? DEFAULT_SEARCH_SCHEMA;
  assertIdentifier(schema, 'schema');
  const batchSize = positiveInt(opts.batchSize, DEFAULT_BATCH_SIZE, 'batchSize');
  const maxFacetValues = positiveInt(opts.maxFacetValues, DEFAULT_MAX_FACET_VALUES, 'maxFacetValues');
  if (opts.autoCreateIndexes !== undefined && typeof opts.autoCreateIndexes !== 'boolean') {
    throw badConfig('autoCreateIndexes must be a boolean', 'autoCreateIndexes');
  }
  const plans = Object.entries(opts.tables ?? {}).map(([key, t]) => planAttach(key, t));
  const attachedNames = new Set<string>();
  for (const plan of plans) {
    if (attachedNames.has(plan.index)) {
      throw badConfig(
        `tables: two tables are searched as index "${plan.index}" (set "index" on one)`,
        'tables',
      );
    }
    attachedNames.add(plan.index);
  }
  for (const index of Object.keys(opts.indexes ?? {})) {
    if (attachedNames.has(index)) {
      throw badConfig(`index "${index}" is both in "indexes" and an attached table in "tables"`, 'indexes');
    }
  }
  const language = await resolveLanguage(sql, opts.defaultLanguage ?? DEFAULT_LANGUAGE, 'defaultLanguage');
  await migrate(sql, { schema, namespace: 'search-postgres', steps: CATALOG_STEPS });
  const provider = new PostgresSearchProvider(sql, {
    schema,
    language,
    batchSize,
    autoCreate: opts.autoCreateIndexes ?? true,
    maxFacetValues,
  });
  for (const plan of plans) await provider.attach(plan);
  for (const [index, config] of Object.entries(opts.indexes ?? {}))
    await provider.configureIndex(index, config);
  return provider;
}
