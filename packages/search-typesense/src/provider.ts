import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  assertIndexName,
  type BulkResult,
  DEFAULT_SEARCH_LIMIT,
  type Document,
  ErrorCode,
  type FacetCount,
  getField,
  type IndexConfig,
  IntegrationError,
  isValidFieldName,
  MAX_SEARCH_LIMIT,
  normalizeFilter,
  parseSort,
  type SearchCommonOptions,
  type SearchHit,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { Client, type ConfigurationOptions } from 'typesense';
import {
  type ErrorContext,
  httpStatusOf,
  mapTypesenseError,
  PROVIDER,
  serverMessage,
  withDeadline,
} from './errors';
import {
  TYPESENSE_FIELDS_FIELD,
  TYPESENSE_HIDDEN_FIELDS,
  toTypesenseFilter,
  toTypesenseSort,
  typesenseFieldToken,
  typesenseHiddenValues,
} from './filter';
import {
  type CollectionInfo,
  collectionInfo,
  configFromSchema,
  desiredFields,
  normalizeConfig,
  STRING_TYPES,
  schemaChanges,
  type TypesenseCollectionSchema,
  type TypesenseFieldSchema,
} from './schema';

export interface TypesenseNode {
  host: string;
  port: number;
  /** `"http"` or `"https"`. */
  protocol: string;
  /** Path prefix when Typesense sits behind a proxy. Default `""`. */
  path?: string;
}

export interface TypesenseSearchOptions extends SearchCommonOptions {
  /** The cluster's nodes; the client rotates over them and retries on another node on failure. */
  nodes: TypesenseNode[];
  /** An API key allowed to manage collections and documents (sent as `X-TYPESENSE-API-KEY`). */
  apiKey: string;
  /**
   * Collections declared with their exact Typesense fields (types, facets, sort flags) instead of
   * being derived from an IndexConfig. An index listed here and in `indexes` uses these fields and
   * the IndexConfig for what is searchable/filterable/sortable. Default: none.
   */
  collections?: Record<string, TypesenseCollectionSchema>;
  /** Timeout (ms) of one HTTP request (a search, a schema call). Default 5000. */
  connectionTimeoutMs?: number;
  /** Deadline (ms) of one document import request (the client sets none). Default 60000. */
  importTimeoutMs?: number;
  /** Timeout (ms) of `healthCheck()` and of the start-up health check. Default 2000. */
  healthCheckTimeoutMs?: number;
  /** Retries of a request that failed on the network or with a 5xx, on the next node. Default: number of nodes. */
  numRetries?: number;
  /** Pause (ms) between those retries. Default 100. */
  retryIntervalMs?: number;
  /** Values returned per facet (Typesense's `max_facet_values`). Default 100. */
  maxFacetValues?: number;
  /** Documents per import request. Default 1000. */
  importBatchSize?: number;
}

/** Typesense caps `per_page` at 250; larger limits are fetched page by page. */
export const TYPESENSE_MAX_PER_PAGE = 250;
/** Above this many characters of search parameters, `POST /multi_search` replaces the GET request. */
const MAX_GET_PARAMS = 3000;

const noop = () => {};
/** The client logs through loglevel's global logger and sets its level; this one keeps it quiet and local. */
const SILENT_LOGGER = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  log: noop,
  setLevel: noop,
  getLevel: () => 5,
  setDefaultLevel: noop,
  resetLevel: noop,
  enableAll: noop,
  disableAll: noop,
  rebuild: noop,
  methodFactory: () => noop,
  levels: { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, SILENT: 5 },
} as unknown as NonNullable<ConfigurationOptions['logger']>;

type Params = Record<string, string | number | boolean>;

interface RawHit {
  document: Record<string, unknown>;
  text_match?: number;
  highlight?: Record<string, unknown>;
  highlights?: { field: string; value?: string; snippet?: string; values?: string[]; snippets?: string[] }[];
}

