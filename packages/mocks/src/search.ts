import {
  assertIndexConfig,
  assertIndexName,
  type BulkResult,
  badDocument,
  type Document,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchCommonOptions,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';
import { runSearch, type StoredIndex } from './search-engine';

const DEFAULT_FAILURE_MESSAGE = 'Mock search failure';

export type MockSearchOperationType = 'search' | 'index' | 'delete' | 'clear' | 'configure';

/**
 * One call made on a {@link MockSearchProvider}, recorded in call order (failed calls included,
 * with `error`). `indexDocuments` records one `index` operation per document.
 */
export interface MockSearchOperation {
  type: MockSearchOperationType;
  index: string;
  /** `search` only: the words searched. */
  query?: string;
  /** `search` only: a copy of the whole request (filter, sort, limit, …). */
  request?: SearchQuery;
  /** `index` and `delete`: the document id. */
  id?: string;
  /** `configure` only. */
  config?: IndexConfig;
  /** Message of the error the call rejected with (or, in a bulk, the document failed with). */
  error?: string;
}

/**
 * A canned result for {@link MockSearchProvider.withResults}. `totalHitsExact` defaults to true and
 * `processingTimeMs` to 0, so a test only writes what it cares about.
 */
export type CannedSearchResult = Omit<SearchResult<unknown>, 'totalHitsExact' | 'processingTimeMs'> &
  Partial<Pick<SearchResult<unknown>, 'totalHitsExact' | 'processingTimeMs'>>;

export interface MockSearchProviderOptions extends SearchCommonOptions {
  /** Returned by every `search` instead of searching (see `withResults`). Default: none. */
  results?: CannedSearchResult;
}

/**
 * An in-memory {@link SearchProvider} for application tests: no I/O, and the same contract as
 * every engine (it passes `describeSearchProvider`) with two documented leniencies of a mock:
 * indexes are created on first write, and `search` on an index that does not exist resolves
 * empty instead of rejecting with IN100.
 *
 * Matching: case-insensitive words (letters and digits), every word of the query must occur in
 * a searchable field, the last one may be a prefix. Before `configureIndex` every string field is
 * searchable and every field filterable and sortable. Filters, sort, facets, `<mark>` highlights
 * and pagination follow the portable semantics of `@fraiseql/core`. `rawFilter` (engine syntax)
 * is refused with IN005, since the mock has no engine syntax.
 */
export class MockSearchProvider implements SearchProvider {
  readonly name = 'mock';

  readonly #indexes = new Map<string, StoredIndex>();
  readonly #ops: MockSearchOperation[] = [];
  #canned: CannedSearchResult | undefined;
  #failure: string | undefined;
  #closed = false;

  constructor(opts: MockSearchProviderOptions = {}) {
    for (const [index, config] of Object.entries(opts.indexes ?? {})) {
      assertIndexName(index);
      this.#indexes.set(index, { config: assertIndexConfig(config), docs: new Map() });
    }
    if (opts.results) this.#canned = structuredClone(opts.results);
  }

  /**
   * When true, every operation rejects with IN502 ProviderUnavailable (provider `mock`) and
   * `healthCheck` resolves false. Setting it back to false also forgets a `failWith` message.
   * Default false.
   */
  get shouldFail(): boolean {
    return this.#failure !== undefined;
  }

  set shouldFail(value: boolean) {
    this.#failure = value ? (this.#failure ?? DEFAULT_FAILURE_MESSAGE) : undefined;
  }

  /** Makes every later operation reject with IN502 ProviderUnavailable carrying `message`; chainable. */
  failWith(message: string): this {
    this.#failure = message;
    return this;
  }

  /**
   * Makes every later `search` return `result` (a copy) instead of searching; `null` goes back to
   * real searching. Searches are still recorded and their index name validated. Chainable.
   */
  withResults(result: CannedSearchResult | null): this {
    this.#canned = result === null ? undefined : structuredClone(result);
    return this;
  }

  /** A copy of every operation recorded so far, oldest first. */
  recordedOperations(): MockSearchOperation[] {
    return this.#ops.map((op) => structuredClone(op));
  }

  clearRecordedOperations(): void {
    this.#ops.length = 0;
  }

  /** Throws, listing the recorded operations, unless `index` was searched (for `query`, when given). */
  assertSearched(index: string, query?: string): void {
    const found = this.#ops.some(
      (op) => op.type === 'search' && op.index === index && (query === undefined || op.query === query),
    );
    if (!found) {
      const what = query === undefined ? 'a search' : `a search for ${JSON.stringify(query)}`;
      throw new Error(`Expected ${what} in index ${JSON.stringify(index)}; ${this.#describeOps()}`);
    }
  }

  /** Throws, listing the recorded operations, unless a document (`id`, when given) was indexed into `index`. */
  assertIndexed(index: string, id?: string): void {
    const found = this.#ops.some(
      (op) =>
        op.type === 'index' &&
        op.index === index &&
        op.error === undefined &&
        (id === undefined || op.id === id),
    );
    if (!found) {
      const what = id === undefined ? 'a document' : `document ${JSON.stringify(id)}`;
      throw new Error(`Expected ${what} to be indexed into ${JSON.stringify(index)}; ${this.#describeOps()}`);
    }
  }

  /** Copies of the documents currently in `index`, in insertion order (empty for an unknown index). */
  documents(index: string): Document[] {
    const stored = this.#indexes.get(index);
    if (!stored) return [];
    return [...stored.docs].map(([id, data]) => ({ id, index, data: structuredClone(data) }));
  }

  async search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    const index = (q as Partial<SearchQuery> | undefined)?.index;
    const op: MockSearchOperation = { type: 'search', index: String(index), query: q?.query };
    return this.#record(op, () => {
      assertIndexName(index);
      op.request = structuredClone(q);
      this.#ensureUp();
      const started = performance.now();
      const result = this.#canned
        ? { totalHitsExact: true, processingTimeMs: 0, ...structuredClone(this.#canned) }
        : runSearch(q, this.#indexes.get(q.index));
      if (!this.#canned) result.processingTimeMs = performance.now() - started;
      return result as SearchResult<T>;
    });
  }

  async indexDocument(doc: Document): Promise<void> {
    const op: MockSearchOperation = { type: 'index', index: String(doc?.index), id: doc?.id };
    await this.#record(op, () => {
      assertIndexName(doc?.index);
      this.#ensureUp();
      this.#store(doc);
    });
  }

  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    if (!Array.isArray(docs)) {
      throw badDocument(this.name, 'indexDocuments takes an array of documents');
    }
    // An invalid index name is a caller bug, not a bad document: the whole call is refused.
    for (const doc of docs) assertIndexName(doc?.index);
    this.#ensureUp();
    const result: BulkResult = { succeeded: 0, failed: [] };
    for (const doc of docs) {
      const op: MockSearchOperation = { type: 'index', index: doc.index, id: doc?.id };
      this.#ops.push(op);
      try {
        this.#store(doc);
        result.succeeded++;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        op.error = reason;
        result.failed.push({ id: typeof doc?.id === 'string' ? doc.id : '', reason });
      }
    }
    return result;
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    await this.#record({ type: 'delete', index, id }, () => {
      assertIndexName(index);
      if (typeof id !== 'string' || id.length === 0) {
        throw badDocument(this.name, 'Document id must be a non-empty string');
      }
      this.#ensureUp();
      // Deleting a document that is not there is not an error: deletes are idempotent.
      this.#indexes.get(index)?.docs.delete(id);
    });
  }

  async clearIndex(index: string): Promise<void> {
    await this.#record({ type: 'clear', index }, () => {
      assertIndexName(index);
      this.#ensureUp();
      this.#indexes.get(index)?.docs.clear();
    });
  }

  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    const op: MockSearchOperation = { type: 'configure', index };
    await this.#record(op, () => {
      assertIndexName(index);
      const checked = assertIndexConfig(config);
      op.config = structuredClone(checked);
      this.#ensureUp();
      const stored = this.#indexes.get(index);
      if (stored) stored.config = checked;
      else this.#indexes.set(index, { config: checked, docs: new Map() });
    });
  }

  async healthCheck(): Promise<boolean> {
    return !this.#closed && this.#failure === undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #store(doc: Document): void {
    if (!doc || typeof doc !== 'object') {
      throw badDocument(this.name, 'A document must be an object { id, index, data }');
    }
    if (typeof doc.id !== 'string' || doc.id.length === 0) {
      throw badDocument(this.name, 'Document id must be a non-empty string');
    }
    const { data } = doc;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw badDocument(this.name, `Document ${JSON.stringify(doc.id)}: data must be an object`);
    }
    try {
      // Every engine stores JSON: refuse what JSON cannot carry (BigInt, cycles) as they would.
      JSON.stringify(data);
    } catch (err) {
      throw badDocument(
        this.name,
        `Document ${JSON.stringify(doc.id)} is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    let stored = this.#indexes.get(doc.index);
    if (!stored) {
      stored = { docs: new Map() };
      this.#indexes.set(doc.index, stored);
    }
    // A copy, so the caller mutating its object cannot change the index; an existing id is replaced.
    stored.docs.set(doc.id, structuredClone(data));
  }

  #ensureUp(): void {
    if (this.#closed) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        this.name,
        'MockSearchProvider is closed',
      );
    }
    if (this.#failure !== undefined) {
      throw IntegrationError.provider(ErrorCode.ProviderUnavailable, this.name, this.#failure);
    }
  }

  /** Records `op` at call time (so the list is in call order) and notes the error if `fn` fails. */
  async #record<T>(op: MockSearchOperation, fn: () => T): Promise<T> {
    this.#ops.push(op);
    try {
      return fn();
    } catch (err) {
      op.error = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  #describeOps(): string {
    if (this.#ops.length === 0) return 'no operations were recorded';
    const lines = this.#ops.map((op, i) => {
      const { request: _request, config: _config, ...short } = op;
      return `  ${i + 1}. ${JSON.stringify(short)}`;
    });
    return `recorded operations:\n${lines.join('\n')}`;
  }
}
