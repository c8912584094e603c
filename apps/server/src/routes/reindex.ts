import {
  assertSingleSelect,
  ErrorCode,
  IntegrationError,
  type JobInfo,
  REINDEX_QUEUE,
  type ReindexJobPayload,
  type ReindexStatus,
  reindexStatusKey,
} from '@fraiseql/core';
import type { RouteContext, RouteSpec } from '../route';
import { PARAMS } from '../validation';
import { COMMON_ERRORS, error } from './common';

const STATUS_TTL_MS = 7 * 24 * 3600_000;

const REINDEX_BODY = {
  type: 'object',
  required: ['sql'],
  additionalProperties: false,
  properties: {
    sql: {
      type: 'string',
      minLength: 1,
      maxLength: 100_000,
      description: 'One SELECT; its rows are the documents',
    },
    config: { type: 'object', description: 'IndexConfig of the new index (default: the live settings)' },
    batchSize: { type: 'integer', minimum: 1, maximum: 100_000 },
    maxFailed: { type: 'integer', minimum: 0 },
  },
};

const REINDEX_STATUS = {
  type: 'object',
  required: ['state', 'index', 'documents', 'failed', 'startedAt'],
  properties: {
    state: { type: 'string', enum: ['pending', 'running', 'completed', 'failed'] },
    index: { type: 'string' },
    jobId: { type: 'string' },
    documents: { type: 'integer' },
    failed: { type: 'integer' },
    total: { type: 'integer' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    error: { type: 'string' },
  },
};

/** The cache, when one is configured (progress is shared through it); undefined otherwise. */
function cacheOf(ctx: RouteContext) {
  try {
    return ctx.cache();
  } catch {
    return undefined;
  }
}

/** The job's own state wins when the worker could not report (it died, or no cache is shared). */
function withJob(status: ReindexStatus, job: JobInfo | null): ReindexStatus {
  if (!job) return status;
  if (job.state === 'failed' && status.state !== 'failed') {
    return {
      ...status,
      state: 'failed',
      ...(job.lastError ? { error: job.lastError } : {}),
      finishedAt: (job.failedAt ?? new Date()).toISOString(),
    };
  }
  if (job.state === 'completed' && status.state !== 'completed') {
    return { ...status, state: 'completed', finishedAt: (job.completedAt ?? new Date()).toISOString() };
  }
  if (job.state === 'running' && status.state === 'pending') return { ...status, state: 'running' };
  return status;
}

// Without a cache, the last job of each index is remembered by this process.
const lastJobs = new Map<string, ReindexStatus>();

export const REINDEX_ROUTES: RouteSpec[] = [
  {
    method: 'POST',
    url: '/search/:index/reindex',
    operationId: 'reindex',
    summary: 'Rebuild an index from a SELECT without downtime',
    description:
      'Enqueues a `search.reindex` job: a worker runs the SELECT (read-only) on its Postgres, builds `<index>__<timestamp>` from the rows and switches the index to it atomically; searches keep answering from the old index meanwhile. One reindex per index at a time (a second request returns the running job). Progress: `GET /search/:index/reindex`.',
    tag: 'search',
    params: { index: PARAMS.index },
    body: {
      schema: REINDEX_BODY,
      contentTypes: ['application/json'],
      description: '{"sql": "SELECT …", "config"?, "batchSize"?, "maxFailed"?}',
      code: ErrorCode.InvalidConfiguration,
    },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      202: { description: 'Accepted: the job and its initial status', schema: REINDEX_STATUS },
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, reply, { params }) {
      const index = params.index!;
      const body = req.body as Omit<ReindexJobPayload, 'index'>;
      const payload: ReindexJobPayload = { ...body, index, sql: assertSingleSelect(body.sql) };
      const queue = ctx.queue();
      const id = await queue.enqueue(REINDEX_QUEUE, payload, { dedupKey: `reindex:${index}`, maxRetries: 2 });
      const cache = cacheOf(ctx);
      const current = cache
        ? await cache.getJson<ReindexStatus>(reindexStatusKey(index))
        : lastJobs.get(index);
      let status: ReindexStatus;
      if (current?.jobId === id) status = current;
      else {
        status = {
          state: 'pending',
          index,
          jobId: id,
          documents: 0,
          failed: 0,
          startedAt: new Date().toISOString(),
        };
        if (cache) await cache.setJson(reindexStatusKey(index), status, STATUS_TTL_MS);
        else lastJobs.set(index, status);
      }
      reply.code(202);
      return status;
    },
  },
  {
    method: 'GET',
    url: '/search/:index/reindex',
    operationId: 'reindexStatus',
    summary: 'Progress of the last reindex of an index',
    tag: 'search',
    params: { index: PARAMS.index },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'State, documents indexed so far, failures, times', schema: REINDEX_STATUS },
      404: error('No reindex of this index is known (IN300)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params }) {
      const index = params.index!;
      const cache = cacheOf(ctx);
      const status = cache
        ? await cache.getJson<ReindexStatus>(reindexStatusKey(index))
        : lastJobs.get(index);
      if (!status) {
        throw new IntegrationError(ErrorCode.JobNotFound, `No reindex of index "${index}" is known`, {
          resourceType: 'job',
        });
      }
      if (!status.jobId || status.state === 'completed' || status.state === 'failed') return status;
      const job = await ctx
        .queue()
        .getJob(REINDEX_QUEUE, status.jobId)
        .catch(() => null);
      return withJob(status, job);
    },
  },
];