interface RawResponse {
  found: number;
  hits?: RawHit[];
  search_time_ms?: number;
  facet_counts?: { field_name: string; counts: { value: string; count: number }[] }[];
  error?: string;
  code?: number;
}

/** An error built from a `multi_search` per-search failure, shaped like the client's HTTP errors. */
class EmbeddedHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(`Request failed with HTTP code ${httpStatus} | Server said: ${message}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

function badQuery(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
}

function badDocument(message: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidDocument, `[typesense] ${message}`, 'document');
}

function checkCount(value: unknown, name: 'limit' | 'offset', max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw badQuery(`${name} must be an integer from 0 to ${max}, got ${String(value)}`, name);
  }
  return value;
}

/** Copies document data into what Typesense stores: dates as epoch ms, no undefined, no BigInt. */
function storable(value: unknown, path: string, seen: Set<object>): unknown {
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isNaN(t)) throw badDocument(`invalid date at "${path}"`);
    return t;
  }
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw badDocument(`value at "${path}" is a ${typeof value}, which JSON cannot store`);
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) throw badDocument(`circular reference at "${path}"`);
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => storable(v, `${path}[${i}]`, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k] = storable(v, path ? `${path}.${k}` : k, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The document Typesense stores: the data, `id`, and the hidden filter fields. */
function toStored(id: string, data: Record<string, unknown>): Record<string, unknown> {
  for (const hidden of TYPESENSE_HIDDEN_FIELDS) {
    if (hidden in data) throw badDocument(`document "${id}" uses the reserved field name "${hidden}"`);
  }
  const doc = storable(data, '', new Set()) as Record<string, unknown>;
  doc.id = id;
  return { ...doc, ...typesenseHiddenValues(doc) };
}

/**
 * The page size and pages that cover `[offset, offset + limit)`: one page whenever a size up to 250
 * puts the whole range on one page, otherwise consecutive pages of 250.
 */
export function planPages(
  offset: number,
  limit: number,
): { perPage: number; first: number; count: number; skip: number } {
  if (limit === 0) return { perPage: 0, first: 1, count: 1, skip: 0 };
  for (let size = limit; size <= TYPESENSE_MAX_PER_PAGE; size++) {
    const page = Math.floor(offset / size);
    if (page === Math.floor((offset + limit - 1) / size)) {
      return { perPage: size, first: page + 1, count: 1, skip: offset - page * size };
    }
  }
  const size = TYPESENSE_MAX_PER_PAGE;
  const first = Math.floor(offset / size);
  const last = Math.floor((offset + limit - 1) / size);
  return { perPage: size, first: first + 1, count: last - first + 1, skip: offset - first * size };
}

function plainHighlight(doc: Record<string, unknown>, field: string): string | undefined {
  const v = getField(doc, field);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(', ');
  return undefined;
}

function highlightOf(hit: RawHit, field: string): string | undefined {
  const h = hit.highlight?.[field];
  if (Array.isArray(h)) {
    const parts = h.map((el) => {
      const e = el as { value?: string; snippet?: string };
      return e.value ?? e.snippet ?? '';
    });
    return parts.join(', ');
  }
  if (isPlainObject(h)) {
    const e = h as { value?: string; snippet?: string };
    if (typeof e.value === 'string') return e.value;
    if (typeof e.snippet === 'string') return e.snippet;
  }
  const legacy = hit.highlights?.find((x) => x.field === field);
  if (legacy) return legacy.value ?? legacy.snippet ?? (legacy.values ?? legacy.snippets)?.join(', ');
  return undefined;
}

/**
 * SearchProvider on Typesense through the official `typesense` client. See the package README
 * section in `index.ts` for how the portable contract maps onto Typesense.
 */
export class TypesenseSearchProvider implements SearchProvider {
  readonly name = PROVIDER;
  private readonly client: Client;
  private readonly healthClient: Client;
  private readonly agents: (HttpAgent | HttpsAgent)[];
  private readonly secrets: string[];
  private readonly configs = new Map<string, IndexConfig>();
  private readonly infos = new Map<string, CollectionInfo>();
  private readonly importTimeoutMs: number;
  private readonly maxFacetValues: number;
  private readonly batchSize: number;
  private closed = false;

  constructor(private readonly opts: TypesenseSearchOptions) {
    const httpAgent = new HttpAgent({ keepAlive: true });
    const httpsAgent = new HttpsAgent({ keepAlive: true });
    this.agents = [httpAgent, httpsAgent];
    this.secrets = [opts.apiKey];
    this.importTimeoutMs = opts.importTimeoutMs ?? 60_000;
    this.maxFacetValues = opts.maxFacetValues ?? 100;
    this.batchSize = opts.importBatchSize ?? 1000;
    const base: ConfigurationOptions = {
      nodes: opts.nodes.map((n) => ({
        host: n.host,
        port: n.port,
        protocol: n.protocol,
        path: n.path ?? '',
      })),
      apiKey: opts.apiKey,
      connectionTimeoutSeconds: (opts.connectionTimeoutMs ?? 5000) / 1000,
      numRetries: opts.numRetries ?? opts.nodes.length,
      retryIntervalSeconds: (opts.retryIntervalMs ?? 100) / 1000,
      logger: SILENT_LOGGER,
      httpAgent,
      httpsAgent,
    };
    this.client = new Client(base);
    this.healthClient = new Client({
      ...base,
      numRetries: 0,
      connectionTimeoutSeconds: (opts.healthCheckTimeoutMs ?? 2000) / 1000,
    });
  }

  private ensureOpen(): void {
    if (this.closed) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        '[typesense] the provider is closed',
      );
    }
  }

  private async call<T>(ctx: ErrorContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw mapTypesenseError(err, ctx, this.secrets);
    }
  }

  /** Start-up check: `/health` answers ok, or a coded error (IN501 refused, IN102 timeout, IN502 not ready). */
  async assertHealthy(): Promise<void> {
    const health = await this.call({ kind: 'admin', what: 'health check' }, () =>
      this.healthClient.health.retrieve(),
    );
    if (health?.ok !== true) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        '[typesense] health check: Typesense is not ready',
      );
    }
  }

  async healthCheck(): Promise<boolean> {
    if (this.closed) return false;
    try {
      return (await this.healthClient.health.retrieve())?.ok === true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const agent of this.agents) agent.destroy();
  }

  /** The collection's schema as Typesense reports it (cached until the next write or configure). */
  private async info(index: string): Promise<CollectionInfo> {
    const cached = this.infos.get(index);
    if (cached) return cached;
    const schema = await this.call({ kind: 'admin', what: `reading the schema of "${index}"`, index }, () =>
      this.client.collections(index).retrieve(),
    );
    const info = collectionInfo(schema.fields as TypesenseFieldSchema[]);
    this.infos.set(index, info);
    return info;
  }

  private async config(index: string): Promise<IndexConfig> {
    const known = this.configs.get(index);
    if (known) return known;
    const info = await this.info(index);
    const derived = this.opts.indexes?.[index]
      ? normalizeConfig(index, this.opts.indexes[index])
      : configFromSchema(info.raw);
    this.configs.set(index, derived);
    return derived;
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    this.ensureOpen();
    assertIndexName(index);
    const normalized = normalizeConfig(index, config);
    const user = this.opts.collections?.[index];
    const desired = desiredFields(normalized, user);
    const ctx: ErrorContext = { kind: 'admin', what: `configuring "${index}"`, index };
    let existing: TypesenseFieldSchema[] | undefined;
    try {
      existing = (await this.client.collections(index).retrieve()).fields as TypesenseFieldSchema[];
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw mapTypesenseError(err, ctx, this.secrets);
    }
    if (!existing) {
      try {
        const schema: Record<string, unknown> = {
          name: index,
          fields: desired,
          enable_nested_fields: user?.enableNestedFields ?? true,
        };
        if (user?.defaultSortingField) schema.default_sorting_field = user.defaultSortingField;
        if (user?.tokenSeparators) schema.token_separators = user.tokenSeparators;
        if (user?.symbolsToIndex) schema.symbols_to_index = user.symbolsToIndex;
        await this.client.collections().create(schema as never);
      } catch (err) {
        // Created meanwhile by another process: fall through to bringing its schema up to date.
        if (httpStatusOf(err) !== 409) throw mapTypesenseError(err, ctx, this.secrets);
        existing = (await this.call(ctx, () => this.client.collections(index).retrieve()))
          .fields as TypesenseFieldSchema[];
      }
    }
    if (existing) {
      const changes = schemaChanges(existing, desired);
      if (changes.length > 0) {
        await this.call(ctx, () => this.client.collections(index).update({ fields: changes } as never));
      }
    }
    this.configs.set(index, normalized);
    this.infos.delete(index);
  }

  /** Deletes a collection (not part of the contract; for tests and tooling). A missing one is fine. */
  async dropIndex(index: string): Promise<void> {
    this.ensureOpen();
    assertIndexName(index);
    try {
      await this.client.collections(index).delete();
    } catch (err) {
      if (httpStatusOf(err) !== 404) {
        throw mapTypesenseError(err, { kind: 'admin', what: `dropping "${index}"` }, this.secrets);
      }
    }
    this.configs.delete(index);
    this.infos.delete(index);
  }

  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    this.ensureOpen();
    if (!isPlainObject(q)) throw badQuery('search takes a query object', 'query');
    assertIndexName(q.index);
    if (typeof q.query !== 'string') throw badQuery('query must be a string ("" browses)', 'query');
    const limit = checkCount(q.limit ?? DEFAULT_SEARCH_LIMIT, 'limit', MAX_SEARCH_LIMIT);
    const offset = checkCount(q.offset ?? 0, 'offset', Number.MAX_SAFE_INTEGER);
    const index = q.index;
    const config = await this.config(index);
    const filter = normalizeFilter(q.filter, config.filterable ?? []);
    const sort = parseSort(q.sort, config.sortable ?? []);
    const facets = this.checkFields(q.facets, 'facets', config.filterable ?? []);
    const highlight = this.checkFields(q.highlight, 'highlight');
    if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string')
      throw badQuery('rawFilter must be a string', 'rawFilter');

    const info = await this.info(index);
    const fieldType = (field: string) => info.types.get(field);
    let filterBy = toTypesenseFilter(filter, { fieldType });
    const words = q.query.trim();
    const queryBy = config.searchable.filter((f) => STRING_TYPES.has(fieldType(f) ?? ''));
    const empty = (): SearchResult<T> => ({
      hits: [],
      totalHits: 0,
      totalHitsExact: true,
      processingTimeMs: 0,
      ...(facets.length > 0 ? { facets: Object.fromEntries(facets.map((f) => [f, []])) } : {}),
    });
    // Decided without Typesense: a condition no document can meet, or words with no text field yet.
    if (filterBy === null || (words !== '' && queryBy.length === 0)) return empty();
    const raw = q.rawFilter?.trim();
    if (raw) filterBy = filterBy ? `(${raw}) && (${filterBy})` : raw;

    const params: Params = {
      q: words === '' ? '*' : words,
      prefix: true,
      num_typos: 0,
      typo_tokens_threshold: 0,
      drop_tokens_threshold: 0,
      split_join_tokens: 'off',
      exclude_fields: TYPESENSE_HIDDEN_FIELDS.join(','),
      highlight_start_tag: '<mark>',
      highlight_end_tag: '</mark>',
    };
    if (queryBy.length > 0) params.query_by = queryBy.join(',');
    if (filterBy) params.filter_by = filterBy;
    const sortBy = toTypesenseSort(sort, { fieldType });
    if (sortBy) params.sort_by = sortBy;
    const facetBy = facets.filter((f) => info.facets.has(f));
    if (facetBy.length > 0) {
      params.facet_by = facetBy.join(',');
      params.max_facet_values = this.maxFacetValues;
    }
    const marked = highlight.filter((f) => queryBy.includes(f));
    if (marked.length > 0) {
      params.highlight_fields = marked.join(',');
      params.highlight_full_fields = marked.join(',');
    }

    const plan = planPages(offset, limit);
    const hits: RawHit[] = [];
    let first: RawResponse | undefined;
    let took = 0;
    for (let i = 0; i < plan.count; i++) {
      const page = await this.page(index, { ...params, page: plan.first + i, per_page: plan.perPage });
      first ??= page;
      took += page.search_time_ms ?? 0;
      const pageHits = page.hits ?? [];
      hits.push(...pageHits);
      if (pageHits.length < plan.perPage) break;
    }
    const selected = hits.slice(plan.skip, plan.skip + limit);
    const result: SearchResult<T> = {
      hits: selected.map((h) => this.toHit<T>(h, words !== '', highlight)),
      totalHits: first?.found ?? 0,
      totalHitsExact: true,
      processingTimeMs: took,
    };
    if (facets.length > 0) {
      const counts = new Map((first?.facet_counts ?? []).map((f) => [f.field_name, f.counts]));
      result.facets = Object.fromEntries(
        facets.map((f): [string, FacetCount[]] => [
          f,
          (counts.get(f) ?? []).map((c) => ({ value: String(c.value), count: c.count })),
        ]),
      );
    }
    return result;
  }

  private checkFields(value: unknown, what: 'facets' | 'highlight', allowed?: string[]): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw badQuery(`${what} must be an array of field names`, what);
    for (const f of value) {
      if (!isValidFieldName(f)) throw badQuery(`Invalid ${what} field ${JSON.stringify(f)}`, what);
      if (allowed && !allowed.includes(f)) {
        throw badQuery(
          `Field "${f}" is not filterable, so it cannot be faceted; declare it in the index's filterable fields`,
          what,
        );
      }
    }
    return [...new Set(value as string[])];
  }

  private async page(index: string, params: Params): Promise<RawResponse> {
    const ctx: ErrorContext = { kind: 'search', what: `search in "${index}"`, index };
    // Long filters (a 1000-value `in`) do not fit in a URL: multi_search takes them in the body.
    if (JSON.stringify(params).length <= MAX_GET_PARAMS) {
      return this.call(ctx, () =>
        this.client
          .collections(index)
          .documents()
          .search(params as never),
      ) as Promise<RawResponse>;
    }
    const response = (await this.call(ctx, () =>
      this.client.multiSearch.perform({ searches: [{ collection: index, ...params }] } as never),
    )) as unknown as { results: RawResponse[] };
    const result = response.results[0];
    if (!result || result.error !== undefined || typeof result.found !== 'number') {
      throw mapTypesenseError(
        new EmbeddedHttpError(result?.code ?? 500, result?.error ?? 'no result'),
        ctx,
        this.secrets,
      );
    }
    return result;
  }

  private toHit<T>(hit: RawHit, scored: boolean, highlight: string[]): SearchHit<T> {
    const document = { ...hit.document };
    for (const hidden of TYPESENSE_HIDDEN_FIELDS) delete document[hidden];
    const out: SearchHit<T> = { id: String(document.id), document: document as T };
    if (scored && typeof hit.text_match === 'number' && Number.isFinite(hit.text_match))
      out.score = hit.text_match;
    if (highlight.length > 0) {
      const highlights: Record<string, string> = {};
      for (const field of highlight) {
        const text = highlightOf(hit, field) ?? plainHighlight(document, field);
        if (text !== undefined) highlights[field] = text;
      }
      out.highlights = highlights;
    }
    return out;
  }

  private prepare(doc: unknown): { id: string; index: string; body: Record<string, unknown> } {
    const d = doc as Partial<Document>;
    if (typeof d.id !== 'string' || d.id === '') throw badDocument('a document needs a non-empty string id');
    if (!isPlainObject(d.data)) throw badDocument(`document "${d.id}" must have an object as data`);
    return { id: d.id, index: d.index as string, body: toStored(d.id, d.data) };
  }

  private async importBatch(index: string, bodies: Record<string, unknown>[]) {
    const what = `indexing ${bodies.length} document(s) into "${index}"`;
    const results = await this.call({ kind: 'write', what, index }, () =>
      withDeadline(
        this.client
          .collections(index)
          .documents()
          .import(bodies, { action: 'upsert', dirty_values: 'reject', throwOnFail: false }),
        this.importTimeoutMs,
        what,
      ),
    );
    this.infos.delete(index);
    return results;
  }

  async indexDocument(doc: Document): Promise<void> {
    this.ensureOpen();
    if (!isPlainObject(doc)) throw badDocument('a document must be an object');
    assertIndexName(doc.index);
    const { id, body } = this.prepare(doc);
    const [result] = await this.importBatch(doc.index, [body]);
    if (!result?.success) {
      throw badDocument(`Typesense rejected document "${id}": ${result?.error ?? 'no result'}`);
    }
  }

  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    this.ensureOpen();
    if (!Array.isArray(docs)) throw badDocument('indexDocuments takes an array of documents');
    for (const doc of docs) if (isPlainObject(doc)) assertIndexName(doc.index);
    const failed: BulkResult['failed'] = [];
    const groups = new Map<string, { id: string; body: Record<string, unknown> }[]>();
    for (const doc of docs) {
      try {
        if (!isPlainObject(doc)) throw badDocument('a document must be an object');
        const prepared = this.prepare(doc);
        const group = groups.get(prepared.index) ?? [];
        group.push(prepared);
        groups.set(prepared.index, group);
      } catch (err) {
        const id = isPlainObject(doc) && typeof doc.id === 'string' ? doc.id : '';
        failed.push({ id, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    let succeeded = 0;
    for (const [index, items] of groups) {
      for (let start = 0; start < items.length; start += this.batchSize) {
        const chunk = items.slice(start, start + this.batchSize);
        let results: { success: boolean; error?: string }[];
        try {
          results = await this.importBatch(
            index,
            chunk.map((c) => c.body),
          );
        } catch (err) {
          // One missing index fails its documents, not the documents of the other indexes.
          if ((err as IntegrationError).code === ErrorCode.IndexNotFound) {
            for (const c of chunk) failed.push({ id: c.id, reason: `Index not found: ${index}` });
            continue;
          }
          throw err;
        }
        chunk.forEach((c, i) => {
          const r = results[i];
          if (r?.success) succeeded++;
          else
            failed.push({ id: c.id, reason: r?.error ?? 'Typesense returned no result for this document' });
        });
      }
    }
    return { succeeded, failed };
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    this.ensureOpen();
    assertIndexName(index);
    if (typeof id !== 'string' || id === '') throw badDocument('a document id must be a non-empty string');
    try {
      await this.client.collections(index).documents(id).delete();
    } catch (err) {
      // Deleting what is not there succeeds; a missing collection is still IN100.
      if (httpStatusOf(err) === 404 && /could not find a document/i.test(serverMessage(err))) return;
      throw mapTypesenseError(
        err,
        { kind: 'write', what: `deleting "${id}" from "${index}"`, index },
        this.secrets,
      );
    }
  }

  async clearIndex(index: string): Promise<void> {
    this.ensureOpen();
    assertIndexName(index);
    // Every document this provider writes lists `id` in `_fields`; deleting by it works on every
    // Typesense version (`truncate` only exists from v28).
    await this.call({ kind: 'write', what: `clearing "${index}"`, index }, () =>
      this.client
        .collections(index)
        .documents()
        .delete({ filter_by: `${TYPESENSE_FIELDS_FIELD}:=${typesenseFieldToken('id')}`, batch_size: 1000 }),
    );
    this.infos.delete(index);
  }
}
