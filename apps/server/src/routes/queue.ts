import { type EnqueueOptions, ErrorCode, IntegrationError, type JobState } from '@fraiseql/core';
import { HttpError, truncate } from '../errors';
import type { RouteContext, RouteSpec } from '../route';
import { JOB_BODY, JOB_INFO, QUEUE_STATS } from '../schemas';
import { PARAMS } from '../validation';
import { COMMON_ERRORS, call, error } from './common';

const JOB_STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed'];

async function jobOr404(ctx: RouteContext, queue: string, id: string) {
  const job = await ctx.queue().getJob(queue, id);
  if (!job) throw IntegrationError.jobNotFound(truncate(id));
  return job;
}

export const QUEUE_ROUTES: RouteSpec[] = [
  {
    method: 'GET',
    url: '/queues',
    operationId: 'listQueues',
    summary: 'Names of the queues with jobs in the backend',
    description:
      'The PostgreSQL backend lists every queue that has jobs; other backends answer an empty list (the contract cannot list queues).',
    tag: 'queues',
    familyCode: ErrorCode.InvalidJobOptions,
    responses: {
      200: {
        description: 'Queue names, sorted',
        schema: {
          type: 'object',
          required: ['queues'],
          properties: { queues: { type: 'array', items: { type: 'string' } } },
        },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx) {
      ctx.queue();
      return { queues: (await ctx.queueNames?.()) ?? [] };
    },
  },
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
