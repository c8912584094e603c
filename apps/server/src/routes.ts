import {
  type BulkResult,
  type Document,
  type EnqueueOptions,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type JobState,
  type Provider,
  resilienceOf,
  type SearchQuery,
} from '@fraiseql/core';
import { HttpError, truncate } from './errors';
import type { ResponseSpec, RouteContext, RouteSpec } from './route';
import { OBSERVER_ROUTES } from './routes-observers';
import {
  BULK_RESULT,
  DOCUMENTS_BODY,
  ERROR_BODY,
  HEALTH_BODY,
  INCR_BODY,
  JOB_BODY,
  JOB_INFO,
  QUEUE_STATS,
  SEARCH_BODY,
  SEARCH_RESULT,
  SETTINGS_BODY,
  SLO_BODY,
} from './schemas';
import { PARAMS } from './validation';

const error = (description: string): ResponseSpec => ({ description, schema: ERROR_BODY });
const BAD_REQUEST = error('Invalid input (code per route: IN101, IN106, IN205, IN307, …)');
const NOT_CONFIGURED = error('The provider this route needs is not configured (IN004)');
const PROVIDER_DOWN = error('The backend failed (IN4xx/IN5xx)');
const BREAKER_OPEN = error('The circuit breaker of the backend is open (IN503)');
const COMMON_ERRORS: Record<number, ResponseSpec> = {
  400: BAD_REQUEST,
  500: NOT_CONFIGURED,
  502: PROVIDER_DOWN,
  503: BREAKER_OPEN,
};

/**
 * Times operations the IntegrationService has no method for on the matching SLO tracker, exactly
 * as the service does: a provider from createIntegrations already times itself.
 */
function timed<T>(ctx: RouteContext, op: string, provider: Provider, fn: () => Promise<T>): Promise<T> {
  if (resilienceOf(provider)) return fn();
  return ctx.service.slo.getOrRegister(op).timeAsync(fn, provider.name);
}

/**
 * Runs an operation through the IntegrationService when it holds `provider` (its SLO timing),
 * else straight on the provider, timed the same way.
 */
function call<P extends Provider, T>(
  ctx: RouteContext,
  provider: P,
  held: Provider | undefined,
  op: string,
  viaService: () => Promise<T>,
  direct: (p: P) => Promise<T>,
): Promise<T> {
  return provider === held ? viaService() : timed(ctx, op, provider, () => direct(provider));
}

const JOB_STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed'];

// ---------------------------------------------------------------------------------------------
// System

const system: RouteSpec[] = [
  {
    method: 'GET',
    url: '/health',
    operationId: 'health',
    summary: 'Health of every configured provider',
    description:
      '200 when every provider is healthy, 503 otherwise. `checks` is IntegrationService.healthCheck(); `providers` adds latency, breaker state and error budget. The only route that needs no token.',
    tag: 'system',
    public: true,
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'Every provider is healthy', schema: HEALTH_BODY },
      503: { description: 'At least one provider is unhealthy', schema: HEALTH_BODY },
    },
    async handler(ctx, _req, reply) {
      const [checks, providers] = await Promise.all([ctx.service.healthCheck(), ctx.service.status()]);
      const healthy = Object.values(checks).every(Boolean);
      reply.code(healthy ? 200 : 503);
      return { status: healthy ? 'ok' : 'unhealthy', checks, providers };
    },
  },
  {
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'system',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'Prometheus text exposition format', contentType: 'text/plain; version=0.0.4' },
    },
    async handler(ctx, _req, reply) {
      const { contentType, text } = await ctx.metricsText();
      reply.type(contentType);
      return text;
    },
  },
  {
    method: 'GET',
    url: '/slo',
    operationId: 'slo',
    summary: 'SLO status and per-operation snapshots',
    tag: 'system',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'In-process SLO accounting', schema: SLO_BODY } },
    async handler(ctx) {
      return { ...ctx.service.slo.overallStatus(), snapshots: ctx.service.slo.snapshots() };
    },
  },
  {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openapi',
    summary: 'This OpenAPI 3.1 document',
    tag: 'system',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'OpenAPI document', schema: { type: 'object' } } },
    async handler(ctx) {
      return ctx.openapi();
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Search

function toDocuments(
  index: string,
  items: Record<string, unknown>[],
  primaryKey: string,
): { docs: Document[]; failed: BulkResult['failed'] } {
  const docs: Document[] = [];
  const failed: BulkResult['failed'] = [];
  items.forEach((data, position) => {
    const raw = data[primaryKey];
    let id: string | undefined;
    if (typeof raw === 'string' && raw.length > 0 && raw.length <= 512) id = raw;
    else if (typeof raw === 'number' && Number.isSafeInteger(raw)) id = String(raw);
    if (id === undefined) {
      // Reported like an engine reports a bad document: the others are still indexed.
      const got =
        raw === undefined ? 'it is missing' : `got ${truncate(JSON.stringify(raw) ?? String(raw), 60)}`;
      failed.push({
        id: typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw),
        reason: `Document at position ${position}: primary key "${primaryKey}" must be a non-empty string (at most 512 characters) or an integer; ${got}`,
      });
    } else docs.push({ id, index, data });
  });
  return { docs, failed };
}

