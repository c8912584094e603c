import {
  assertIndexName,
  type BulkResult,
  DEFAULT_SEARCH_LIMIT,
  type Document,
  ErrorCode,
  type FacetCount,
  type IndexConfig,
  IntegrationError,
  isValidFieldName,
  MAX_SEARCH_LIMIT,
  normalizeFilter,
  parseSort,
  positiveOption,
  type SearchCommonOptions,
  type SearchHit,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
  type SortSpec,
} from '@fraiseql/core';
import { algoliasearch } from 'algoliasearch';
import { type CallContext, mapAlgoliaError, PROVIDER, timeoutError } from './errors';
import { ALGOLIA_FIELDS_ATTRIBUTE, combineAlgoliaFilters, toAlgoliaFilterUnion } from './filter';
import {
  compareForSort,
  fromHit,
  RESERVED_ATTRIBUTES,
  replicaName,
  replicaRanking,
  SORT_ATTRIBUTE,
  toRecord,
} from './records';
import { createOwnedRequester, type OwnedRequester } from './requester';

export interface AlgoliaSearchOptions extends SearchCommonOptions {
  /** Algolia application id. Required. */
  appId: string;
  /**
   * API key with the `search`, `addObject`, `deleteObject`, `deleteIndex`, `settings`,
   * `editSettings` and `listIndexes` ACLs (an admin key, or a key scoped to your indexes).
   * Required; never included in error messages.
   */
  apiKey: string;
  /**
   * Hosts to call instead of Algolia's (`<appId>-dsn.algolia.net` for reads, `<appId>.algolia.net`
   * for writes, then `<appId>-1…3.algolianet.com` as fallbacks). Each is `host`, `host:port`
   * (HTTPS) or a URL `http(s)://host:port`. Default: Algolia's hosts.
   */
  hosts?: string[];
  /**
   * Deadline of one API call, in ms, including the client's retries across hosts; past it the
   * call fails with IN102. Default 5000.
   */
  timeoutMs?: number;
  /** How long a write waits for its task to be published before failing with IN105, in ms. Default 30000. */
  taskTimeoutMs?: number;
  /** Records per batch request. Default 1000 (Algolia recommends batches of about 1000 records / 10 MB). */
  batchSize?: number;
}

/** The Algolia provider: the SearchProvider contract plus `dropIndex`. */
export interface AlgoliaSearchProvider extends SearchProvider {
  readonly name: 'algolia';
  /** Deletes an index and the sort replicas the provider created for it (missing indexes are fine). */
  dropIndex(index: string): Promise<void>;
}

type Client = ReturnType<typeof algoliasearch>;
type Settings = Record<string, unknown>;

interface Resolved {
  searchable: string[];
  filterable: string[];
  sortable: string[];
  primaryKey?: string;
}

interface IndexState {
  config: Resolved;
  /** Replica name → the sort it serves, for the replicas this provider manages. */
  ours: Map<string, SortSpec[]>;
  /** Every replica of the index (ours and the user's). */
  replicas: Set<string>;
}

