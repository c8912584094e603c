import {
  assertIndexName,
  DEFAULT_SEARCH_LIMIT,
  ErrorCode,
  type FacetCount,
  IntegrationError,
  MAX_SEARCH_LIMIT,
  type NormalizedFilter,
  normalizeFilter,
  parseSort,
  type SearchHit,
  type SearchQuery,
  type SearchResult,
  type SortSpec,
} from '@fraiseql/core';
import {
  assertIdentifier,
  PROVIDER,
  qualifiedName,
  quoteIdent,
  type SqlClient,
  sqlState,
} from '@fraiseql/postgres';
import { attachedDocExpression } from './attach.ts';
import { badQuery, fieldList, pageInt, QUERY_CANCELED } from './checks.ts';
import { HIGHLIGHT_WHOLE_FIELD_MAX_CHARS } from './constants.ts';
import { postgresJsonPath, postgresSortKeys, postgresTextPath, toPostgresFilter } from './filter.ts';
import { LAST_WORD_PLACEHOLDER, splitQuery } from './query-text.ts';
import type { AttachedIndexConfig, CatalogRow, ManagedIndexConfig, StoredIndexConfig } from './types.ts';

const HEADLINE_WHOLE = 'StartSel=<mark>, StopSel=</mark>, HighlightAll=true';
const HEADLINE_FRAGMENTS =
  'StartSel=<mark>, StopSel=</mark>, MaxFragments=3, MaxWords=30, MinWords=10, FragmentDelimiter=" … "';

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
 * The read side of the PostgreSQL search provider: plans a query (words, filter, sort), runs the
 * page, the count and the facets, and highlights the returned page. Shared state is the
 * provider's: its connection, schema, catalog and facet bound.
 */
export class SearchReader {
  readonly #sql: SqlClient;
  readonly #schema: string;
  readonly #catalog: string;
  readonly #maxFacetValues: number;
  readonly #assertOpen: () => void;

  constructor(
    sql: SqlClient,
    opts: { schema: string; catalog: string; maxFacetValues: number },
    assertOpen: () => void,
  ) {
    this.#sql = sql;
    this.#schema = opts.schema;
    this.#catalog = opts.catalog;
    this.#maxFacetValues = opts.maxFacetValues;
    this.#assertOpen = assertOpen;
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
