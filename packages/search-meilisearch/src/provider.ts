import {
  assertIndexConfig,
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
import {
  type Filter as EngineFilter,
  type EnqueuedTaskPromise,
  type Index,
  Meilisearch,
  type SearchParams,
  type Task,
} from 'meilisearch';
import { mapClientError, PROVIDER, taskFailure, taskFailureReason } from './errors';
import { toMeilisearchFilter, toMeilisearchSort } from './filter';
import { decodeDocumentId, encodeDocumentId, MAX_ENGINE_ID_BYTES } from './ids';

export interface MeilisearchSearchOptions extends SearchCommonOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7700` (config `host_env`). Required. */
  host: string;
  /**
   * API key sent as `Authorization: Bearer <key>` (config `api_key_env`). It needs the actions
   * `search`, `documents.*`, `indexes.*`, `settings.*` and `tasks.get` — the default admin key or
   * the master key. `""` sends no key (a server started without a master key). Required.
   */
  apiKey: string;
  /** Timeout of every HTTP request in ms; a request that takes longer is IN102. Default 10000. */
  timeoutMs?: number;
  /**
   * How long a write waits for its Meilisearch task to finish, in ms; longer is IN102 (the task
   * itself keeps running on the server). Default 30000.
   */
  taskTimeoutMs?: number;
  /** Interval between two polls of `GET /tasks/:uid` while a write waits. Default 50 ms. */
  taskPollIntervalMs?: number;
  /**
   * `pagination.maxTotalHits` written by `configureIndex`: how many hits a query can reach and
   * count. Default: not written, the server's value stays (1000 unless changed).
   */
  maxTotalHits?: number;
  /** Documents per indexing task in `indexDocuments`. Default 1000. */
  batchSize?: number;
}

/** What the provider knows about an index: what it may filter/sort on and its primary key. */
interface KnownIndex {
  primaryKey: string;
  filterable: unknown[];
  sortable: unknown[];
  maxTotalHits: number;
  /** Set by `configureIndex` in this process (true) or read back from the server (false). */
  local: boolean;
}

/**
 * Meilisearch ranks by relevance before `sort` with its default rules, so a sorted word query would
 * be ordered by relevance first. Putting `sort` first makes an explicit sort the primary order,
 * as on every other engine; without a sort the rule is a no-op.
 */
const RANKING_RULES = ['sort', 'words', 'typo', 'proximity', 'attribute', 'exactness'];
const ENGINE_DEFAULT_MAX_TOTAL_HITS = 1000;
const INTERNAL_HIT_FIELDS = [
  '_formatted',
  '_rankingScore',
  '_rankingScoreDetails',
  '_matchesPosition',
  '_federation',
];

const invalidQuery = (message: string, field?: string): IntegrationError =>
  IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
const invalidDocument = (message: string): IntegrationError =>
  IntegrationError.invalidInput(ErrorCode.InvalidDocument, message, 'document');

/** Whether `field` is covered by a Meilisearch attribute list (exact, nested under, or a `*` pattern). */
function covered(field: string, declared: readonly unknown[]): boolean {
  return declared.some((entry) => {
    const patterns =
      typeof entry === 'string'
        ? [entry]
        : Array.isArray((entry as { attributePatterns?: unknown })?.attributePatterns)
          ? ((entry as { attributePatterns: unknown[] }).attributePatterns.filter(
              (p) => typeof p === 'string',
            ) as string[])
          : [];
    return patterns.some((p) => {
      if (p === '*' || p === field || field.startsWith(`${p}.`)) return true;
      if (!p.includes('*')) return false;
      const re = new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      return re.test(field);
    });
  });
}

function checkConfig(config: IndexConfig): IndexConfig {
  return assertIndexConfig(config);
}

function checkCount(value: unknown, name: 'limit' | 'offset', dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidQuery(`${name} must be a non-negative integer`, name);
  }
  if (name === 'limit' && value > MAX_SEARCH_LIMIT) {
    throw invalidQuery(`limit must be at most ${MAX_SEARCH_LIMIT}`, 'limit');
  }
  return value;
}

function fieldList(value: unknown, name: 'facets' | 'highlight'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isValidFieldName)) {
    throw invalidQuery(`${name} must be an array of field names`, name);
  }
  return [...new Set(value as string[])];
}

/**
 * The page of Meilisearch's exhaustive `page`/`hitsPerPage` mode that contains `[offset, offset +
 * limit)`: the smallest `hitsPerPage ≥ limit` whose page boundaries do not split the window. That
 * mode counts `totalHits` exactly (offset/limit mode only estimates), for any offset.
 */
export function pageWindow(
  offset: number,
  limit: number,
): { hitsPerPage: number; page: number; skip: number } {
  if (limit === 0) return { hitsPerPage: 0, page: 1, skip: 0 };
  for (let h = limit, tries = 0; tries < 10_000; h++, tries++) {
    const first = Math.floor(offset / h);
    if (first === Math.floor((offset + limit - 1) / h))
      return { hitsPerPage: h, page: first + 1, skip: offset - first * h };
  }
  return { hitsPerPage: offset + limit, page: 1, skip: offset };
}

/** Dates in documents are stored as epoch milliseconds, the form portable filters compare. */
function datesToMillis(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(datesToMillis);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, datesToMillis(v)]));
  }
  return value;
}

/**
 * The Meilisearch {@link SearchProvider}, on the official `meilisearch` client. Create it with
 * `createMeilisearchSearch`.
 *
 * - Writes wait for their Meilisearch task; a failed task is IN105 with the engine's message.
 * - Searches use the exhaustive `page`/`hitsPerPage` mode, so `totalHits` is exact
 *   (`totalHitsExact: false` only when it reaches `pagination.maxTotalHits`), with
 *   `matchingStrategy: "all"` (every query word must match) and `<mark>` highlight tags.
 * - `configureIndex` writes searchable/filterable/sortable attributes and ranking rules with
 *   `sort` first (an explicit sort is the primary order); filter, sort and facet fields are
 *   checked against that configuration before the request (IN101).
 * - Document ids outside Meilisearch's `[A-Za-z0-9_-]` are stored encoded (see `encodeDocumentId`);
 *   hits carry the original id, also in the primary-key field of `document`.
 * - Dates inside documents are stored as epoch milliseconds.
 * - Meilisearch compares strings case-insensitively in filters (see core's `toMeilisearchFilter`).
 */
export class MeilisearchSearch implements SearchProvider {
  readonly name = PROVIDER;
  readonly #client: Meilisearch;
  readonly #secrets: string[];
  readonly #wait: { timeout: number; interval: number };
  readonly #maxTotalHits: number | undefined;
  readonly #batchSize: number;
  readonly #known = new Map<string, KnownIndex>();
  #closed = false;

  /** @internal Use `createMeilisearchSearch`. */
  constructor(opts: MeilisearchSearchOptions) {
    if (typeof opts?.host !== 'string' || opts.host.trim() === '') {
      throw IntegrationError.configuration(
        ErrorCode.MissingConfiguration,
        '[meilisearch] "host" is required',
      );
    }
    if (typeof opts.apiKey !== 'string') {
      throw IntegrationError.configuration(
        ErrorCode.MissingConfiguration,
        '[meilisearch] "apiKey" is required (use "" for a server without a master key)',
      );
    }
    const positive = (v: unknown, name: string, dflt: number): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw IntegrationError.configuration(
          ErrorCode.InvalidConfiguration,
          `[meilisearch] "${name}" must be a positive number`,
        );
      }
      return v;
    };
    const timeout = positive(opts.timeoutMs, 'timeoutMs', 10_000);
    this.#wait = {
      timeout: positive(opts.taskTimeoutMs, 'taskTimeoutMs', 30_000),
      interval: positive(opts.taskPollIntervalMs, 'taskPollIntervalMs', 50),
    };
    this.#batchSize = Math.floor(positive(opts.batchSize, 'batchSize', 1000));
    if (opts.maxTotalHits !== undefined)
      this.#maxTotalHits = Math.floor(positive(opts.maxTotalHits, 'maxTotalHits', 1));
    this.#secrets = opts.apiKey ? [opts.apiKey] : [];
    try {
      this.#client = new Meilisearch({
        host: opts.host,
        apiKey: opts.apiKey || undefined,
        timeout,
        defaultWaitOptions: this.#wait,
        clientAgents: ['fraiseql-integrations'],
      });
    } catch (err) {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        `[meilisearch] invalid host ${JSON.stringify(opts.host)}: ${(err as Error).message}`,
      );
    }
  }

  /** @internal Checks the server and the key, then applies `indexes`. Called by the factory. */
  async connect(indexes: Record<string, IndexConfig> | undefined): Promise<void> {
    await this.#call('health check', undefined, async () => {
      const { status } = await this.#client.health();
      if (status !== 'available') throw new Error(`server status is "${status}"`);
    });
    // /health needs no key; listing one index proves the key is accepted.
    await this.#call('checking the API key', undefined, () => this.#client.getRawIndexes({ limit: 1 }));
    for (const [index, config] of Object.entries(indexes ?? {})) await this.configureIndex(index, config);
  }

  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    this.#open();
    if (!q || typeof q !== 'object') throw invalidQuery('A search query must be an object');
    assertIndexName(q.index);
    const index = q.index;
    if (typeof q.query !== 'string') throw invalidQuery('query must be a string ("" browses)', 'query');
    const limit = checkCount(q.limit, 'limit', DEFAULT_SEARCH_LIMIT);
    const offset = checkCount(q.offset, 'offset', 0);
    const facets = fieldList(q.facets, 'facets');
    const highlight = fieldList(q.highlight, 'highlight');
    if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string') {
      throw invalidQuery('rawFilter must be a Meilisearch filter string', 'rawFilter');
    }
    const filter = normalizeFilter(q.filter);
    const sort = parseSort(q.sort);

    let known = await this.#index(index);
    const problem = (k: KnownIndex): IntegrationError | undefined => {
      for (const leaf of filter.flat()) {
        if (!covered(leaf.field, k.filterable)) {
          return invalidQuery(
            `Field "${leaf.field}" is not filterable; declare it in the index's filterable fields`,
            leaf.field,
          );
        }
      }
      for (const s of sort) {
        if (!covered(s.field, k.sortable)) {
          return invalidQuery(
            `Field "${s.field}" is not sortable; declare it in the index's sortable fields`,
            'sort',
          );
        }
      }
      for (const f of facets) {
        if (!covered(f, k.filterable)) {
          return invalidQuery(
            `Facet "${f}" is not filterable; declare it in the index's filterable fields`,
            'facets',
          );
        }
      }
      return undefined;
    };
    let bad = problem(known);
    if (bad && !known.local) {
      // Settings read back earlier may be stale (another process configured the index since).
      this.#known.delete(index);
      known = await this.#index(index);
      bad = problem(known);
    }
    if (bad) throw bad;

    const translated = toMeilisearchFilter(filter);
    const raw = q.rawFilter?.trim() ? q.rawFilter : undefined;
    const engineFilter: EngineFilter | undefined =
      raw && translated ? [raw, translated] : (raw ?? translated);
    const { hitsPerPage, page, skip } = pageWindow(offset, limit);
    const params: SearchParams = {
      hitsPerPage,
      page,
      matchingStrategy: 'all',
      showRankingScore: true,
    };
    if (engineFilter !== undefined) params.filter = engineFilter;
    if (sort.length > 0) params.sort = toMeilisearchSort(sort);
    if (facets.length > 0) params.facets = facets;
    if (highlight.length > 0) {
      params.attributesToHighlight = highlight;
      params.highlightPreTag = '<mark>';
      params.highlightPostTag = '</mark>';
    }

    const res = await this.#call('search', index, () =>
      this.#engineIndex(index).search<Record<string, unknown>, SearchParams>(q.query, params),
    );
    const hits = (res.hits ?? []).slice(skip, skip + limit).map((h) => this.#hit<T>(h, known, highlight));
    // Page mode answers `totalHits`; `estimatedTotalHits` only if the server ignored it.
    const counts = res as { totalHits?: number; estimatedTotalHits?: number };
    const finite = typeof counts.totalHits === 'number';
    const totalHits = finite ? counts.totalHits! : (counts.estimatedTotalHits ?? hits.length);
    const result: SearchResult<T> = {
      hits,
      totalHits,
      totalHitsExact: finite && totalHits < known.maxTotalHits,
      processingTimeMs: typeof res.processingTimeMs === 'number' ? res.processingTimeMs : 0,
    };
    if (facets.length > 0) {
      const dist = (res.facetDistribution ?? {}) as Record<string, Record<string, number>>;
      result.facets = Object.fromEntries(
        facets.map((f) => {
          const counts: FacetCount[] = Object.entries(dist[f] ?? {}).map(([value, count]) => ({
            value,
            count,
          }));
          counts.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
          return [f, counts];
        }),
      );
    }
    return result;
  }

  async indexDocument(doc: Document): Promise<void> {
    this.#open();
    if (!doc || typeof doc !== 'object')
      throw invalidDocument('A document must be an object { id, index, data }');
    assertIndexName(doc.index);
    const known = await this.#writeTarget(doc.index);
    const body = this.#engineDocument(doc, known.primaryKey);
    const task = await this.#task('indexing a document', doc.index, (i) =>
      i.addDocuments([body], { primaryKey: known.primaryKey }),
    );
    if (task.status !== 'succeeded') {
      throw taskFailure(
        task,
        `indexing document ${JSON.stringify(doc.id)} into "${doc.index}" failed`,
        doc.index,
        this.#secrets,
      );
    }
  }

  /**
   * Indexes documents (of one or several indexes) in tasks of `batchSize`. A document that cannot
   * be stored (no id, non-object data, unserialisable, id over 511 bytes once encoded) is reported
   * in `failed` without being sent; a task the engine fails reports every document of its batch
   * with the engine's message. An invalid index name (IN106), or a request that fails outright
   * (auth, network, timeout), rejects the whole call — batches sent before it stay indexed.
   */
  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    this.#open();
    if (!Array.isArray(docs)) throw invalidDocument('indexDocuments takes an array of documents');
    const failed: BulkResult['failed'] = [];
    const groups = new Map<string, Document[]>();
    for (const doc of docs) {
      if (!doc || typeof doc !== 'object') {
        failed.push({ id: '', reason: 'A document must be an object { id, index, data }' });
        continue;
      }
      assertIndexName(doc.index);
      const group = groups.get(doc.index);
      if (group) group.push(doc);
      else groups.set(doc.index, [doc]);
    }
    let succeeded = 0;
    for (const [index, group] of groups) {
      const known = await this.#writeTarget(index);
      const ready: { id: string; body: Record<string, unknown> }[] = [];
      for (const doc of group) {
        try {
          ready.push({ id: doc.id, body: this.#engineDocument(doc, known.primaryKey) });
        } catch (err) {
          failed.push({ id: typeof doc.id === 'string' ? doc.id : '', reason: (err as Error).message });
        }
      }
      for (let i = 0; i < ready.length; i += this.#batchSize) {
        const batch = ready.slice(i, i + this.#batchSize);
        const task = await this.#task('indexing documents', index, (idx) =>
          idx.addDocuments(
            batch.map((d) => d.body),
            { primaryKey: known.primaryKey },
          ),
        );
        if (task.status === 'succeeded') succeeded += batch.length;
        else {
          const reason = taskFailureReason(task);
          for (const d of batch) failed.push({ id: d.id, reason });
        }
      }
    }
    return { succeeded, failed };
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    if (typeof id !== 'string') throw invalidDocument('Document id must be a string');
    const stored = encodeDocumentId(id);
    // An id Meilisearch could never have stored is already absent.
    if (id === '' || Buffer.byteLength(stored) > MAX_ENGINE_ID_BYTES) return;
    const task = await this.#task('deleting a document', index, (i) => i.deleteDocument(stored));
    if (task.status !== 'succeeded') {
      throw taskFailure(
        task,
        `deleting document ${JSON.stringify(id)} from "${index}" failed`,
        index,
        this.#secrets,
      );
    }
  }

  async clearIndex(index: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    const task = await this.#task('clearing the index', index, (i) => i.deleteAllDocuments());
    if (task.status !== 'succeeded')
      throw taskFailure(task, `clearing "${index}" failed`, index, this.#secrets);
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    this.#open();
    assertIndexName(index);
    const checked = checkConfig(config);
    const primaryKey = checked.primaryKey ?? 'id';
    const info = await this.#call('reading the index', index, () => this.#client.getRawIndex(index)).catch(
      (err: unknown) => {
        if (err instanceof IntegrationError && err.code === ErrorCode.IndexNotFound) return undefined;
        throw err;
      },
    );
    let setPrimaryKey = info !== undefined && info.primaryKey !== primaryKey;
    if (!info) {
      const created = await this.#clientTask('creating the index', index, () =>
        this.#client.createIndex(index, { primaryKey }),
      );
      if (created.status !== 'succeeded') {
        // Created meanwhile by someone else: make sure it has our primary key.
        if (created.error?.code !== 'index_already_exists') {
          throw taskFailure(created, `creating "${index}" failed`, index, this.#secrets);
        }
        setPrimaryKey = true;
      }
    }
    if (setPrimaryKey) {
      // Only possible while the index holds no documents; the engine's refusal is reported as IN105.
      const updated = await this.#clientTask('setting the primary key', index, () =>
        this.#client.updateIndex(index, { primaryKey }),
      );
      if (updated.status !== 'succeeded') {
        throw taskFailure(
          updated,
          `setting the primary key of "${index}" to "${primaryKey}" failed`,
          index,
          this.#secrets,
        );
      }
    }
    const settings: Record<string, unknown> = {
      searchableAttributes: checked.searchable,
      filterableAttributes: checked.filterable ?? [],
      sortableAttributes: checked.sortable ?? [],
      rankingRules: RANKING_RULES,
    };
    if (this.#maxTotalHits !== undefined) settings.pagination = { maxTotalHits: this.#maxTotalHits };
    const task = await this.#task('configuring the index', index, (i) => i.updateSettings(settings));
    if (task.status !== 'succeeded')
      throw taskFailure(task, `configuring "${index}" failed`, index, this.#secrets);
    this.#known.set(index, {
      primaryKey,
      filterable: checked.filterable ?? [],
      sortable: checked.sortable ?? [],
      maxTotalHits: this.#maxTotalHits ?? ENGINE_DEFAULT_MAX_TOTAL_HITS,
      local: true,
    });
  }

  /**
   * Deletes an index with its documents and settings (not part of the SearchProvider contract;
   * used to clean up). Deleting an index that does not exist resolves.
   */
  async deleteIndex(index: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    this.#known.delete(index);
    const task = await this.#clientTask('deleting the index', index, () => this.#client.deleteIndex(index));
    if (task.status !== 'succeeded' && task.error?.code !== 'index_not_found') {
      throw taskFailure(task, `deleting "${index}" failed`, index, this.#secrets);
    }
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const { status } = await this.#client.health();
      return status === 'available';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    // The client holds no connection of its own (it uses the global fetch); forgetting state is enough.
    this.#closed = true;
    this.#known.clear();
  }

  #open(): void {
    if (this.#closed) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        '[meilisearch] the search provider is closed',
      );
    }
  }

  #engineIndex(index: string): Index {
    return this.#client.index(index);
  }

  async #call<R>(context: string, index: string | undefined, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (err) {
      throw mapClientError(err, context, index, this.#secrets);
    }
  }

  /** Enqueues an index task and waits for it; request failures are mapped, the task is returned as is. */
  #task(context: string, index: string, start: (i: Index) => EnqueuedTaskPromise): Promise<Task> {
    return this.#clientTask(context, index, () => start(this.#engineIndex(index)));
  }

  #clientTask(context: string, index: string, start: () => EnqueuedTaskPromise): Promise<Task> {
    return this.#call(context, index, () => start().waitTask(this.#wait));
  }

  /** Configuration of an index: cached, or read back from the server's settings (IN100 when missing). */
  async #index(index: string): Promise<KnownIndex> {
    const cached = this.#known.get(index);
    if (cached) return cached;
    const [info, settings] = await this.#call('reading the index settings', index, () =>
      Promise.all([this.#client.getRawIndex(index), this.#engineIndex(index).getSettings()]),
    );
    const known: KnownIndex = {
      primaryKey: info.primaryKey ?? 'id',
      filterable: settings.filterableAttributes ?? [],
      sortable: settings.sortableAttributes ?? [],
      maxTotalHits: settings.pagination?.maxTotalHits ?? ENGINE_DEFAULT_MAX_TOTAL_HITS,
      local: false,
    };
    // An index without a primary key yet (no documents) may still get one: do not cache a guess.
    if (info.primaryKey) this.#known.set(index, known);
    return known;
  }

  /** Like `#index`, but an index that does not exist yet is fine: the write creates it with `id`. */
  async #writeTarget(index: string): Promise<KnownIndex> {
    try {
      return await this.#index(index);
    } catch (err) {
      if (err instanceof IntegrationError && err.code === ErrorCode.IndexNotFound) {
        return {
          primaryKey: 'id',
          filterable: [],
          sortable: [],
          maxTotalHits: ENGINE_DEFAULT_MAX_TOTAL_HITS,
          local: false,
        };
      }
      throw err;
    }
  }

  /** The document as Meilisearch stores it: data plus the (encoded) id under the primary key. */
  #engineDocument(doc: Document, primaryKey: string): Record<string, unknown> {
    if (typeof doc.id !== 'string' || doc.id.length === 0)
      throw invalidDocument('Document id must be a non-empty string');
    const data: unknown = doc.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw invalidDocument(`Document ${JSON.stringify(doc.id)}: data must be a plain object`);
    }
    const stored = encodeDocumentId(doc.id);
    if (Buffer.byteLength(stored) > MAX_ENGINE_ID_BYTES) {
      throw invalidDocument(
        `Document id ${JSON.stringify(doc.id.slice(0, 40))}… is too long for Meilisearch (${MAX_ENGINE_ID_BYTES} bytes once encoded)`,
      );
    }
    const body = { ...(datesToMillis(data) as Record<string, unknown>), [primaryKey]: stored };
    try {
      JSON.stringify(body);
    } catch (err) {
      throw invalidDocument(
        `Document ${JSON.stringify(doc.id)} cannot be serialised to JSON: ${(err as Error).message}`,
      );
    }
    return body;
  }

  #hit<T>(h: Record<string, unknown>, known: KnownIndex, highlight: string[]): SearchHit<T> {
    const pk = known.primaryKey;
    const id = decodeDocumentId(String(h[pk] ?? ''));
    const document: Record<string, unknown> = { ...h };
    for (const f of INTERNAL_HIT_FIELDS) delete document[f];
    document[pk] = id;
    const hit: SearchHit<T> = { id, document: document as T };
    if (typeof h._rankingScore === 'number') hit.score = h._rankingScore;
    if (highlight.length > 0 && h._formatted && typeof h._formatted === 'object') {
      const highlights: Record<string, string> = {};
      for (const field of highlight) {
        const v = getField(h._formatted as Record<string, unknown>, field);
        if (typeof v === 'string') highlights[field] = v;
        else if (Array.isArray(v)) {
          const parts = v.filter((x) => typeof x === 'string');
          if (parts.length > 0) highlights[field] = parts.join(', ');
        }
      }
      hit.highlights = highlights;
    }
    return hit;
  }
}

/**
 * Creates the Meilisearch search provider: checks that the server answers `/health` and accepts
 * the API key, then applies `indexes` with `configureIndex`. An unreachable server is IN501/IN502
 * (or IN102 after `timeoutMs`), a refused key IN400 — the key never appears in a message.
 */
export async function createMeilisearchSearch(opts: MeilisearchSearchOptions): Promise<MeilisearchSearch> {
  const provider = new MeilisearchSearch(opts);
  try {
    await provider.connect(opts.indexes);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