/** What the provider keeps in the index's `userData.fraiseql`, so another process can reuse it. */
interface StoredState {
  version: 1;
  config: Resolved;
  replicas: Record<string, SortSpec[]>;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_TASK_TIMEOUT_MS = 30_000;
const DEFAULT_BATCH_SIZE = 1_000;
const HIGHLIGHT_PRE = '<mark>';
const HIGHLIGHT_POST = '</mark>';

const invalidQuery = (message: string, field?: string) =>
  IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
const invalidDocument = (message: string, field?: string) =>
  IntegrationError.invalidInput(ErrorCode.InvalidDocument, message, field);
const invalidConfig = (message: string) =>
  new IntegrationError(ErrorCode.InvalidConfiguration, message, {
    kind: 'invalid_input',
    provider: PROVIDER,
  });

function parseHost(raw: string): {
  url: string;
  port?: number;
  protocol: 'http' | 'https';
  accept: 'readWrite';
} {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw invalidConfig('[algolia] hosts entries must be non-empty strings');
  const m = /^(https?):\/\/(.*)$/i.exec(raw.trim());
  const protocol = (m ? m[1]!.toLowerCase() : 'https') as 'http' | 'https';
  let u: URL;
  try {
    u = new URL(`${protocol}://${(m ? m[2]! : raw.trim()).replace(/\/+$/, '')}`);
  } catch {
    throw invalidConfig(`[algolia] invalid host ${JSON.stringify(raw)}`);
  }
  if (u.pathname !== '/' || u.search)
    throw invalidConfig(`[algolia] a host cannot carry a path: ${JSON.stringify(raw)}`);
  return { url: u.hostname, ...(u.port ? { port: Number(u.port) } : {}), protocol, accept: 'readWrite' };
}

function fieldList(value: unknown, name: string, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value) || (required && value.length === 0)) {
    throw invalidConfig(
      `[algolia] index config "${name}" must be ${required ? 'a non-empty' : 'an'} array of field names`,
    );
  }
  for (const f of value) {
    if (!isValidFieldName(f))
      throw invalidConfig(`[algolia] invalid field name ${JSON.stringify(f)} in "${name}"`);
    if ((RESERVED_ATTRIBUTES as readonly string[]).includes(f.split('.')[0]!)) {
      throw invalidConfig(`[algolia] field name "${f}" is reserved by the provider`);
    }
  }
  return [...new Set(value as string[])];
}

function resolveConfig(config: IndexConfig): Resolved {
  if (!config || typeof config !== 'object') throw invalidConfig('[algolia] index config must be an object');
  const resolved: Resolved = {
    searchable: fieldList(config.searchable, 'searchable', true),
    filterable: fieldList(config.filterable, 'filterable', false),
    sortable: fieldList(config.sortable, 'sortable', false),
  };
  if (config.primaryKey !== undefined) {
    if (!isValidFieldName(config.primaryKey)) throw invalidConfig('[algolia] invalid primaryKey');
    resolved.primaryKey = config.primaryKey;
  }
  return resolved;
}

const stripModifier = (a: string) => /^[a-zA-Z]+\((.*)\)$/.exec(a.trim())?.[1]?.trim() ?? a.trim();

/** The provider's view of an index from its settings (ours in `userData`, else derived). */
function stateFromSettings(settings: Settings): IndexState {
  const replicas = new Set(((settings.replicas as string[] | undefined) ?? []).map(stripModifier));
  const stored = (settings.userData as { fraiseql?: StoredState } | undefined)?.fraiseql;
  if (stored?.version === 1 && stored.config) {
    const ours = new Map(Object.entries(stored.replicas ?? {}).filter(([name]) => replicas.has(name)));
    return { config: stored.config, ours, replicas };
  }
  const searchable = ((settings.searchableAttributes as string[] | null) ?? []).flatMap((a) =>
    a.split(',').map(stripModifier),
  );
  const filterable = ((settings.attributesForFaceting as string[] | null) ?? [])
    .map(stripModifier)
    .filter((a) => a !== ALGOLIA_FIELDS_ATTRIBUTE);
  return { config: { searchable, filterable, sortable: [] }, ours: new Map(), replicas };
}

function checkLimit(value: unknown, name: 'limit' | 'offset', dflt: number): number {
  if (value === undefined || value === null) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidQuery(`${name} must be a non-negative integer`, name);
  }
  if (name === 'limit' && value > MAX_SEARCH_LIMIT) {
    throw invalidQuery(`limit must be at most ${MAX_SEARCH_LIMIT} (got ${value})`, 'limit');
  }
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => !isValidFieldName(v))) {
    throw invalidQuery(`${name} must be an array of field names`, name);
  }
  return value as string[];
}

