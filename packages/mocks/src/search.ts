import {
  assertIndexConfig,
  assertIndexName,
  type BulkResult,
  compareBySort,
  DEFAULT_SEARCH_LIMIT,
  type Document,
  ErrorCode,
  type FacetCount,
  getField,
  type IndexConfig,
  IntegrationError,
  isValidFieldName,
  MAX_SEARCH_LIMIT,
  matchesFilter,
  normalizeFilter,
  parseSort,
  type SearchCommonOptions,
  type SearchHit,
  type SearchProvider,
  type SearchQuery,
  type SearchResult,
} from '@fraiseql/core';

const DEFAULT_FAILURE_MESSAGE = 'Mock search failure';
const WORD = /[\p{L}\p{N}]+/gu;

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

interface StoredIndex {
  /** Absent until `configureIndex`: then every string field is searchable and every field filterable/sortable. */
  config?: IndexConfig;
  /** Insertion order is the browse order and the tie-break between equal scores. */
  docs: Map<string, Record<string, unknown>>;
}

interface Term {
  text: string;
  /** The last word of a query also matches as a prefix (search as you type). */
  prefix: boolean;
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
      this.#indexes.set(index, { config: checkConfig(config), docs: new Map() });
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
        : this.#search(q);
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
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidDocument,
        'indexDocuments takes an array of documents',
        'documents',
      );
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
        throw IntegrationError.invalidInput(
          ErrorCode.InvalidDocument,
          'Document id must be a non-empty string',
          'id',
        );
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
      const checked = checkConfig(config);
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
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidDocument,
        'A document must be an object { id, index, data }',
        'document',
      );
    }
    if (typeof doc.id !== 'string' || doc.id.length === 0) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidDocument,
        'Document id must be a non-empty string',
        'id',
      );
    }
    const { data } = doc;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidDocument,
        `Document ${JSON.stringify(doc.id)}: data must be an object`,
        'data',
      );
    }
    try {
      // Every engine stores JSON: refuse what JSON cannot carry (BigInt, cycles) as they would.
      JSON.stringify(data);
    } catch (err) {
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidDocument,
        `Document ${JSON.stringify(doc.id)} is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`,
        'data',
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

  #search(q: SearchQuery): SearchResult<unknown> {
    if (typeof q.query !== 'string') throw invalid('query must be a string', 'query');
    if (q.rawFilter !== undefined) {
      throw IntegrationError.invalidInput(
        ErrorCode.UnsupportedOperation,
        'The mock search provider has no engine syntax: use the portable `filter` instead of `rawFilter`',
        'rawFilter',
      );
    }
    const limit = pageParam(q.limit, DEFAULT_SEARCH_LIMIT, 'limit');
    if (limit > MAX_SEARCH_LIMIT) {
      // Rejected rather than clamped: a caller must never silently get fewer hits than it asked for.
      throw invalid(`limit must be at most ${MAX_SEARCH_LIMIT}, got ${limit}`, 'limit');
    }
    const offset = pageParam(q.offset, 0, 'offset');
    const stored = this.#indexes.get(q.index);
    const config = stored?.config;
    const filter = normalizeFilter(q.filter, config?.filterable ?? (config ? [] : undefined));
    const sort = parseSort(q.sort, config?.sortable ?? (config ? [] : undefined));
    const facetFields = fieldList(q.facets, 'facets');
    if (config) {
      const filterable = new Set(config.filterable ?? []);
      for (const f of facetFields) {
        if (!filterable.has(f)) {
          throw invalid(`Field "${f}" is not filterable; facets need a filterable field`, 'facets');
        }
      }
    }
    const highlightFields = fieldList(q.highlight, 'highlight');
    const terms = parseTerms(q.query);

    const matches: { id: string; doc: Record<string, unknown>; score: number; order: number }[] = [];
    let order = 0;
    for (const [id, doc] of stored?.docs ?? []) {
      order++;
      const score = terms.length === 0 ? 0 : scoreDocument(doc, terms, config?.searchable);
      if (score === undefined || !matchesFilter(filter, doc)) continue;
      matches.push({ id, doc, score, order });
    }
    matches.sort((a, b) => compareBySort(sort, a.doc, b.doc) || b.score - a.score || a.order - b.order);

    const hits = matches.slice(offset, offset + limit).map(({ id, doc, score }): SearchHit<unknown> => {
      const hit: SearchHit<unknown> = { id, document: structuredClone(doc) };
      if (terms.length > 0) hit.score = score;
      if (highlightFields.length > 0) hit.highlights = highlight(doc, highlightFields, terms);
      return hit;
    });
    const result: SearchResult<unknown> = {
      hits,
      totalHits: matches.length,
      totalHitsExact: true,
      processingTimeMs: 0,
    };
    if (facetFields.length > 0) {
      result.facets = Object.fromEntries(facetFields.map((f) => [f, countFacet(matches, f)]));
    }
    return result;
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

function invalid(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidSearchQuery, message, field);
}

