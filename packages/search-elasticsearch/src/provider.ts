import { Client } from '@elastic/elasticsearch';
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
import { ElasticsearchAliases } from './aliases';
import {
  type AuditTemplateOptions,
  type AuditTemplateResult,
  auditIndexFor,
  ensureAuditTemplate,
} from './audit';
import { bulkWrite } from './bulk';
import { engineDocument } from './documents';
import { type CallKind, mapClientError, PROVIDER } from './errors';
import { engineMappings, type KnownIndex, knownFromMappings, type StoredConfig } from './mapping';
import { engineIndexName } from './names';
import { type ElasticsearchSearchOptions, resolveOptions } from './options';
import { checkQuery, searchBody, undeclaredField } from './query';
import { type EngineResponse, toResult } from './response';

/**
 * The Elasticsearch {@link SearchProvider}, on the official `@elastic/elasticsearch` client.
 * Create it with `createElasticsearchSearch`.
 *
 * - Writes use `refresh: "wait_for"`: resolved means searchable. `indexDocuments` sends `_bulk`
 *   requests and reports each item the engine refused (mapping conflicts, bad values) in `failed`.
 * - Searches ask for exact totals (`track_total_hits: true`); every word of the query must match
 *   some searchable field, the last one as a prefix; highlights use `<mark>` tags.
 * - `configureIndex` writes mappings (see mapping.ts) and keeps the configuration in `_meta`, so
 *   filter, sort and facet fields are checked (IN101) before any request.
 * - Index names that Elasticsearch would refuse (upper case, a leading `_`/`-`) are stored
 *   encoded (see names.ts); callers only see their own names.
 * - The observers' `audit` action writes through `writeAudit` into daily indices
 *   `<index>-YYYY.MM.DD` behind the alias `<index>` (see audit.ts); `aliases` switches aliases
 *   atomically (zero-downtime reindex).
 */
export class ElasticsearchSearch implements SearchProvider {
  readonly name = PROVIDER;
  /** Atomic index switching for `reindex()` (see aliases.ts). */
  readonly aliases: ElasticsearchAliases;
  readonly #client: Client;
  readonly #ownsClient: boolean;
  readonly #secrets: string[];
  readonly #batchSize: number;
  readonly #maxFacetValues = 100;
  readonly #auditTemplate: boolean;
  readonly #known = new Map<string, KnownIndex>();
  #auditReady: Promise<unknown> | undefined;
  #closed = false;

