import type { Document, IndexConfig, SearchAliases, SearchProvider } from './contracts/search';
import { ErrorCode, IntegrationError } from './errors';
import { numberOption } from './kit/options';
import { assertIndexConfig, assertIndexName } from './validation';

/** Where the documents of a reindex come from: rows as plain objects, each with its id field. */
export type ReindexSource =
  | AsyncIterable<Record<string, unknown>>
  | Iterable<Record<string, unknown>>
  | (() => AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>);

export interface ReindexProgress {
  /** The live index being rebuilt. */
  index: string;
  /** The index being filled (`<index>__<timestamp>`). */
  building: string;
  /** Documents indexed so far. */
  documents: number;
  /** Documents refused so far (bad id, engine rejection). */
  failed: number;
  elapsedMs: number;
}

export interface ReindexOptions {
  /** The live index name; searches keep answering from it until the switch. */
  index: string;
  /** The complete set of documents; a function is called once (so a retry can start over). */
  source: ReindexSource;
  /** Settings of the new index. Default: the settings the live index has now. */
  config?: IndexConfig;
  /** Documents per `indexDocuments` call. Default 1000. */
  batchSize?: number;
  /**
   * How many refused documents are tolerated before the reindex is abandoned (the old index keeps
   * serving). Default 0: one refused document aborts — a rebuild must not silently lose documents.
   */
  maxFailed?: number;
  /** Called after every batch (a throwing callback aborts the reindex like a failing source). */
  onProgress?: (p: ReindexProgress) => void;
  /** Field holding each document's id. Default `config.primaryKey`, else `"id"`. */
  idField?: string;
  /** Clock of the timestamped name and of `tookMs` (tests). Default `Date.now`. */
  now?: () => number;
}

export interface ReindexResult {
  /** Documents the live index serves after the switch. */
  documents: number;
  /** Documents refused (at most `maxFailed`). */
  failed: number;
  /** The first refused documents (up to 100) with the engine's reason. */
  failures: { id: string; reason: string }[];
  tookMs: number;
}

/** Longest index name (DESIGN §3.3); `<index>__<13-digit timestamp>` must fit in it. */
const MAX_INDEX = 64;
const SUFFIX = 15;
const MAX_FAILURES_KEPT = 100;

type Wrapped = SearchProvider & { inner?: unknown };

/** The aliases capability, looking through wrappers (resilience, tracing) that expose `inner`. */
export function searchAliasesOf(search: SearchProvider): SearchAliases | undefined {
  let p: Wrapped | undefined = search;
  for (let depth = 0; p && depth < 8; depth++) {
    if (p.aliases) return p.aliases;
    p = p.inner as Wrapped | undefined;
  }
  return undefined;
}

const reindexError = (index: string, message: string, cause?: unknown) =>
  new IntegrationError(ErrorCode.IndexingFailed, `[reindex] "${index}": ${message}`, {
    resourceType: 'index',
    cause,
  });

function openSource(
  source: ReindexSource,
): AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>> {
  const it = typeof source === 'function' ? source() : source;
  if (!it || (typeof it !== 'object' && typeof it !== 'function')) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      '[reindex] source must be an (async) iterable',
      'source',
    );
  }
  const o = it as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  if (typeof o[Symbol.asyncIterator] !== 'function' && typeof o[Symbol.iterator] !== 'function') {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      '[reindex] source must be an (async) iterable',
      'source',
    );
  }
  return it;
}

/**
 * Zero-downtime reindex (DESIGN §14.3): builds `<index>__<timestamp>`, fills it from `source` in
 * batches, then switches the live name to it atomically (the provider's `aliases` capability)
 * and drops the old documents. Until the switch every search answers from the old index; when the
 * source throws, the engine fails, or more than `maxFailed` documents are refused, the new index is
 * removed and the old one keeps serving (the error is rethrown). IN005 when the provider has no
 * `aliases` capability.
 */