function pageParam(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(`${field} must be a non-negative integer, got ${String(value)}`, field);
  }
  return value;
}

function fieldList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isValidFieldName)) {
    throw invalid(`${field} must be an array of field names`, field);
  }
  return value;
}

function checkConfig(config: IndexConfig): IndexConfig {
  return assertIndexConfig(config);
}

function tokenize(text: string): string[] {
  return text.normalize('NFC').toLowerCase().match(WORD) ?? [];
}

function parseTerms(query: string): Term[] {
  const words = tokenize(query);
  return words.map((text, i) => ({ text, prefix: i === words.length - 1 }));
}

/** Strings (and numbers, as engines index them as text) anywhere under `value`. */
function texts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) texts(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const v of Object.values(value)) texts(v, out);
  }
  return out;
}

function termMatches(term: Term, token: string): 'exact' | 'prefix' | undefined {
  if (token === term.text) return 'exact';
  return term.prefix && token.startsWith(term.text) ? 'prefix' : undefined;
}

/**
 * Undefined when some query word occurs in no searchable field; otherwise a relevance score:
 * occurrences weighted by field position (earlier searchable fields weigh more, as on every
 * engine) with whole words above prefix matches.
 */
function scoreDocument(
  doc: Record<string, unknown>,
  terms: Term[],
  searchable?: string[],
): number | undefined {
  const fields = searchable ? searchable.map((f) => texts(getField(doc, f))) : [texts(doc)];
  const tokens = fields.map((strings) => strings.flatMap(tokenize));
  let score = 0;
  for (const term of terms) {
    let termScore = 0;
    tokens.forEach((fieldTokens, i) => {
      const weight = fields.length - i;
      for (const token of fieldTokens) {
        const m = termMatches(term, token);
        if (m) termScore += m === 'exact' ? weight : weight / 2;
      }
    });
    if (termScore === 0) return undefined;
    score += termScore;
  }
  return score;
}

/** The field's text with every word matching the query wrapped in `<mark>…</mark>`. */
function highlight(doc: Record<string, unknown>, fields: string[], terms: Term[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const strings = texts(getField(doc, field));
    if (strings.length === 0) continue;
    out[field] = strings
      .map((s) =>
        terms.length === 0
          ? s
          : s.replace(WORD, (word) => {
              const token = word.normalize('NFC').toLowerCase();
              return terms.some((t) => termMatches(t, token)) ? `<mark>${word}</mark>` : word;
            }),
      )
      .join(', ');
  }
  return out;
}

/** Counts per value over every match (array fields count each element once per document); most frequent first. */
function countFacet(matches: { doc: Record<string, unknown> }[], field: string): FacetCount[] {
  const counts = new Map<string, number>();
  for (const { doc } of matches) {
    const raw = getField(doc, field);
    if (raw === undefined || raw === null) continue;
    const values = new Set(
      (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== null && v !== undefined).map(String),
    );
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
