import { describeError, ErrorCode, IntegrationError } from '@fraiseql/core';
import type { Connector, FlowManager } from '@fraiseql/flows';
import type { ResponseSpec, RouteContext, RouteSpec } from '../route';
import { ERROR_BODY } from '../schemas';
import type { ParamSpec } from '../validation';

const error = (description: string): ResponseSpec => ({ description, schema: ERROR_BODY });
const OBJECT = { type: 'object', additionalProperties: true };
const COMMON: Record<number, ResponseSpec> = {
  400: error('Invalid input'),
  404: error('No such flow or connector (IN008)'),
  500: error('Flows are not configured (IN004)'),
};

const NAME: ParamSpec = {
  description: 'Flow or connector name',
  schema: { type: 'string', minLength: 1, maxLength: 128 },
  check: (v: string) => {
    if (v.length === 0 || v.length > 128)
      throw new IntegrationError(ErrorCode.RouteNotFound, 'Not found', { kind: 'not_found' });
  },
};

function engine(ctx: RouteContext): FlowManager {
  const flows = ctx.flows?.();
  if (!flows)
    throw new IntegrationError(ErrorCode.ProviderNotConfigured, 'Flows are not configured', {
      kind: 'configuration',
    });
  return flows;
}

/** The flow `name`, or 404 (the engine itself answers IN002 for an unknown name). */
function flow(ctx: RouteContext, name: string): FlowManager {
  const flows = engine(ctx);
  if (!flows.listFlows().some((f) => f.name === name))
    throw new IntegrationError(
      ErrorCode.RouteNotFound,
      `No flow named ${JSON.stringify(name.slice(0, 64))}`,
      {
        kind: 'not_found',
        resourceType: 'flow',
      },
    );
  return flows;
}

/** The configured connectors and those the engine's active plugins contribute. */
function allConnectors(ctx: RouteContext): Connector[] {
  const own = ctx.connectors?.() ?? [];
  const fromPlugins = ctx.flows?.()?.plugins.connectors() ?? [];
  return [...own, ...fromPlugins.filter((p) => !own.some((c) => c.name === p.name))];
}

/** A connector's `test()`, bounded: a target that hangs reads as unhealthy, never holds the request. */
async function health(c: Connector): Promise<{ ok: boolean; latencyMs: number; detail?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; latencyMs: number; detail: string }>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          latencyMs: HEALTH_TIMEOUT_MS,
          detail: `no answer within ${HEALTH_TIMEOUT_MS} ms`,
        }),
      HEALTH_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      c.test().catch((err: unknown) => ({
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        detail: describeError(err),
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
const HEALTH_TIMEOUT_MS = 3000;

function connector(ctx: RouteContext, name: string): Connector {
  const found = allConnectors(ctx).find((c) => c.name === name);
  if (!found)
    throw new IntegrationError(
      ErrorCode.RouteNotFound,
      `No connector named ${JSON.stringify(name.slice(0, 64))}`,
      {
        kind: 'not_found',
        resourceType: 'connector',
      },
    );
  return found;
}

/** DESIGN §10.5: flows, connectors and plugins over HTTP. */
export const FLOW_ROUTES: RouteSpec[] = [
  {
    method: 'GET',
    url: '/flows',
    operationId: 'flowsList',
    summary: 'Every flow with its state and counters',
    tag: 'flows',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'FlowStatus[]', schema: { type: 'array', items: OBJECT } }, ...COMMON },
    handler: async (ctx) => engine(ctx).listFlows(),
  },
  {
    method: 'GET',
    url: '/flows/:name',
    operationId: 'flowStatus',
    summary: 'One flow: state, processed, failed, dlq, inFlight, lastError',
    tag: 'flows',
    params: { name: NAME },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'FlowStatus', schema: OBJECT }, ...COMMON },
    handler: async (ctx, _req, _reply, { params }) => flow(ctx, params.name!).getFlowStatus(params.name!),
  },
  {
    method: 'POST',
    url: '/flows/:name/start',
    operationId: 'flowStart',
    summary: 'Start a flow',
    tag: 'flows',
    params: { name: NAME },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'FlowStatus', schema: OBJECT }, ...COMMON },
    handler: (ctx, _req, _reply, { params }) => flow(ctx, params.name!).startFlow(params.name!),
  },
  {
    method: 'POST',
    url: '/flows/:name/stop',
    operationId: 'flowStop',
    summary: 'Stop a flow (in-flight messages finish)',
    tag: 'flows',
    params: { name: NAME },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'FlowStatus', schema: OBJECT }, ...COMMON },
    handler: (ctx, _req, _reply, { params }) => flow(ctx, params.name!).stopFlow(params.name!),
  },
  {
    method: 'GET',
    url: '/flows/:name/logs',
    operationId: 'flowLogs',
    summary: 'The latest log records of a flow (no payloads unless the flow includes them)',
    tag: 'flows',
    params: { name: NAME },
    query: [
      { name: 'limit', description: 'Default 100', type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    ],
    queryCode: ErrorCode.InvalidConfiguration,
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: 'log records', schema: { type: 'array', items: OBJECT } }, ...COMMON },
    handler: async (ctx, _req, _reply, { params, query }) =>
      flow(ctx, params.name!).logs(params.name!, { limit: Number(query.limit ?? 100) }),
  },
  {
    method: 'POST',
    url: '/flows/:name/messages',
    operationId: 'flowPost',
    summary: 'Send a message to a flow with an http source (202 with its id)',
    tag: 'flows',
    params: { name: NAME },
    body: {
      schema: {},
      contentTypes: ['application/json'],
      description: 'Any JSON value: the message body',
      code: ErrorCode.InvalidJobData,
    },
    familyCode: ErrorCode.InvalidJobData,
    responses: {
      202: {
        description: 'Accepted',
        schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
      ...COMMON,
    },
    async handler(ctx, req, reply, { params }) {
      const id = await flow(ctx, params.name!).post(params.name!, req.body);
      reply.code(202);
      return { id };
    },
  },
  {
    method: 'GET',
    url: '/connectors',
    operationId: 'connectorsList',
    summary: 'The connectors (configured and from plugins), each with its kind and health',
    tag: 'flows',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: {
        description: '{ name, type, health: { ok, latencyMs, detail? } }[]',
        schema: { type: 'array', items: OBJECT },
      },
      ...COMMON,
    },
    handler: async (ctx) =>
      Promise.all(
        allConnectors(ctx).map(async (c) => ({ name: c.name, type: c.type, health: await health(c) })),
      ),
  },
  {
    method: 'POST',
    url: '/connectors/:name/test',
    operationId: 'connectorTest',
    summary: "Check a connector's target: { ok, latencyMs, detail? }",
    tag: 'flows',
    params: { name: NAME },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 200: { description: '{ ok, latencyMs, detail? }', schema: OBJECT }, ...COMMON },
    handler: (ctx, _req, _reply, { params }) => connector(ctx, params.name!).test(),
  },
  {
    method: 'GET',
    url: '/plugins',
    operationId: 'pluginsList',
    summary: 'Registered plugins and their state',
    tag: 'flows',
    familyCode: ErrorCode.InvalidConfiguration,
    responses: {
      200: { description: '{ name, version, state, error? }[]', schema: { type: 'array', items: OBJECT } },
      ...COMMON,
    },
    handler: async (ctx) => engine(ctx).plugins.listPlugins(),
  },
];