function highlightOf(result: unknown): string | undefined {
  if (Array.isArray(result)) {
    const parts = result.map(highlightOf).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  if (result && typeof result === 'object' && typeof (result as { value?: unknown }).value === 'string') {
    return (result as { value: string }).value;
  }
  return undefined;
}

function pathOf(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

interface RawResult {
  hits: Record<string, unknown>[];
  nbHits?: number;
  exhaustiveNbHits?: boolean;
  exhaustive?: { nbHits?: boolean };
  processingTimeMS?: number;
  facets?: Record<string, Record<string, number>>;
}

class AlgoliaSearch implements AlgoliaSearchProvider {
  readonly name = 'algolia' as const;
  private readonly client: Client;
  private readonly owned: OwnedRequester;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly taskTimeoutMs: number;
  private readonly batchSize: number;
  private readonly states = new Map<string, IndexState>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(opts: AlgoliaSearchOptions) {
    if (typeof opts?.appId !== 'string' || opts.appId.trim() === '') {
      throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[algolia] appId is required');
    }
    if (typeof opts.apiKey !== 'string' || opts.apiKey === '') {
      throw IntegrationError.configuration(ErrorCode.MissingConfiguration, '[algolia] apiKey is required');
    }
    this.apiKey = opts.apiKey;
    this.timeoutMs = positiveOption(
      opts.timeoutMs,
      'timeoutMs',
      DEFAULT_TIMEOUT_MS,
      'algolia',
      'milliseconds',
    );
    this.taskTimeoutMs = positiveOption(
      opts.taskTimeoutMs,
      'taskTimeoutMs',
      DEFAULT_TASK_TIMEOUT_MS,
      'algolia',
      'milliseconds',
    );
    this.batchSize = Math.floor(positiveOption(opts.batchSize, 'batchSize', DEFAULT_BATCH_SIZE, 'algolia'));
    if (opts.hosts !== undefined && (!Array.isArray(opts.hosts) || opts.hosts.length === 0)) {
      throw invalidConfig('[algolia] hosts must be a non-empty array');
    }
    const hosts = opts.hosts?.map(parseHost);
    this.owned = createOwnedRequester();
    this.client = algoliasearch(opts.appId, opts.apiKey, {
      ...(hosts ? { hosts } : {}),
      requester: this.owned.requester,
      // A host that does not connect within 2 s is skipped for the next one; the whole call is
      // still bounded by timeoutMs (see call()).
      timeouts: { connect: Math.min(this.timeoutMs, 2_000), read: this.timeoutMs, write: this.timeoutMs },
    });
  }

  // ------------------------------------------------------------------------------ plumbing

  /** Runs one client call under the deadline and maps its errors. */
  private async call<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    if (this.closed) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `[algolia] ${ctx.op}: provider is closed`,
      );
    }
    const run = fn();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(ctx, this.timeoutMs, this.apiKey)), this.timeoutMs);
      this.timers.add(timer);
    });
    // The losing side of the race must not surface as an unhandled rejection.
    run.catch(() => undefined);
    try {
      return await Promise.race([run, deadline]);
    } catch (err) {
      throw mapAlgoliaError(err, ctx, this.apiKey);
    } finally {
      if (timer) {
        clearTimeout(timer);
        this.timers.delete(timer);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Waits until a task is published (the write is then visible to searches), or IN105. */
  private async waitTask(index: string, taskID: number): Promise<void> {
    const started = Date.now();
    let delay = 10;
    for (;;) {
      let status: string;
      try {
        const r = await this.call(
          { op: `wait for task ${taskID} on index "${index}"`, kind: 'settings', index },
          () => this.client.getTask({ indexName: index, taskID }),
        );
        status = r.status;
      } catch (err) {
        if ((err as IntegrationError).code === ErrorCode.AlgoliaError) {
          throw IntegrationError.provider(
            ErrorCode.IndexingFailed,
            PROVIDER,
            `[algolia] task ${taskID} on index "${index}" failed: ${(err as Error).message}`,
            err,
          );
        }
        throw err;
      }
      if (status === 'published') return;
      const elapsed = Date.now() - started;
      if (elapsed >= this.taskTimeoutMs) {
        throw IntegrationError.provider(
          ErrorCode.IndexingFailed,
          PROVIDER,
          `[algolia] task ${taskID} on index "${index}" was not published within ${this.taskTimeoutMs} ms (status ${status})`,
        );
      }
      await this.sleep(Math.min(delay, this.taskTimeoutMs - elapsed));
      delay = Math.min(delay * 2, 500);
    }
  }

  /** Serialises settings changes of one index inside this process. */
  private withLock<T>(index: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(index) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(index, tail);
    void tail.then(() => {
      if (this.locks.get(index) === tail) this.locks.delete(index);
    });
    return next;
  }

  private async getSettings(index: string): Promise<Settings | undefined> {
    try {
      return (await this.call({ op: `read settings of index "${index}"`, kind: 'read', index }, () =>
        this.client.getSettings({ indexName: index }),
      )) as Settings;
    } catch (err) {
      if ((err as IntegrationError).code === ErrorCode.IndexNotFound) return undefined;
      throw err;
    }
  }

  /** The provider's view of an index: cached, else read from its settings (undefined when missing). */
  private async state(index: string): Promise<IndexState | undefined> {
    const cached = this.states.get(index);
    if (cached) return cached;
    const settings = await this.getSettings(index);
    if (!settings) return undefined;
    const state = stateFromSettings(settings);
    this.states.set(index, state);
    return state;
  }

  private async setSettings(index: string, settings: Settings): Promise<void> {
    const r = await this.call({ op: `update settings of index "${index}"`, kind: 'settings', index }, () =>
      this.client.setSettings({ indexName: index, indexSettings: settings as never }),
    );
    await this.waitTask(index, r.taskID);
  }

  private baseSettings(config: Resolved): Settings {
    return {
      searchableAttributes: config.searchable,
      attributesForFaceting: [...config.filterable, `filterOnly(${ALGOLIA_FIELDS_ATTRIBUTE})`],
      unretrievableAttributes: [ALGOLIA_FIELDS_ATTRIBUTE, SORT_ATTRIBUTE],
    };
  }

  /** The standard replica serving `sort`, created (and recorded in userData) on first use. */
  private async replicaFor(index: string, state: IndexState, sort: SortSpec[]): Promise<string> {
    const name = replicaName(index, sort);
    if (state.ours.has(name)) return name;
    return this.withLock(index, async () => {
      if (state.ours.has(name)) return name;
      const settings = (await this.getSettings(index)) ?? {};
      const replicas = (settings.replicas as string[] | undefined) ?? [];
      const stored = (settings.userData as { fraiseql?: StoredState } | undefined)?.fraiseql;
      if (stored?.replicas?.[name] && replicas.map(stripModifier).includes(name)) {
        // Another instance (or process) created it since this one read the settings.
        state.ours.set(name, sort);
        state.replicas.add(name);
        return name;
      }
      const ours = { ...(stored?.replicas ?? {}), [name]: sort };
      await this.setSettings(index, {
        replicas: replicas.includes(name) ? replicas : [...replicas, name],
        userData: {
          ...((settings.userData as object | undefined) ?? {}),
          fraiseql: { version: 1, config: state.config, replicas: ours } satisfies StoredState,
        },
      });
      await this.setSettings(name, { ...this.baseSettings(state.config), ranking: replicaRanking(sort) });
      state.ours.set(name, sort);
      state.replicas.add(name);
      return name;
    });
  }

  // ------------------------------------------------------------------------------- contract

  async healthCheck(): Promise<boolean> {
    try {
      await this.call({ op: 'health check', kind: 'settings' }, () =>
        this.client.listIndices({ hitsPerPage: 1 }),
      );
      return true;
    } catch {
      return false;
    }
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    assertIndexName(index);
    const resolved = resolveConfig(config);
    await this.withLock(index, async () => {
      const current = (await this.getSettings(index)) ?? {};
      const currentReplicas = ((current.replicas as string[] | undefined) ?? []).map(stripModifier);
      const stored = (current.userData as { fraiseql?: StoredState } | undefined)?.fraiseql;
      const previous = new Map(Object.entries(stored?.replicas ?? {}));

      // Single-key replicas for every sortable field; multi-key ones are kept while still valid.
      const wanted = new Map<string, SortSpec[]>();
      for (const field of resolved.sortable) {
        for (const direction of ['asc', 'desc'] as const) {
          const sort = [{ field, direction }];
          wanted.set(replicaName(index, sort), sort);
        }
      }
      for (const [name, sort] of previous) {
        if (sort.every((s) => resolved.sortable.includes(s.field))) wanted.set(name, sort);
      }
      const obsolete = [...previous.keys()].filter((name) => !wanted.has(name));
      const userReplicas = ((current.replicas as string[] | undefined) ?? []).filter(
        (r) => !previous.has(stripModifier(r)) && !wanted.has(stripModifier(r)),
      );

      await this.setSettings(index, {
        ...this.baseSettings(resolved),
        replicas: [...userReplicas, ...wanted.keys()],
        userData: {
          ...((current.userData as object | undefined) ?? {}),
          fraiseql: {
            version: 1,
            config: resolved,
            replicas: Object.fromEntries(wanted),
          } satisfies StoredState,
        },
      });
      await Promise.all(
        [...wanted].map(([name, sort]) =>
          this.setSettings(name, { ...this.baseSettings(resolved), ranking: replicaRanking(sort) }),
        ),
      );
      // Replicas detached from the primary are ordinary indexes now: remove them.
      await Promise.all(obsolete.filter((r) => currentReplicas.includes(r)).map((r) => this.deleteIndex(r)));
      this.states.set(index, {
        config: resolved,
        ours: new Map(wanted),
        replicas: new Set([...userReplicas.map(stripModifier), ...wanted.keys()]),
      });
    });
  }

  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    if (!q || typeof q !== 'object') throw invalidQuery('search takes a query object');
    assertIndexName(q.index);
    if (typeof q.query !== 'string') throw invalidQuery('query must be a string ("" browses)', 'query');
    if (q.rawFilter !== undefined && typeof q.rawFilter !== 'string') {
      throw invalidQuery('rawFilter must be a string of Algolia filter syntax', 'rawFilter');
    }
    const limit = checkLimit(q.limit, 'limit', DEFAULT_SEARCH_LIMIT);
    const offset = checkLimit(q.offset, 'offset', 0);
    const facets = stringList(q.facets, 'facets');
    const highlight = stringList(q.highlight, 'highlight');

    const state = await this.state(q.index);
    if (!state) throw IntegrationError.indexNotFound(q.index);
    const { config } = state;
    const nf = normalizeFilter(q.filter, config.filterable);
    const sort = parseSort(q.sort, config.sortable);
    for (const f of facets) {
      if (!config.filterable.includes(f)) {
        throw invalidQuery(`Cannot facet on "${f}": declare it in the index's filterable fields`, 'facets');
      }
    }
    const filters = toAlgoliaFilterUnion(nf).map((f) => combineAlgoliaFilters(q.rawFilter, f));
    const target = sort.length > 0 ? await this.replicaFor(q.index, state, sort) : q.index;

    const common: Record<string, unknown> = {
      query: q.query,
      // Deterministic, "every word must match" semantics on every engine.
      typoTolerance: false,
      queryType: 'prefixLast',
      removeWordsIfNoResults: 'none',
      ignorePlurals: false,
      removeStopWords: false,
      advancedSyntax: false,
      attributesToHighlight: highlight,
      attributesToSnippet: [],
      highlightPreTag: HIGHLIGHT_PRE,
      highlightPostTag: HIGHLIGHT_POST,
      ...(facets.length > 0 ? { facets, maxValuesPerFacet: 1000 } : {}),
    };
    const ctx: CallContext = { op: `search index "${q.index}"`, kind: 'search', index: q.index };
    const started = performance.now();
    let results: RawResult[];
    if (filters.length === 1) {
      const params = { ...common, offset, length: limit, ...(filters[0] ? { filters: filters[0] } : {}) };
      results = [
        (await this.call(ctx, () =>
          this.client.searchSingleIndex({ indexName: target, searchParams: params as never }),
        )) as unknown as RawResult,
      ];
    } else {
      // Disjoint record sets (see toAlgoliaFilterUnion): fetch the first offset+limit of each and merge.
      const length = offset + limit;
      if (length > MAX_SEARCH_LIMIT) {
        throw invalidQuery(
          `offset + limit must be at most ${MAX_SEARCH_LIMIT} when an OR group mixes numeric and other conditions on Algolia`,
          'offset',
        );
      }
      const response = await this.call(ctx, () =>
        this.client.search({
          requests: filters.map((f) => ({
            ...common,
            indexName: target,
            offset: 0,
            length,
            filters: f,
          })) as never,
        }),
      );
      results = (response as unknown as { results: RawResult[] }).results;
    }
    return this.toResult<T>(results, { sort, offset, limit, facets, highlight, started });
  }

  private toResult<T>(
    results: RawResult[],
    o: {
      sort: SortSpec[];
      offset: number;
      limit: number;
      facets: string[];
      highlight: string[];
      started: number;
    },
  ): SearchResult<T> {
    let raw = results.flatMap((r) => r.hits ?? []);
    if (results.length > 1) {
      if (o.sort.length > 0) raw = [...raw].sort((a, b) => compareForSort(o.sort, fromHit(a), fromHit(b)));
      raw = raw.slice(o.offset, o.offset + o.limit);
    }
    const hits: SearchHit<T>[] = raw.map((hit) => {
      const out: SearchHit<T> = { id: String(hit.objectID), document: fromHit(hit) as T };
      if (o.highlight.length > 0) {
        const highlights: Record<string, string> = {};
        for (const field of o.highlight) {
          const h = highlightOf(pathOf(hit._highlightResult, field));
          if (h !== undefined) highlights[field] = h;
        }
        out.highlights = highlights;
      }
      return out;
    });
    const result: SearchResult<T> = {
      hits,
      totalHits: results.reduce((n, r) => n + (r.nbHits ?? 0), 0),
      totalHitsExact: results.every((r) => (r.exhaustive?.nbHits ?? r.exhaustiveNbHits ?? true) === true),
      processingTimeMs: Math.max(
        0,
        results.length === 1 && typeof results[0]!.processingTimeMS === 'number'
          ? results[0]!.processingTimeMS
          : Math.round(performance.now() - o.started),
      ),
    };
    if (o.facets.length > 0) {
      const facets: Record<string, FacetCount[]> = {};
      for (const field of o.facets) {
        const counts = new Map<string, number>();
        for (const r of results) {
          for (const [value, count] of Object.entries(r.facets?.[field] ?? {})) {
            counts.set(value, (counts.get(value) ?? 0) + count);
          }
        }
        facets[field] = [...counts]
          .map(([value, count]) => ({ value, count }))
          .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
      }
      result.facets = facets;
    }
    return result;
  }

  /** Validates a document and builds its record, or throws IN107. */
  private record(doc: Document, state: IndexState | undefined): Record<string, unknown> {
    if (typeof doc.id !== 'string' || doc.id === '')
      throw invalidDocument('A document needs a non-empty string id', 'id');
    const data = doc.data;
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw invalidDocument(`Document "${doc.id}" must have an object as data`, 'data');
    }
    for (const reserved of RESERVED_ATTRIBUTES) {
      if (reserved in data) {
        throw invalidDocument(
          `Document "${doc.id}" uses the attribute "${reserved}", reserved by the Algolia provider`,
          'data',
        );
      }
    }
    try {
      return toRecord(doc.id, data, state?.config.sortable ?? []);
    } catch (err) {
      throw invalidDocument(
        `Document "${doc.id}" cannot be serialised to JSON: ${(err as Error).message}`,
        'data',
      );
    }
  }

  private async batch(index: string, records: Record<string, unknown>[]): Promise<number> {
    const r = await this.call(
      { op: `index ${records.length} document(s) into "${index}"`, kind: 'write', index },
      () =>
        this.client.batch({
          indexName: index,
          batchWriteParams: { requests: records.map((body) => ({ action: 'addObject', body })) as never },
        }),
    );
    return r.taskID;
  }

  async indexDocument(doc: Document): Promise<void> {
    if (!doc || typeof doc !== 'object') throw invalidDocument('indexDocument takes a document object');
    assertIndexName(doc.index);
    const state = await this.state(doc.index);
    const record = this.record(doc, state);
    await this.waitTask(doc.index, await this.batch(doc.index, [record]));
  }

  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    if (!Array.isArray(docs)) throw invalidDocument('indexDocuments takes an array of documents');
    for (const d of docs) if (d && typeof d === 'object') assertIndexName(d.index);
    const failed: BulkResult['failed'] = [];
    const groups = new Map<string, { id: string; record: Record<string, unknown> }[]>();
    const states = new Map<string, IndexState | undefined>();
    for (const doc of docs) {
      const id = typeof doc?.id === 'string' ? doc.id : '';
      if (!doc || typeof doc !== 'object') {
        failed.push({ id, reason: 'A document must be an object' });
        continue;
      }
      if (!states.has(doc.index)) states.set(doc.index, await this.state(doc.index));
      try {
        const record = this.record(doc, states.get(doc.index));
        const list = groups.get(doc.index) ?? [];
        list.push({ id, record });
        groups.set(doc.index, list);
      } catch (err) {
        failed.push({ id, reason: (err as Error).message });
      }
    }
    let succeeded = 0;
    const tasks: { index: string; taskID: number }[] = [];
    for (const [index, items] of groups) {
      for (let i = 0; i < items.length; i += this.batchSize) {
        const chunk = items.slice(i, i + this.batchSize);
        try {
          tasks.push({
            index,
            taskID: await this.batch(
              index,
              chunk.map((c) => c.record),
            ),
          });
          succeeded += chunk.length;
        } catch (err) {
          if ((err as IntegrationError).code !== ErrorCode.IndexingFailed) throw err;
          // Algolia rejects a whole batch for one bad record: send them one by one to isolate it.
          for (const item of chunk) {
            try {
              tasks.push({ index, taskID: await this.batch(index, [item.record]) });
              succeeded++;
            } catch (single) {
              if ((single as IntegrationError).code !== ErrorCode.IndexingFailed) throw single;
              failed.push({ id: item.id, reason: (single as Error).message });
            }
          }
        }
      }
    }
    for (const t of tasks) await this.waitTask(t.index, t.taskID);
    return { succeeded, failed };
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    assertIndexName(index);
    if (typeof id !== 'string' || id === '')
      throw invalidDocument('deleteDocument needs a non-empty string id', 'id');
    let taskID: number;
    try {
      const r = await this.call({ op: `delete document "${id}" from "${index}"`, kind: 'write', index }, () =>
        this.client.deleteObject({ indexName: index, objectID: id }),
      );
      taskID = r.taskID;
    } catch (err) {
      // Deleting from a missing index leaves nothing behind either: the delete is idempotent.
      if ((err as { cause?: { status?: number } }).cause?.status === 404) return;
      throw err;
    }
    await this.waitTask(index, taskID);
  }

  async clearIndex(index: string): Promise<void> {
    assertIndexName(index);
    const r = await this.call({ op: `clear index "${index}"`, kind: 'read', index }, () =>
      this.client.clearObjects({ indexName: index }),
    );
    await this.waitTask(index, r.taskID);
  }

  private async deleteIndex(index: string): Promise<void> {
    try {
      const r = await this.call({ op: `delete index "${index}"`, kind: 'settings', index }, () =>
        this.client.deleteIndex({ indexName: index }),
      );
      await this.waitTask(index, r.taskID);
    } catch (err) {
      if ((err as { cause?: { status?: number } }).cause?.status === 404) return;
      throw err;
    }
  }

  async dropIndex(index: string): Promise<void> {
    assertIndexName(index);
    const settings = await this.getSettings(index);
    this.states.delete(index);
    if (!settings) return;
    const stored = (settings.userData as { fraiseql?: StoredState } | undefined)?.fraiseql;
    // Deleting the primary first detaches its replicas; then they can be deleted like any index.
    await this.deleteIndex(index);
    await Promise.all(Object.keys(stored?.replicas ?? {}).map((r) => this.deleteIndex(r)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.states.clear();
    this.owned.destroy();
  }
}

/**
 * Creates the Algolia search provider on the official `algoliasearch` v5 client and configures
 * the indexes given in `opts.indexes`.
 *
 * Engine specifics (see the package README): writes resolve once Algolia has published their
 * task; `sort` is served by standard replicas (`<index>_<field>_asc|desc`, created by
 * `configureIndex`; a multi-key sort gets its own replica on first use); `exists` uses a hidden
 * `_fields` facet; an OR group that mixes numeric with string/boolean/exists conditions runs as a
 * few disjoint queries in one multi-query request.
 */
export async function createAlgoliaSearch(opts: AlgoliaSearchOptions): Promise<AlgoliaSearchProvider> {
  const provider = new AlgoliaSearch(opts);
  try {
    for (const [index, config] of Object.entries(opts.indexes ?? {}))
      await provider.configureIndex(index, config);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
