import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { ResponseSpec, RouteContext, RouteSpec } from '../route';
import { ERROR_BODY } from '../schemas';
import type { ParamSpec } from '../validation';

/**
 * What the routes need of `@fraiseql/scheduler`'s Scheduler (structural, so the server does not
 * depend on the package: `serve` passes the scheduler it runs as `integrations.scheduler`).
 */
export interface ScheduleAdmin {
  upsert(s: ScheduleAdminInput): Promise<void>;
  remove(id: string): Promise<boolean>;
  list(): Promise<{ id: string }[]>;
  runNow(id: string): Promise<string>;
}

/** The body of `PUT /schedules/:id` with its id (see `ScheduleInput` of `@fraiseql/scheduler`). */
export interface ScheduleAdminInput {
  id: string;
  queue: string;
  cron?: string;
  everyMs?: number;
  tz?: string;
  data?: unknown;
  opts?: object;
  backfillMs?: number;
  startAt?: Date;
  endAt?: Date;
  limit?: number;
}

const error = (description: string): ResponseSpec => ({ description, schema: ERROR_BODY });
const OBJECT = { type: 'object', additionalProperties: true };
const COMMON: Record<number, ResponseSpec> = {
  400: error('Invalid schedule (IN002: bad cron, time zone, id or queue name)'),
  404: error('No such schedule'),
  500: error('Schedules are not running in this process (IN004)'),
};

const ID: ParamSpec = {
  description: 'Schedule id: 1-128 characters of A-Z a-z 0-9 _ . : -',
  schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' },
  check: (v: string) => {
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(v))
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `Invalid schedule id ${JSON.stringify(v.slice(0, 64))}`,
        {
          kind: 'invalid_input',
          field: 'id',
        },
      );
  },
};

function scheduler(ctx: RouteContext): ScheduleAdmin {
  const s = ctx.scheduler?.();
  if (!s)
    throw new IntegrationError(ErrorCode.ProviderNotConfigured, 'Schedules are not running in this process', {
      kind: 'configuration',
    });
  return s;
}

function notFound(id: string): IntegrationError {
  return new IntegrationError(ErrorCode.RouteNotFound, `No schedule named ${JSON.stringify(id)}`, {
    kind: 'not_found',
    resourceType: 'schedule',
  });
}

/** Dates arrive as ISO strings in JSON. */
function fromJson(id: string, body: Record<string, unknown>): ScheduleAdminInput {
  const out: Record<string, unknown> = { ...body, id };
  for (const k of ['startAt', 'endAt'] as const) {
    if (typeof out[k] === 'string') out[k] = new Date(out[k] as string);
  }
  return out as unknown as ScheduleAdminInput;
}

/** DESIGN §14.1: schedules over HTTP (the CLI's `schedule` commands use these when a server runs). */
export const SCHEDULE_ROUTES: RouteSpec[] = [
  {
    method: 'GET',
    url: '/schedules',
    operationId: 'schedulesList',
    summary: 'Every schedule with its next run, last run, last job id and fired count',
    tag: 'queues',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'ScheduleInfo[]', schema: { type: 'array', items: OBJECT } },
      ...COMMON,
    },
    handler: async (ctx) => scheduler(ctx).list(),
  },
  {
    method: 'PUT',
    url: '/schedules/:id',
    operationId: 'scheduleUpsert',
    summary:
      'Create or replace a schedule: { cron | everyMs, tz?, queue, data?, opts?, backfillMs?, startAt?, endAt?, limit? }',
    tag: 'queues',
    params: { id: ID },
    body: {
      schema: {
        type: 'object',
        required: ['queue'],
        properties: {
          cron: { type: 'string' },
          everyMs: { type: 'integer' },
          tz: { type: 'string' },
          queue: { type: 'string' },
          data: {},
          opts: OBJECT,
          backfillMs: { type: 'integer' },
          startAt: { type: 'string' },
          endAt: { type: 'string' },
          limit: { type: 'integer' },
        },
        additionalProperties: false,
      },
      contentTypes: ['application/json'],
      description: 'The schedule (its id comes from the path)',
      code: ErrorCode.InvalidConfiguration,
    },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'ScheduleInfo', schema: OBJECT }, ...COMMON },
    async handler(ctx, req, _reply, { params }) {
      const s = scheduler(ctx);
      const id = params.id as string;
      await s.upsert(fromJson(id, (req.body ?? {}) as Record<string, unknown>));
      return (await s.list()).find((x) => x.id === id) ?? { id };
    },
  },
  {
    method: 'DELETE',
    url: '/schedules/:id',
    operationId: 'scheduleRemove',
    summary: 'Delete a schedule (204; 404 when there is none)',
    tag: 'queues',
    params: { id: ID },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 204: { description: 'Deleted' }, ...COMMON },
    async handler(ctx, _req, reply, { params }) {
      if (!(await scheduler(ctx).remove(params.id as string))) throw notFound(params.id as string);
      reply.code(204);
      return undefined;
    },
  },
  {
    method: 'POST',
    url: '/schedules/:id/run',
    operationId: 'scheduleRunNow',
    summary: 'Enqueue one job of the schedule now (202 with the job id)',
    tag: 'queues',
    params: { id: ID },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      202: {
        description: 'Accepted',
        schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
      ...COMMON,
    },
    async handler(ctx, _req, reply, { params }) {
      const id = await scheduler(ctx).runNow(params.id as string);
      reply.code(202);
      return { id };
    },
  },
];
