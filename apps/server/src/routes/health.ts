import { ErrorCode } from '@fraiseql/core';
import type { RouteSpec } from '../route';
import { HEALTH_BODY, SLO_BODY } from '../schemas';

/** `/health`, `/metrics`, `/slo`, `/openapi.json`. */
export const SYSTEM_ROUTES: RouteSpec[] = [
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