const search: RouteSpec[] = [
  {
    method: 'POST',
    url: '/search/:index',
    operationId: 'search',
    summary: 'Search an index',
    description: 'The body is a SearchQuery without `index`; an empty or missing body browses the index.',
    tag: 'search',
    params: { index: PARAMS.index },
    body: {
      schema: SEARCH_BODY,
      contentTypes: ['application/json'],
      description: 'SearchQuery without index',
      code: ErrorCode.InvalidSearchQuery,
      whenMissing: {},
    },
    familyCode: ErrorCode.InvalidSearchQuery,
    responses: { 200: { description: 'Search result', schema: SEARCH_RESULT }, ...COMMON_ERRORS },
    async handler(ctx, req, _reply, { params }) {
      const body = req.body as Omit<SearchQuery, 'index'>;
      const q = { ...body, query: body.query ?? '' };
      const index = params.index!;
      return call(
        ctx,
        ctx.search(),
        ctx.service.searchProvider,
        'search_query',
        () => ctx.service.search(index, q),
        (p) => p.search({ ...q, index }),
      );
    },
  },
  {
    method: 'PUT',
    url: '/search/:index/documents',
    operationId: 'indexDocuments',
    summary: 'Add or replace documents',
    description:
      'A JSON array of plain documents, each carrying its primary key (`id` unless the index settings say otherwise, or `?primary_key=`). 200 when every document was indexed, 207 with the same BulkResult when some failed (each with its reason).',
    tag: 'search',
    params: { index: PARAMS.index },
    query: [
      {
        name: 'primary_key',
        type: 'string',
        maxLength: 255,
        description: 'Field holding each document id. Default: the index settings, else "id"',
      },
    ],
    queryCode: ErrorCode.InvalidDocument,
    body: {
      schema: DOCUMENTS_BODY,
      contentTypes: ['application/json'],
      description: 'Array of documents',
      code: ErrorCode.InvalidDocument,
      limit: 'documents',
    },
    familyCode: ErrorCode.InvalidDocument,
    responses: {
      200: { description: 'Every document was indexed', schema: BULK_RESULT },
      207: { description: 'Some documents failed; `failed` says which and why', schema: BULK_RESULT },
      413: error('Body over the documents limit (IN107)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, reply, { params, query }) {
      const provider = ctx.search();
      const index = params.index!;
      const primaryKey = (query.primary_key as string | undefined) || ctx.primaryKeyOf(index);
      const { docs, failed } = toDocuments(index, req.body as Record<string, unknown>[], primaryKey);
      const result: BulkResult =
        docs.length > 0
          ? await timed(ctx, 'search_index', provider, () => provider.indexDocuments(docs))
          : { succeeded: 0, failed: [] };
      const all: BulkResult = { succeeded: result.succeeded, failed: [...failed, ...result.failed] };
      reply.code(all.failed.length > 0 ? 207 : 200);
      return all;
    },
  },
  {
    method: 'DELETE',
    url: '/search/:index/documents/:id',
    operationId: 'deleteDocument',
    summary: 'Delete one document (idempotent)',
    tag: 'search',
    params: { index: PARAMS.index, id: PARAMS.documentId },
    familyCode: ErrorCode.InvalidDocument,
    responses: { 204: { description: 'Deleted, or was not there' }, ...COMMON_ERRORS },
    async handler(ctx, _req, reply, { params }) {
      const provider = ctx.search();
      await timed(ctx, 'search_index', provider, () => provider.deleteDocument(params.index!, params.id!));
      reply.code(204);
    },
  },
  {
    method: 'DELETE',
    url: '/search/:index/documents',
    operationId: 'clearIndex',
    summary: 'Delete every document of an index',
    tag: 'search',
    params: { index: PARAMS.index },
    familyCode: ErrorCode.InvalidSearchQuery,
    responses: { 204: { description: 'Cleared' }, ...COMMON_ERRORS },
    async handler(ctx, _req, reply, { params }) {
      const provider = ctx.search();
      await timed(ctx, 'search_index', provider, () => provider.clearIndex(params.index!));
      reply.code(204);
    },
  },
  {
    method: 'PUT',
    url: '/search/:index/settings',
    operationId: 'configureIndex',
    summary: 'Create or reconfigure an index',
    tag: 'search',
    params: { index: PARAMS.index },
    body: {
      schema: SETTINGS_BODY,
      contentTypes: ['application/json'],
      description: 'IndexConfig',
      code: ErrorCode.InvalidConfiguration,
    },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 204: { description: 'Configured' }, ...COMMON_ERRORS },
    async handler(ctx, req, reply, { params }) {
      const provider = ctx.search();
      const config = req.body as IndexConfig;
      await timed(ctx, 'search_index', provider, () => provider.configureIndex(params.index!, config));
      if (config.primaryKey) ctx.setPrimaryKey(params.index!, config.primaryKey);
      reply.code(204);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Cache

const cache: RouteSpec[] = [
  {
    method: 'GET',
    url: '/cache/:key',
    operationId: 'cacheGet',
    summary: 'Read a value (raw bytes)',
    tag: 'cache',
    params: { key: PARAMS.key },
    familyCode: ErrorCode.CacheSerializationError,
    responses: {
      200: { description: 'The stored bytes', contentType: 'application/octet-stream' },
      404: error('No such key, or it expired (IN200)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, reply, { params }) {
      const key = params.key!;
      const value = await call(
        ctx,
        ctx.cache(),
        ctx.service.cacheProvider,
        'cache_get',
        () => ctx.service.cacheGet(key),
        (p) => p.get(key),
      );
      if (value === null) throw IntegrationError.cacheKeyNotFound(truncate(params.key!));
      reply.type('application/octet-stream');
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    },
  },
  {
    method: 'PUT',
    url: '/cache/:key',
    operationId: 'cacheSet',
    summary: 'Store a value (the raw request body)',
    description:
      'The body is stored byte for byte, whatever its content type (`application/octet-stream` or `text/plain` are the usual ones); an absent body stores an empty value. Without `ttl_ms` the cache default TTL applies.',
    tag: 'cache',
    params: { key: PARAMS.key },
    query: [
      {
        name: 'ttl_ms',
        type: 'integer',
        minimum: 1,
        description: 'Time to live in ms. Default: the cache default',
      },
    ],
    queryCode: ErrorCode.InvalidTtl,
    body: {
      contentTypes: ['application/octet-stream', 'text/plain'],
      description: 'The value',
      code: ErrorCode.CacheSerializationError,
      tooLargeCode: ErrorCode.CacheCapacityExceeded,
    },
    familyCode: ErrorCode.CacheSerializationError,
    responses: {
      204: { description: 'Stored' },
      413: error('Value over the body limit (IN203)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, reply, { params, query }) {
      const body = req.body;
      const value = body instanceof Uint8Array ? body : new Uint8Array(0);
      const ttl = query.ttl_ms as number | undefined;
      const key = params.key!;
      await call(
        ctx,
        ctx.cache(),
        ctx.service.cacheProvider,
        'cache_set',
        () => ctx.service.cacheSet(key, value, ttl),
        (p) => p.set(key, value, ttl),
      );
      reply.code(204);
    },
  },
  {
    method: 'DELETE',
    url: '/cache/:key',
    operationId: 'cacheDelete',
    summary: 'Delete a key',
    tag: 'cache',
    params: { key: PARAMS.key },
    familyCode: ErrorCode.CacheSerializationError,
    responses: {
      200: {
        description: '`deleted` is false when the key was not there',
        schema: { type: 'object', required: ['deleted'], properties: { deleted: { type: 'boolean' } } },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params }) {
      const key = params.key!;
      const deleted = await call(
        ctx,
        ctx.cache(),
        ctx.service.cacheProvider,
        'cache_delete',
        () => ctx.service.cacheDelete(key),
        (p) => p.delete(key),
      );
      return { deleted };
    },
  },
  {
    method: 'DELETE',
    url: '/cache',
    operationId: 'cacheDeletePattern',
    summary: 'Delete every key matching a glob',
    description: '`*` any run of characters, `?` one character, `\\` escapes; everything else is literal.',
    tag: 'cache',
    query: [
      {
        name: 'pattern',
        type: 'string',
        required: true,
        maxLength: 1024,
        description: 'Glob over keys (under the cache prefix only)',
      },
    ],
    queryCode: ErrorCode.InvalidCacheKey,
    familyCode: ErrorCode.InvalidCacheKey,
    responses: {
      200: {
        description: 'How many keys were deleted',
        schema: { type: 'object', required: ['deleted'], properties: { deleted: { type: 'integer' } } },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { query }) {
      const provider = ctx.cache();
      const pattern = query.pattern as string;
      return { deleted: await timed(ctx, 'cache_delete', provider, () => provider.deletePattern(pattern)) };
    },
  },
  {
    method: 'POST',
    url: '/cache/:key/incr',
    operationId: 'cacheIncr',
    summary: 'Add to an integer value',
    description:
      'A new key starts from 0 with the default TTL; an existing key keeps its TTL. IN202 when the value is not an integer.',
    tag: 'cache',
    params: { key: PARAMS.key },
    body: {
      schema: INCR_BODY,
      contentTypes: ['application/json'],
      description: '{"delta": n}; a missing body adds 1',
      code: ErrorCode.CacheSerializationError,
      whenMissing: {},
    },
    familyCode: ErrorCode.CacheSerializationError,
    responses: {
      200: {
        description: 'The new value',
        schema: { type: 'object', required: ['value'], properties: { value: { type: 'integer' } } },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, _reply, { params }) {
      const provider = ctx.cache();
      const { delta } = req.body as { delta?: number };
      return { value: await timed(ctx, 'cache_set', provider, () => provider.incr(params.key!, delta ?? 1)) };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Queues

async function jobOr404(ctx: RouteContext, queue: string, id: string) {
  const job = await ctx.queue().getJob(queue, id);
  if (!job) throw IntegrationError.jobNotFound(truncate(id));
  return job;
}

const queues: RouteSpec[] = [
  {
    method: 'POST',
    url: '/queues/:queue/jobs',
    operationId: 'enqueue',
    summary: 'Enqueue a job',
    tag: 'queues',
    params: { queue: PARAMS.queue },
    body: {
      schema: JOB_BODY,
      contentTypes: ['application/json'],
      description: '{"data": …, "delayMs"?, "priority"?, "dedupKey"?, "maxRetries"?, "timeoutMs"?}',
      code: (field) => (field === 'data' ? ErrorCode.InvalidJobData : ErrorCode.InvalidJobOptions),
      tooLargeCode: ErrorCode.InvalidJobData,
    },
    familyCode: ErrorCode.InvalidJobOptions,
    responses: {
      202: {
        description: 'Accepted: the job id (the existing job id when dedupKey matched)',
        schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
      413: error('Body over the limit (IN308)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, reply, { params }) {
      const { data, ...opts } = req.body as { data: unknown } & EnqueueOptions;
      const queue = params.queue!;
      const id = await call(
        ctx,
        ctx.queue(),
        ctx.service.queueProvider,
        'queue_enqueue',
        () => ctx.service.enqueue(queue, data, opts),
        (p) => p.enqueue(queue, data, opts),
      );
      reply.code(202);
      return { id };
    },
  },
  {
    method: 'GET',
    url: '/queues/:queue',
    operationId: 'queueStats',
    summary: 'Length, failed count and pause state of a queue',
    tag: 'queues',
    params: { queue: PARAMS.queue },
    familyCode: ErrorCode.InvalidJobOptions,
    responses: { 200: { description: 'Queue stats', schema: QUEUE_STATS }, ...COMMON_ERRORS },
    async handler(ctx, _req, _reply, { params }) {
      const provider = ctx.queue();
      const queue = params.queue!;
      const [length, failed, paused] = await Promise.all([
        provider.queueLength(queue),
        provider.failedCount(queue),
        provider.isPaused(queue),
      ]);
      return { queue, length, failed, paused };
    },
  },
  {
    method: 'GET',
    url: '/queues/:queue/jobs',
    operationId: 'listJobs',
    summary: 'List jobs in a state',
    tag: 'queues',
    params: { queue: PARAMS.queue },
    query: [
      { name: 'state', type: 'string', enum: JOB_STATES, default: 'pending', description: 'Default pending' },
      { name: 'limit', type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Default 100' },
      { name: 'offset', type: 'integer', minimum: 0, default: 0, description: 'Default 0' },
    ],
    queryCode: ErrorCode.InvalidJobOptions,
    familyCode: ErrorCode.InvalidJobOptions,
    responses: {
      200: {
        description: 'The page of jobs',
        schema: {
          type: 'object',
          required: ['queue', 'state', 'limit', 'offset', 'jobs'],
          properties: {
            queue: { type: 'string' },
            state: { type: 'string' },
            limit: { type: 'integer' },
            offset: { type: 'integer' },
            jobs: { type: 'array', items: JOB_INFO },
          },
        },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params, query }) {
      const queue = params.queue!;
      const state = query.state as JobState;
      const limit = query.limit as number;
      const offset = query.offset as number;
      const jobs = await ctx.queue().listJobs(queue, { state, limit, offset });
      return { queue, state, limit, offset, jobs };
    },
  },
  {
    method: 'GET',
    url: '/queues/:queue/jobs/:id',
    operationId: 'getJob',
    summary: 'One job',
    tag: 'queues',
    params: { queue: PARAMS.queue, id: PARAMS.jobId },
    familyCode: ErrorCode.InvalidJobOptions,
    responses: {
      200: { description: 'The job', schema: JOB_INFO },
      404: error('No such job (IN300)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params }) {
      return jobOr404(ctx, params.queue!, params.id!);
    },
  },
  {
    method: 'DELETE',
    url: '/queues/:queue/jobs/:id',
    operationId: 'deleteJob',
    summary: 'Delete a job',
    tag: 'queues',
    params: { queue: PARAMS.queue, id: PARAMS.jobId },
    familyCode: ErrorCode.InvalidJobOptions,
    responses: { 204: { description: 'Deleted' }, 404: error('No such job (IN300)'), ...COMMON_ERRORS },
    async handler(ctx, _req, reply, { params }) {
      const deleted = await ctx.queue().deleteJob(params.queue!, params.id!);
      if (!deleted) throw IntegrationError.jobNotFound(truncate(params.id!));
      reply.code(204);
    },
  },
  {
    method: 'POST',
    url: '/queues/:queue/jobs/:id/retry',
    operationId: 'retryJob',
    summary: 'Move a failed job back to pending (attempts reset)',
    tag: 'queues',
    params: { queue: PARAMS.queue, id: PARAMS.jobId },
    familyCode: ErrorCode.InvalidJobOptions,
    responses: {
      200: {
        description: 'Retried',
        schema: {
          type: 'object',
          required: ['id', 'retried'],
          properties: { id: { type: 'string' }, retried: { type: 'boolean', const: true } },
        },
      },
      404: error('No such job (IN300)'),
      409: error('The job is not failed (IN005)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params }) {
      const provider = ctx.queue();
      const queue = params.queue!;
      const id = params.id!;
      if (await provider.retryJob(queue, id)) return { id, retried: true };
      // retryJob says false for both "absent" and "not failed": tell the caller which.
      const job = provider.capabilities.inspect ? await provider.getJob(queue, id) : undefined;
      if (job === null) throw IntegrationError.jobNotFound(truncate(id));
      const state = job ? `is ${job.state}` : 'is absent or not failed';
      throw new HttpError(
        ErrorCode.UnsupportedOperation,
        `Job ${truncate(id)} ${state}; only failed jobs can be retried`,
        409,
        { resourceType: 'job' },
      );
    },
  },
  ...(['pause', 'resume'] as const).map(
    (action): RouteSpec => ({
      method: 'POST',
      url: `/queues/:queue/${action}`,
      operationId: `${action}Queue`,
      summary:
        action === 'pause'
          ? 'Stop every worker of the queue from taking jobs (enqueue still works)'
          : 'Restart delivery',
      tag: 'queues',
      params: { queue: PARAMS.queue },
      familyCode: ErrorCode.InvalidJobOptions,
      responses: {
        200: {
          description: 'The new pause state',
          schema: {
            type: 'object',
            required: ['queue', 'paused'],
            properties: { queue: { type: 'string' }, paused: { type: 'boolean' } },
          },
        },
        ...COMMON_ERRORS,
      },
      async handler(ctx, _req, _reply, { params }) {
        const provider = ctx.queue();
        await provider[action](params.queue!);
        return { queue: params.queue!, paused: action === 'pause' };
      },
    }),
  ),
];

/** Every route of the server, in OpenAPI order. */
export const ROUTES: readonly RouteSpec[] = [...system, ...search, ...cache, ...queues, ...OBSERVER_ROUTES];