  /** @internal Use `createElasticsearchSearch`. */
  constructor(options: ElasticsearchSearchOptions) {
    const opts = resolveOptions(options);
    this.#secrets = opts.secrets;
    this.#batchSize = opts.batchSize;
    this.#auditTemplate = opts.auditTemplate;
    if (options.client) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      try {
        this.#client = new Client({
          node: options.node as string | string[],
          ...(options.apiKey
            ? { auth: { apiKey: options.apiKey } }
            : options.auth
              ? { auth: { username: options.auth.username, password: options.auth.password } }
              : {}),
          requestTimeout: opts.timeout,
          maxRetries: opts.maxRetries,
          name: 'fraiseql-integrations',
        });
      } catch (err) {
        throw configError(PROVIDER, `invalid node: ${(err as Error).message}`, 'node');
      }
      this.#ownsClient = true;
    }
    this.aliases = new ElasticsearchAliases(
      this.#client,
      (ctx, index, kind, run) => this.#call(ctx, index, kind, run),
      (index) => this.#known.delete(index),
    );
  }

  /** @internal Checks the server, the product and the credentials, then applies `indexes`. Called by the factory. */
  async connect(indexes: Record<string, IndexConfig> | undefined): Promise<void> {
    await this.#call('connecting', undefined, 'admin', () => this.#client.info());
    for (const [index, config] of Object.entries(indexes ?? {})) await this.configureIndex(index, config);
  }

  /** The underlying client, for engine features the contract does not cover. */
  get client(): Client {
    return this.#client;
  }

  async search<T = Record<string, unknown>>(query: SearchQuery): Promise<SearchResult<T>> {
    this.#open();
    const q = checkQuery(query);
    let known = await this.#index(q.index);
    let bad = undeclaredField(q, known);
    if (bad && !known.local) {
      // What was read back earlier may be stale (another process configured the index since).
      this.#known.delete(q.index);
      known = await this.#index(q.index);
      bad = undeclaredField(q, known);
    }
    if (bad) throw bad;
    const res = await this.#call('search', q.index, 'search', () =>
      this.#client.search({ index: engineIndexName(q.index), ...searchBody(q, known, this.#maxFacetValues) }),
    );
    return toResult<T>(res as unknown as EngineResponse, q, known);
  }

  async indexDocument(doc: Document): Promise<void> {
    this.#open();
    if (!doc || typeof doc !== 'object')
      throw badDocument(PROVIDER, 'A document must be an object { id, index, data }');
    assertIndexName(doc.index);
    const known = await this.#writeTarget(doc.index);
    const body = engineDocument(doc, known.primaryKey);
    await this.#call(`indexing document ${JSON.stringify(doc.id)}`, doc.index, 'write', () =>
      this.#client.index({
        index: engineIndexName(doc.index),
        id: doc.id,
        document: body,
        refresh: 'wait_for',
      }),
    );
  }

  /**
   * Indexes documents (of one or several indexes) with `_bulk` requests of `batchSize`. A document
   * that cannot be sent (no id, non-object data, id over 512 bytes) and every item the engine
   * refuses are reported in `failed` with the reason; the others are indexed. An invalid index name
   * (IN106), or a request that fails outright (auth, network, timeout), rejects the whole call —
   * batches sent before it stay indexed.
   */
  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    this.#open();
    if (!Array.isArray(docs)) throw badDocument(PROVIDER, 'indexDocuments takes an array of documents');
    const failed: BulkResult['failed'] = [];
    const ready: { index: string; id: string; body: Record<string, unknown> }[] = [];
    for (const doc of docs) {
      if (!doc || typeof doc !== 'object') {
        failed.push({ id: '', reason: 'A document must be an object { id, index, data }' });
        continue;
      }
      assertIndexName(doc.index);
    }
    for (const doc of docs) {
      if (!doc || typeof doc !== 'object') continue;
      const known = await this.#writeTarget(doc.index);
      try {
        ready.push({
          index: engineIndexName(doc.index),
          id: doc.id,
          body: engineDocument(doc, known.primaryKey),
        });
      } catch (err) {
        failed.push({ id: typeof doc.id === 'string' ? doc.id : '', reason: (err as Error).message });
      }
    }
    const sent = await bulkWrite(ready, this.#batchSize, (operations) =>
      this.#call('indexing documents', undefined, 'write', () =>
        this.#client.bulk({ operations, refresh: 'wait_for' }),
      ),
    );
    return { succeeded: sent.succeeded, failed: [...failed, ...sent.failed] };
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    if (typeof id !== 'string') throw badDocument(PROVIDER, 'Document id must be a string');
    // An id Elasticsearch could never have stored is already absent.
    if (id === '' || Buffer.byteLength(id) > 512) return;
    const res = (await this.#call(`deleting document ${JSON.stringify(id)}`, index, 'write', () =>
      this.#client.delete({ index: engineIndexName(index), id, refresh: 'wait_for' }, { ignore: [404] }),
    )) as unknown as { result?: string; error?: { type?: string } };
    // 404 means "no such document" (fine: already absent) or "no such index" (IN100).
    if (res.error?.type === 'index_not_found_exception') {
      throw new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${index}`, {
        resourceType: 'index',
        provider: PROVIDER,
      });
    }
  }

  async clearIndex(index: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    const target = engineIndexName(index);
    // Documents written by others without a refresh are not searchable yet, so delete_by_query
    // would not see them: refresh first.
    await this.#call('clearing the index', index, 'write', async () => {
      await this.#client.indices.refresh({ index: target });
      await this.#client.deleteByQuery({
        index: target,
        query: { match_all: {} },
        refresh: true,
        conflicts: 'proceed',
      });
    });
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    this.#open();
    assertIndexName(index);
    const checked = assertIndexConfig(config);
    const target = engineIndexName(index);
    const mappings = engineMappings(checked);
    const exists = await this.#call('reading the index', index, 'admin', () =>
      this.#client.indices.exists({ index: target }),
    );
    let created = false;
    if (!exists) {
      created = await this.#call('creating the index', index, 'admin', () =>
        this.#client.indices.create({ index: target, mappings }).then(() => true),
      ).catch((err: unknown) => {
        // Created meanwhile by someone else: update its mapping below.
        if (err instanceof IntegrationError && err.code === ErrorCode.IndexAlreadyExists) return false;
        throw err;
      });
    }
    if (!created) {
      await this.#call('updating the mapping', index, 'admin', () =>
        this.#client.indices.putMapping({ index: target, ...mappings }),
      );
    }
    this.#known.delete(index);
    const stored = (mappings._meta as Record<string, StoredConfig>).fraiseql!;
    const res = await this.#call('reading the mapping', index, 'admin', () =>
      this.#client.indices.getMapping({ index: target }),
    );
    this.#known.set(index, knownFromMappings(res as never, true, stored));
  }

  /**
   * Deletes an index with its documents and mapping (not part of the SearchProvider contract;
   * used to clean up); for a name that is an alias, the indexes behind it. Deleting an index that
   * does not exist resolves.
   */
  async deleteIndex(index: string): Promise<void> {
    this.#open();
    assertIndexName(index);
    this.#known.delete(index);
    // A live name turned into an alias by a reindex: delete the index behind it.
    const behind = await this.aliases.indicesOf(index);
    const targets = behind.length > 0 ? behind : [index];
    await this.#call('deleting the index', index, 'admin', () =>
      this.#client.indices.delete({ index: targets.map(engineIndexName) }, { ignore: [404] }),
    );
  }

  /** Installs the audit index template and its lifecycle policy (see audit.ts). Idempotent. */
  async ensureAuditTemplate(opts: AuditTemplateOptions = {}): Promise<AuditTemplateResult> {
    this.#open();
    return this.#call('installing the audit template', undefined, 'admin', () =>
      ensureAuditTemplate(this.#client, opts),
    );
  }

  /**
   * The observers' audit hook: writes audit records of `index` (e.g. `fraiseql_events`) into the
   * daily index of each record's `timestamp` (`fraiseql_events-2026.05.14`), searchable through the
   * alias `index`. Installs the template first (once per process) unless `auditTemplate: false`.
   */
  async writeAudit(index: string, docs: Document[]): Promise<BulkResult> {
    this.#open();
    assertIndexName(index);
    if (this.#auditTemplate) {
      this.#auditReady ??= this.ensureAuditTemplate({ pattern: `${engineIndexName(index)}-*` }).catch(
        (err: unknown) => {
          this.#auditReady = undefined;
          throw err;
        },
      );
      await this.#auditReady;
    }
    const failed: BulkResult['failed'] = [];
    const ready: { index: string; id: string; body: Record<string, unknown> }[] = [];
    for (const doc of docs) {
      if (!doc || typeof doc.id !== 'string' || doc.id === '' || !doc.data || typeof doc.data !== 'object') {
        failed.push({
          id: typeof doc?.id === 'string' ? doc.id : '',
          reason: 'An audit record needs an id and object data',
        });
        continue;
      }
      ready.push({
        index: auditIndexFor(engineIndexName(index), doc.data.timestamp),
        id: doc.id,
        body: doc.data,
      });
    }
    this.#known.delete(index);
    const sent = await bulkWrite(ready, this.#batchSize, (operations) =>
      this.#call('writing audit records', index, 'write', () =>
        this.#client.bulk({ operations, refresh: 'wait_for' }),
      ),
    );
    return { succeeded: sent.succeeded, failed: [...failed, ...sent.failed] };
  }

  async healthCheck(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const res = await this.#client.cluster.health({}, { requestTimeout: 5000, maxRetries: 0 });
      return res.status !== 'red';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#known.clear();
    if (this.#ownsClient) await this.#client.close().catch(() => undefined);
  }

  #open(): void {
    if (this.#closed)
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `[${PROVIDER}] the search provider is closed`,
      );
  }

  async #call<R>(
    context: string,
    index: string | undefined,
    kind: CallKind,
    run: () => Promise<R>,
  ): Promise<R> {
    try {
      return await run();
    } catch (err) {
      throw mapClientError(err, context, {
        ...(index === undefined ? {} : { index }),
        kind,
        secrets: this.#secrets,
      });
    }
  }

  /** What is known of an index: cached, or read back from its mapping (IN100 when missing). */
  async #index(index: string): Promise<KnownIndex> {
    const cached = this.#known.get(index);
    if (cached) return cached;
    const res = await this.#call('reading the mapping', index, 'search', () =>
      this.#client.indices.getMapping({ index: engineIndexName(index) }),
    );
    const known = knownFromMappings(res as never, false);
    // An index without our _meta and without fields yet says nothing: ask again next time.
    if (known.configured || known.fields.size > 0) this.#known.set(index, known);
    return known;
  }

  /** Like `#index`, but an index that does not exist yet is created with the default mappings. */
  async #writeTarget(index: string): Promise<KnownIndex> {
    try {
      return await this.#index(index);
    } catch (err) {
      if (!(err instanceof IntegrationError) || err.code !== ErrorCode.IndexNotFound) throw err;
    }
    await this.#call('creating the index', index, 'admin', () =>
      this.#client.indices.create({ index: engineIndexName(index), mappings: engineMappings(undefined) }),
    ).catch((err: unknown) => {
      if (!(err instanceof IntegrationError) || err.code !== ErrorCode.IndexAlreadyExists) throw err;
    });
    return this.#index(index);
  }
}