export async function reindex(search: SearchProvider, opts: ReindexOptions): Promise<ReindexResult> {
  if (!opts || typeof opts !== 'object') {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      '[reindex] options are required',
      'options',
    );
  }
  const { index } = opts;
  assertIndexName(index);
  if (index.length > MAX_INDEX - SUFFIX) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidIndexName,
      `[reindex] index name "${index}" is too long to be rebuilt: at most ${MAX_INDEX - SUFFIX} characters leave room for "__<timestamp>"`,
      'index',
    );
  }
  if (opts.source === undefined || opts.source === null) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      '[reindex] source is required',
      'source',
    );
  }
  if (typeof opts.source !== 'function') openSource(opts.source);
  const config = opts.config === undefined ? undefined : assertIndexConfig(opts.config);
  const batchSize = numberOption(opts.batchSize, 'batchSize', 1000, {
    provider: 'reindex',
    integer: true,
    min: 1,
    max: 100_000,
  });
  const maxFailed = numberOption(opts.maxFailed, 'maxFailed', 0, {
    provider: 'reindex',
    integer: true,
    min: 0,
  });
  const idField = opts.idField ?? config?.primaryKey ?? 'id';
  const now = opts.now ?? Date.now;
  const aliases = searchAliasesOf(search);
  if (!aliases) {
    throw IntegrationError.provider(
      ErrorCode.UnsupportedOperation,
      search.name,
      `[${search.name}] zero-downtime reindex needs the "aliases" capability, which this search provider lacks`,
    );
  }

  const started = now();
  const building = `${index}__${started}`;
  let documents = 0;
  let failed = 0;
  const failures: ReindexResult['failures'] = [];
  const refuse = (id: string, reason: string) => {
    failed++;
    if (failures.length < MAX_FAILURES_KEPT) failures.push({ id, reason });
    if (failed > maxFailed) {
      throw reindexError(
        index,
        `${failed} documents refused (maxFailed ${maxFailed}), first: "${failures[0]?.id}": ${failures[0]?.reason}; the old index keeps serving`,
      );
    }
  };
  const flush = async (batch: Document[]) => {
    if (batch.length === 0) return;
    const r = await search.indexDocuments(batch);
    documents += r.succeeded;
    for (const f of r.failed) refuse(f.id, f.reason);
    opts.onProgress?.({ index, building, documents, failed, elapsedMs: now() - started });
  };

  await aliases.prepareIndex(index, building, config);
  // One batch is written while the next one is read from the source: the engine and the source
  // work at the same time, and batches still land in source order (a later duplicate id wins).
  let writing: Promise<void> | undefined;
  try {
    let batch: Document[] = [];
    for await (const row of openSource(opts.source)) {
      const id = row && typeof row === 'object' ? row[idField] : undefined;
      if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
        refuse(String(id ?? ''), `no "${idField}" field (string or number) in the row`);
        continue;
      }
      batch.push({ id: String(id), index: building, data: row });
      if (batch.length >= batchSize) {
        if (writing) await writing;
        writing = flush(batch);
        // Observed at the next await; this keeps a failure meanwhile from being "unhandled".
        writing.catch(() => undefined);
        batch = [];
      }
    }
    if (writing) await writing;
    await flush(batch);
    await aliases.swapIndex(index, building);
  } catch (err) {
    // Whatever failed, the live name still serves the old documents; only the new index goes
    // (once the batch being written has settled, so nothing lands in it afterwards).
    await writing?.catch(() => undefined);
    await aliases.dropIndex(building).catch(() => undefined);
    if (err instanceof IntegrationError) throw err;
    throw reindexError(
      index,
      `failed after ${documents} documents: ${(err as Error)?.message ?? String(err)}; the old index keeps serving`,
      err,
    );
  }
  return { documents, failed, failures, tookMs: now() - started };
}

/** The built-in queue a server's `POST /search/:index/reindex` enqueues to (payload {@link ReindexJobPayload}). */
export const REINDEX_QUEUE = 'search.reindex';

/** Payload of a `search.reindex` job. */
export interface ReindexJobPayload {
  index: string;
  /** One SELECT run on the worker's Postgres (`integrations.sql`), read-only; its rows are the documents. */
  sql: string;
  config?: IndexConfig;
  batchSize?: number;
  maxFailed?: number;
}

/** Progress of a server-run reindex, as `GET /search/:index/reindex` answers it. */
export interface ReindexStatus {
  state: 'pending' | 'running' | 'completed' | 'failed';
  index: string;
  jobId?: string;
  documents: number;
  failed: number;
  /** Rows the SELECT returns (counted before the run), when known. */
  total?: number;
  startedAt: string;
  finishedAt?: string;
  error?: string;
}

/** Cache key of an index's {@link ReindexStatus} (shared by the server that enqueues and the worker that runs). */
export function reindexStatusKey(index: string): string {
  return `fraiseql:reindex:${index}`;
}
