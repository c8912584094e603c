import {
  type CacheProvider,
  isIntegrationError,
  type JobHandler,
  type JobResult,
  REINDEX_QUEUE,
  type ReindexJobPayload,
  type ReindexStatus,
  reindex,
  reindexStatusKey,
  type SearchProvider,
} from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import { assertSingleSelect, countRows, sqlRows } from '@fraiseql/search-postgres';

/** How long a finished reindex's status stays readable. */
const STATUS_TTL_MS = 7 * 24 * 3600_000;
/** Progress is written at most this often (a cache write per batch would be wasteful). */
const PROGRESS_EVERY_MS = 500;

export { REINDEX_QUEUE };

export interface SearchReindexDeps {
  search: SearchProvider;
  /** The Postgres the SELECT runs on (`integrations.sql`). */
  sql: SqlClient;
  /** Where progress goes for `GET /search/:index/reindex` (key `reindexStatusKey(index)`). Default: none. */
  cache?: CacheProvider;
  /** Clock (tests). Default `Date.now`. */
  now?: () => number;
}

const fail = (reason: string): JobResult => ({ status: 'failed', reason });
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `search.reindex`: a zero-downtime rebuild of `index` from one SELECT on the worker's Postgres
 * (`reindex()` of @fraiseql/core: a new index filled in batches, switched in atomically), with
 * its progress written to the cache as a {@link ReindexStatus}. A bad payload or SQL, or too many
 * refused documents, fails the job; a lost connection is retried (each run starts a fresh build).
 */
export function searchReindexHandler(deps: SearchReindexDeps): JobHandler<ReindexJobPayload> {
  const now = deps.now ?? Date.now;
  return async (job) => {
    const p: unknown = job.data;
    if (!isObject(p) || typeof p.index !== 'string' || typeof p.sql !== 'string')
      return fail('search.reindex payload needs { index, sql: "SELECT …" }');
    const index = p.index;
    const status: ReindexStatus = {
      state: 'running',
      index,
      jobId: job.id,
      documents: 0,
      failed: 0,
      startedAt: new Date(now()).toISOString(),
    };
    const save = async () => {
      await deps.cache?.setJson(reindexStatusKey(index), status, STATUS_TTL_MS).catch(() => undefined);
    };
    let lastWrite = 0;
    try {
      const select = assertSingleSelect(p.sql);
      await save();
      status.total = await countRows(deps.sql, select);
      await save();
      const result = await reindex(deps.search, {
        index,
        source: () => sqlRows(deps.sql, select),
        ...(isObject(p.config) ? { config: p.config as never } : {}),
        ...(typeof p.batchSize === 'number' ? { batchSize: p.batchSize } : {}),
        ...(typeof p.maxFailed === 'number' ? { maxFailed: p.maxFailed } : {}),
        onProgress: (x) => {
          status.documents = x.documents;
          status.failed = x.failed;
          if (now() - lastWrite >= PROGRESS_EVERY_MS) {
            lastWrite = now();
            void save();
          }
        },
      });
      Object.assign(status, {
        state: 'completed',
        documents: result.documents,
        failed: result.failed,
        finishedAt: new Date(now()).toISOString(),
      });
      await save();
      return { status: 'complete' };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const final =
        !isIntegrationError(err) || err.isClientError || !err.isTransient || job.attempts > job.maxRetries;
      Object.assign(status, {
        state: final ? 'failed' : 'pending',
        error: message,
        ...(final ? { finishedAt: new Date(now()).toISOString() } : {}),
      });
      await save();
      return final ? fail(message) : { status: 'retry', reason: message };
    }
  };
}
