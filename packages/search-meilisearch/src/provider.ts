import {
  assertIndexConfig,
  assertIndexName,
  type BulkResult,
  badDocument,
  configError,
  type Document,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { type EnqueuedTaskPromise, type Index, Meilisearch, type SearchParams, type Task } from 'meilisearch';
import { MeiliAliases } from './aliases';
import { engineDocument } from './documents';
import { mapClientError, PROVIDER, taskFailure, taskFailureReason } from './errors';
import { encodeDocumentId, MAX_ENGINE_ID_BYTES } from './ids';
import { type MeilisearchSearchOptions, resolveOptions } from './options';
import { checkQuery, searchParams, undeclaredField } from './query';
import { type EngineResponse, toResult } from './response';
import { ENGINE_DEFAULT_MAX_TOTAL_HITS, engineSettings, type KnownIndex, unknownIndex } from './settings';

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
  /** Zero-downtime reindex support (DESIGN §14.3): `POST /swap-indexes`. */
  readonly aliases: MeiliAliases;
  #closed = false;

  /** @internal Use `createMeilisearchSearch`. */
  constructor(options: MeilisearchSearchOptions) {
    const opts = resolveOptions(options);
    this.#wait = opts.wait;
    this.#batchSize = opts.batchSize;
    this.#maxTotalHits = opts.maxTotalHits;
    this.#secrets = opts.apiKey ? [opts.apiKey] : [];
    try {
      this.#client = new Meilisearch({
        host: opts.host,
        apiKey: opts.apiKey || undefined,
        timeout: opts.timeout,
        defaultWaitOptions: this.#wait,
        clientAgents: ['fraiseql-integrations'],
      });
    } catch (err) {
      throw configError(
        PROVIDER,
        `invalid host ${JSON.stringify(opts.host)}: ${(err as Error).message}`,
        'host',
      );
    }
    this.aliases = new MeiliAliases({
      client: this.#client,
      secrets: this.#secrets,
      known: this.#known,
      open: () => this.#open(),
      call: (context, index, run) => this.#call(context, index, run),
      clientTask: (context, index, start) => this.#clientTask(context, index, start),
      configureIndex: (index, config) => this.configureIndex(index, config),
      deleteIndex: (index) => this.deleteIndex(index),
    });
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

  async search<T = Record<string, unknown>>(query: SearchQuery): Promise<SearchResult<T>> {
    this.#open();
    const q = checkQuery(query);
    let known = await this.#index(q.index);
    let bad = undeclaredField(q, known);
    if (bad && !known.local) {
      // Settings read back earlier may be stale (another process configured the index since).
      this.#known.delete(q.index);
      known = await this.#index(q.index);
      bad = undeclaredField(q, known);
    }
    if (bad) throw bad;
    const { params, skip } = searchParams(q);
    const res = await this.#call('search', q.index, () =>
      this.#engineIndex(q.index).search<Record<string, unknown>, SearchParams>(q.query, params),
    );
    return toResult<T>(res as EngineResponse, q, known, skip);
  }

  async indexDocument(doc: Document): Promise<void> {
    this.#open();
    if (!doc || typeof doc !== 'object')
      throw badDocument(PROVIDER, 'A document must be an object { id, index, data }');
    assertIndexName(doc.index);
    const known = await this.#writeTarget(doc.index);
    const body = engineDocument(doc, known.primaryKey);
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
    if (!Array.isArray(docs)) throw badDocument(PROVIDER, 'indexDocuments takes an array of documents');
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
          ready.push({ id: doc.id, body: engineDocument(doc, known.primaryKey) });
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
    if (typeof id !== 'string') throw badDocument(PROVIDER, 'Document id must be a string');
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
    const checked = assertIndexConfig(config);
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
    const settings = engineSettings(checked, this.#maxTotalHits);
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
        return unknownIndex();
      }
      throw err;
    }
  }
}
