import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { ObserverRuntime } from '@fraiseql/observers';
import type { ResponseSpec, RouteContext, RouteSpec } from '../route';
import { ERROR_BODY } from '../schemas';
import type { ParamSpec } from '../validation';

const error = (description: string): ResponseSpec => ({ description, schema: ERROR_BODY });
const OBJECT = { type: 'object', additionalProperties: true };
const COMMON: Record<number, ResponseSpec> = {
  400: error('Invalid input (IN002)'),
  500: error('Observers are not configured (IN004)'),
};

const DECIMAL_ID: ParamSpec = {
  description: 'A change-log or DLQ id (decimal)',
  schema: { type: 'string', pattern: '^[0-9]{1,19}$' },
  check: (v: string) => {
    if (!/^[0-9]{1,19}$/.test(v))
      throw new IntegrationError(
        ErrorCode.JobNotFound,
        `[observers] not found: ${JSON.stringify(v.slice(0, 40))}`,
        {
          kind: 'not_found',
          field: 'id',
        },
      );
  },
};

function observers(ctx: RouteContext): ObserverRuntime {
  const runtime = ctx.observers?.();
  if (!runtime)
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      'Observers are not configured (add an [observers] section)',
      {
        kind: 'configuration',
      },
    );
  return runtime;
}

/** DESIGN §8.5: status, debug, and the DLQ of the observer runtime. */
export const OBSERVER_ROUTES: RouteSpec[] = [
  {
    method: 'GET',
    url: '/observers',
    operationId: 'observersStatus',
    summary: 'Observer runtime status: leader, checkpoint, lag, listeners, breakers, DLQ size',
    tag: 'observers',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'ObserverStatus', schema: OBJECT }, ...COMMON },
    handler: (ctx) => observers(ctx).status(),
  },
  {
    method: 'GET',
    url: '/observers/events/:id',
    operationId: 'observersDebugEvent',
    summary: 'One change-log event: the observers it matches and every action outcome',
    tag: 'observers',
    params: { id: DECIMAL_ID },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'EventDebug', schema: OBJECT },
      404: error('No such event (IN300)'),
      ...COMMON,
    },
    handler: (ctx, _req, _reply, { params }) => observers(ctx).debugEvent(params.id!),
  },
  {
    method: 'GET',
    url: '/observers/dlq',
    operationId: 'observersDlqList',
    summary: 'DLQ entries, oldest first',
    tag: 'observers',
    query: [
      { name: 'limit', description: 'Default 20', type: 'integer', minimum: 1, maximum: 1000, default: 20 },
      { name: 'offset', description: 'Default 0', type: 'integer', minimum: 0, default: 0 },
      { name: 'observer', description: 'Only this observer', type: 'string', maxLength: 128 },
    ],
    queryCode: ErrorCode.InvalidConfiguration,
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'DlqEntry[]', schema: { type: 'array', items: OBJECT } }, ...COMMON },
    handler: (ctx, _req, _reply, { query }) =>
      observers(ctx).dlq.list({
        limit: Number(query.limit ?? 20),
        offset: Number(query.offset ?? 0),
        ...(query.observer ? { observer: String(query.observer) } : {}),
      }),
  },
  {
    method: 'GET',
    url: '/observers/dlq/:id',
    operationId: 'observersDlqGet',
    summary: 'One DLQ entry',
    tag: 'observers',
    params: { id: DECIMAL_ID },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'DlqEntry', schema: OBJECT },
      404: error('No such entry (IN300)'),
      ...COMMON,
    },
    handler: (ctx, _req, _reply, { params }) => observers(ctx).dlq.get(params.id!),
  },
  {
    method: 'POST',
    url: '/observers/dlq/:id/retry',
    operationId: 'observersDlqRetry',
    summary: "Re-run that entry's action once; the entry is removed on success",
    tag: 'observers',
    params: { id: DECIMAL_ID },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: 'ExecutionSummary', schema: OBJECT },
      404: error('No such entry (IN300)'),
      ...COMMON,
    },
    handler: (ctx, _req, _reply, { params }) => observers(ctx).dlq.retry(params.id!),
  },
  {
    method: 'POST',
    url: '/observers/dlq/retry-all',
    operationId: 'observersDlqRetryAll',
    summary: 'Retry every DLQ entry (of one observer); dry_run=true only lists them',
    tag: 'observers',
    query: [
      { name: 'observer', description: 'Only this observer', type: 'string', maxLength: 128 },
      {
        name: 'dry_run',
        description: '"true" lists without retrying',
        type: 'string',
        enum: ['true', 'false'],
      },
    ],
    queryCode: ErrorCode.InvalidConfiguration,
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: '{ count, ids }', schema: OBJECT }, ...COMMON },
    handler: (ctx, _req, _reply, { query }) =>
      observers(ctx).dlq.retryAll({
        ...(query.observer ? { observer: String(query.observer) } : {}),
        dryRun: query.dry_run === 'true',
      }),
  },
];
