import {
  assertIndexName,
  type BulkResult,
  type Document,
  type IndexConfig,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { algoliasearch } from 'algoliasearch';
import { AlgoliaAliases } from './aliases';
import { AlgoliaCalls } from './calls';
import { AlgoliaIndexes } from './indexes';
import { type AlgoliaSearchOptions, type AlgoliaSearchProvider, resolveOptions } from './options';
import { runSearch } from './query';
import { createOwnedRequester, type OwnedRequester } from './requester';
import { AlgoliaWrites } from './writes';

/** The SearchProvider contract on Algolia: index settings, searches and writes, each in its module. */
export class AlgoliaSearch implements AlgoliaSearchProvider {
  readonly name = 'algolia' as const;
  private readonly owned: OwnedRequester;
  private readonly calls: AlgoliaCalls;
  private readonly indexes: AlgoliaIndexes;
  private readonly writes: AlgoliaWrites;
  /** Zero-downtime reindex support (DESIGN §14.3): `operationIndex` move onto the live name. */
  readonly aliases: AlgoliaAliases;
  private closed = false;

  constructor(options: AlgoliaSearchOptions) {
    const opts = resolveOptions(options);
    this.owned = createOwnedRequester();
    const client = algoliasearch(opts.appId, opts.apiKey, {
      ...(opts.hosts ? { hosts: opts.hosts } : {}),
      requester: this.owned.requester,
      // A host that does not connect within 2 s is skipped for the next one; the whole call is
      // still bounded by timeoutMs (see AlgoliaCalls.call).
      timeouts: { connect: Math.min(opts.timeoutMs, 2_000), read: opts.timeoutMs, write: opts.timeoutMs },
    });
    this.calls = new AlgoliaCalls(client, opts.apiKey, opts.timeoutMs, opts.taskTimeoutMs);
    this.indexes = new AlgoliaIndexes(this.calls);
    this.writes = new AlgoliaWrites(this.calls, this.indexes, opts.batchSize);
    this.aliases = new AlgoliaAliases(this.calls, this.indexes);
  }

  async healthCheck(): Promise<boolean> {
    try {
      await this.calls.call({ op: 'health check', kind: 'settings' }, (c) =>
        c.listIndices({ hitsPerPage: 1 }),
      );
      return true;
    } catch {
      return false;
    }
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    assertIndexName(index);
    await this.indexes.configure(index, config);
  }

  search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    return runSearch<T>(this.calls, this.indexes, q);
  }

  indexDocument(doc: Document): Promise<void> {
    return this.writes.indexDocument(doc);
  }

  indexDocuments(docs: Document[]): Promise<BulkResult> {
    return this.writes.indexDocuments(docs);
  }

  deleteDocument(index: string, id: string): Promise<void> {
    return this.writes.deleteDocument(index, id);
  }

  clearIndex(index: string): Promise<void> {
    return this.writes.clearIndex(index);
  }

  async dropIndex(index: string): Promise<void> {
    assertIndexName(index);
    await this.indexes.drop(index);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.calls.close();
    this.indexes.forget();
    this.owned.destroy();
  }
}
