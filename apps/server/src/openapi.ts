import type { RouteSpec } from './route';
import { ERROR_BODY } from './schemas';
import { querySchema } from './validation';

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function content(schema: Record<string, unknown> | undefined, contentType = 'application/json') {
  if (!schema && contentType === 'application/json') return undefined;
  const s = schema === ERROR_BODY ? ERROR_REF : (schema ?? { type: 'string', format: 'binary' });
  return { [contentType]: { schema: s } };
}

/** The OpenAPI 3.1 document of the route table (the same schemas Fastify validates with). */
export function buildOpenApi(routes: readonly RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters = [
      ...Object.entries(route.params ?? {}).map(([name, p]) => ({
        name,
        in: 'path',
        required: true,
        description: p.description,
        schema: p.schema,
      })),
      ...(route.query ?? []).map((q) => ({
        name: q.name,
        in: 'query',
        required: q.required === true,
        description: q.description,
        schema: querySchema(q),
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      const c = content(r.schema, r.contentType);
      responses[status] = c ? { description: r.description, content: c } : { description: r.description };
    }
    if (!route.public) {
      responses['401'] = { description: 'Missing bearer token (IN006)', content: content(ERROR_BODY) };
      responses['403'] = { description: 'Wrong bearer token (IN007)', content: content(ERROR_BODY) };
    }
    const op: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters,
      responses,
      security: route.public ? [] : [{ bearerAuth: [] }],
    };
    if (route.description) op.description = route.description;
    if (route.body) {
      op.requestBody = {
        required: route.body.whenMissing === undefined,
        description: route.body.description,
        content: Object.fromEntries(
          route.body.contentTypes.map((t) => [
            t,
            { schema: route.body!.schema ?? { type: 'string', format: 'binary' } },
          ]),
        ),
      };
    }
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'fraiseql-integrations',
      version,
      description:
        'Search, cache and background jobs over one HTTP API. Errors use the body {"error": {"code", "message", "docs_url", …}}.',
    },
    tags: [
      { name: 'system', description: 'Health, metrics, SLO, this document' },
      { name: 'search', description: 'Search provider' },
      { name: 'cache', description: 'Cache provider' },
      { name: 'queues', description: 'Queue provider' },
      { name: 'observers', description: 'Observer runtime: status, event debug, DLQ' },
      { name: 'flows', description: 'Integration flows, connectors and plugins' },
    ],
    paths,
    components: {
      schemas: { Error: ERROR_BODY },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'FRAISEQL_API_TOKEN, when the server has one',
        },
      },
    },
  };
}
