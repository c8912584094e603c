import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  assertIndexName,
  type BulkResult,
  badDocument,
  type Document,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  isPlainObject,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
  timeoutError,
  withTimeout,
} from '@fraiseql/core';
import { Client } from 'typesense';
import { TypesenseAliases } from './aliases';
import { prepareDocument } from './documents';
import { type ErrorContext, httpStatusOf, mapTypesenseError, PROVIDER, serverMessage } from './errors';
import { TYPESENSE_FIELDS_FIELD, typesenseFieldToken } from './filter';
import { clientConfig, type TypesenseSearchOptions } from './options';
import { checkQuery, checkQueryPage, type Params, planPages, searchParams } from './query';
import { emptyResult, facetCounts, type RawHit, type RawResponse, toHit } from './response';
import {
  type CollectionInfo,
  collectionInfo,
  configFromSchema,
  desiredFields,
  normalizeConfig,
  schemaChanges,
  type TypesenseFieldSchema,
} from './schema';

/** Above this many characters of search parameters, `POST /multi_search` replaces the GET request. */
const MAX_GET_PARAMS = 3000;

/** An error built from a `multi_search` per-search failure, shaped like the client's HTTP errors. */
class EmbeddedHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(`Request failed with HTTP code ${httpStatus} | Server said: ${message}`);
  }
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
  /** Zero-downtime reindex support (DESIGN §14.3): the live name becomes a collection alias. */
  readonly aliases: TypesenseAliases;
  private closed = false;

  constructor(private readonly opts: TypesenseSearchOptions) {
    const httpAgent = new HttpAgent({ keepAlive: true });
    const httpsAgent = new HttpsAgent({ keepAlive: true });
    this.agents = [httpAgent, httpsAgent];
    this.secrets = [opts.apiKey];
    this.importTimeoutMs = opts.importTimeoutMs ?? 60_000;
    this.maxFacetValues = opts.maxFacetValues ?? 100;
    this.batchSize = opts.importBatchSize ?? 1000;
    const base = clientConfig(opts, httpAgent, httpsAgent);
    this.client = new Client(base);
    this.healthClient = new Client({
      ...base,
      numRetries: 0,
      connectionTimeoutSeconds: (opts.healthCheckTimeoutMs ?? 2000) / 1000,
    });
    this.aliases = new TypesenseAliases({
      client: this.client,
      open: () => this.ensureOpen(),
      call: (ctx, run) => this.call(ctx, run),
      mapError: (err, ctx) => mapTypesenseError(err, ctx, this.secrets),
      configureIndex: (index, config) => this.configureIndex(index, config),
      dropIndex: (index) => this.dropIndex(index),
      moveCaches: (from, to) => {
        const config = this.configs.get(from);
        this.configs.delete(from);
        if (config) this.configs.set(to, config);
        else this.configs.delete(to);
        this.infos.delete(from);
        this.infos.delete(to);
      },
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

  /**
   * Deletes a collection (not part of the contract; for tests and tooling), and the alias of that
   * name when a reindex made it one (Typesense drops the collection an alias points at). A missing
   * one is fine.
   */
  async dropIndex(index: string): Promise<void> {
    this.ensureOpen();
    assertIndexName(index);
    for (const target of [this.client.collections(index), this.client.aliases(index)]) {
      try {
        await target.delete();
      } catch (err) {
        if (httpStatusOf(err) !== 404) {
          throw mapTypesenseError(err, { kind: 'admin', what: `dropping "${index}"` }, this.secrets);
        }
      }
    }
    this.configs.delete(index);
    this.infos.delete(index);
  }

  async search<T = Record<string, unknown>>(query: SearchQuery): Promise<SearchResult<T>> {
    this.ensureOpen();
    const page = checkQueryPage(query);
    const config = await this.config(page.index);
    const q = checkQuery(query, page, config);
    const params = searchParams(q, config, await this.info(q.index), this.maxFacetValues);
    if (!params) return emptyResult<T>(q.facets);

    const plan = planPages(q.offset, q.limit);
    const hits: RawHit[] = [];
    let first: RawResponse | undefined;
    let took = 0;
    for (let i = 0; i < plan.count; i++) {
      const response = await this.page(q.index, { ...params, page: plan.first + i, per_page: plan.perPage });
      first ??= response;
      took += response.search_time_ms ?? 0;
      const pageHits = response.hits ?? [];
      hits.push(...pageHits);
      if (pageHits.length < plan.perPage) break;
    }
    const scored = q.query.trim() !== '';
    const result: SearchResult<T> = {
      hits: hits.slice(plan.skip, plan.skip + q.limit).map((h) => toHit<T>(h, scored, q.highlight)),
      totalHits: first?.found ?? 0,
      totalHitsExact: true,
      processingTimeMs: took,
    };
    if (q.facets.length > 0) result.facets = facetCounts(first, q.facets);
    return result;
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

  private async importBatch(index: string, bodies: Record<string, unknown>[]) {
    const what = `indexing ${bodies.length} document(s) into "${index}"`;
    const results = await this.call({ kind: 'write', what, index }, () =>
      withTimeout(
        this.client
          .collections(index)
          .documents()
          .import(bodies, { action: 'upsert', dirty_values: 'reject', throwOnFail: false }),
        this.importTimeoutMs,
        () => timeoutError('the import', this.importTimeoutMs),
      ),
    );
    this.infos.delete(index);
    return results;
  }

  async indexDocument(doc: Document): Promise<void> {
    this.ensureOpen();
    if (!isPlainObject(doc)) throw badDocument(PROVIDER, 'a document must be an object');
    assertIndexName(doc.index);
    const { id, body } = prepareDocument(doc);
    const [result] = await this.importBatch(doc.index, [body]);
    if (!result?.success) {
      throw badDocument(PROVIDER, `Typesense rejected document "${id}": ${result?.error ?? 'no result'}`);
    }
  }

  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    this.ensureOpen();
    if (!Array.isArray(docs)) throw badDocument(PROVIDER, 'indexDocuments takes an array of documents');
    for (const doc of docs) if (isPlainObject(doc)) assertIndexName(doc.index);
    const failed: BulkResult['failed'] = [];
    const groups = new Map<string, { id: string; body: Record<string, unknown> }[]>();
    for (const doc of docs) {
      try {
        if (!isPlainObject(doc)) throw badDocument(PROVIDER, 'a document must be an object');
        const prepared = prepareDocument(doc);
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
    if (typeof id !== 'string' || id === '')
      throw badDocument(PROVIDER, 'a document id must be a non-empty string');
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
