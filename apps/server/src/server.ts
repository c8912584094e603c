import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import {
  type CacheProvider,
  describeError,
  ErrorCode,
  IntegrationError,
  type IntegrationService,
  type IntegrationsTracing,
  positiveIntOption,
  type QueueProvider,
  redactSecrets,
  type SearchProvider,
} from '@fraiseql/core';
import type { Connector, FlowManager } from '@fraiseql/flows';
import type { ObserverRuntime } from '@fraiseql/observers';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import pkg from '../package.json' with { type: 'json' };
import { errorForLog, HttpError, mapError, methodNotAllowed, notConfigured, routeNotFound } from './errors';
import { buildOpenApi } from './openapi';
import { backendQueueNames } from './queue-names';
import type { RouteContext, RouteSpec } from './route';
import { ROUTES } from './routes';
import type { ScheduleAdmin } from './routes/schedules';
import { registerUi } from './routes/ui';
import { bodyValidationError, parseQuery } from './validation';

/** The providers the server serves: what `createIntegrations()` from `@fraiseql/core` returns. */
export interface ServerIntegrations {
  search?: SearchProvider;
  cache?: CacheProvider;
  queue?: QueueProvider;
  service: IntegrationService;
  /** The observer runtime, served under `/observers` (DESIGN §8.5). Its owner starts and stops it. */
  observers?: ObserverRuntime;
  /** The flow engine (`@fraiseql/flows`), served under `/flows`, and the connectors it uses (DESIGN §10.5). */
  flows?: FlowManager;
  connectors?: Connector[];
  /** The scheduler (`@fraiseql/scheduler`) `serve` runs, served under `/schedules` (DESIGN §14.1). */
  scheduler?: ScheduleAdmin;
  /** `createIntegrations(config, { tracer })`'s tracing: each request continues its caller's trace. */
  tracing?: IntegrationsTracing;
  /** The shared SqlClient of `createIntegrations` (lets `GET /queues` list the PostgreSQL queues). */
  sql?: unknown;
  /** Called when the server closes (else `service.close()`), unless `closeIntegrations` is false. */
  close?(): Promise<void>;
}

/** The subset of a pino logger the server uses (pino, or anything with the same call shape). */
export interface ServerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ServerOptions {
  integrations: ServerIntegrations;
  /** Served at `/metrics`, and where the server's own request metrics go (`fraiseql_server_*`). */
  registry: Registry;
  /**
   * Bearer token required on every route but `/health`. Default: `FRAISEQL_API_TOKEN` from `env`.
   * An empty string means no token: the server then refuses to bind a non-loopback address.
   */
  token?: string;
  /**
   * Address `startServer` binds. `createServer` only checks it: a non-loopback host without a
   * token is refused (IN002). Default `127.0.0.1`.
   */
  host?: string;
  /** Largest request body of every route but `PUT /search/:index/documents`, in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Largest body of `PUT /search/:index/documents`, in bytes. Default 10 MiB. */
  documentsBodyLimitBytes?: number;
  /** Request and error logs. Never sees the Authorization header. Default: no logging. */
  logger?: ServerLogger;
  /** Primary key per index for `PUT /search/:index/documents` (e.g. from the TOML index config). Default `id`. */
  primaryKeys?: Record<string, string>;
  /** Close the integrations when the server closes. Default true. */
  closeIntegrations?: boolean;
  /** Where `FRAISEQL_API_TOKEN` is read. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

export interface StartServerOptions extends ServerOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. Anything but a loopback address needs a token. */
  host?: string;
}

export interface RunningServer {
  /** `http://host:port` of the bound address. */
  url: string;
  server: FastifyInstance;
  /** Stops accepting connections, lets in-flight requests finish, then closes the integrations. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_DOCUMENTS_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const TOKEN_ENV = 'FRAISEQL_API_TOKEN';

/** Longest path parameter: a 1024-byte cache key, percent-encoded. */
const MAX_PARAM_LENGTH = 3 * 1024 + 64;

interface RouteInput {
  params: Record<string, string>;
  query: Record<string, string | number | undefined>;
}

/** Apps created by startServer whose integrations must survive a failed listen. */
const keepIntegrations = new WeakSet<FastifyInstance>();

function resolveToken(opts: Pick<ServerOptions, 'token' | 'env'>): string | undefined {
  const raw = opts.token !== undefined ? opts.token : (opts.env ?? process.env)[TOKEN_ENV];
  const token = raw?.trim();
  return token ? token : undefined;
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) return h.slice(7).startsWith('127.');
  return isIP(h) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(h);
}

function refuseUnprotectedHost(host: string, token: string | undefined): void {
  if (!token && !isLoopbackHost(host)) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `Refusing to listen on ${host} without an API token: set ${TOKEN_ENV} (clients then send "Authorization: Bearer <token>"), or bind a loopback address such as ${DEFAULT_HOST}`,
    );
  }
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const BEARER = /^Bearer[ \t]+(.*\S)[ \t]*$/i;

/** 401 without a bearer token, 403 with a wrong one; digests make the comparison constant-time. */
function authenticator(token: string | undefined) {
  const expected = token ? sha256(token) : undefined;
  return (header: string | undefined): HttpError | undefined => {
    if (!expected) return undefined;
    const given = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (given === undefined) {
      return new HttpError(
        ErrorCode.Unauthorized,
        'Missing bearer token: send "Authorization: Bearer <token>"',
        401,
        { field: 'authorization' },
      );
    }
    if (!timingSafeEqual(sha256(given), expected)) {
      return new HttpError(ErrorCode.Forbidden, 'Invalid bearer token', 403, {
        field: 'authorization',
      });
    }
    return undefined;
  };
}

function httpMetrics(registry: Registry) {
  const requests =
    (registry.getSingleMetric('fraiseql_server_requests_total') as Counter<'method' | 'route' | 'status'>) ??
    new Counter({
      name: 'fraiseql_server_requests_total',
      help: 'HTTP requests served, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('fraiseql_server_request_duration_seconds') as Histogram<
      'method' | 'route' | 'status'
    >) ??
    new Histogram({
      name: 'fraiseql_server_request_duration_seconds',
      help: 'HTTP request duration in seconds, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return { requests, duration };
}

function routeRegExp(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** The error code for body problems on `route` (malformed JSON, wrong type, schema). */
function bodyCode(route: RouteSpec | undefined, field?: string): ErrorCode {
  const code = route?.body?.code ?? route?.familyCode ?? ErrorCode.InvalidConfiguration;
  return typeof code === 'function' ? code(field) : code;
}

/** Code of a URL the router could not decode, by the resource it names. */
function urlCode(path: string): ErrorCode {
  if (path.startsWith('/search/')) return ErrorCode.InvalidIndexName;
  if (path.startsWith('/cache/')) return ErrorCode.InvalidCacheKey;
  if (path.startsWith('/queues/')) return ErrorCode.InvalidQueueName;
  return ErrorCode.UnsupportedOperation;
}

const specOf = (req: FastifyRequest): RouteSpec | undefined =>
  (req.routeOptions?.config as { spec?: RouteSpec } | undefined)?.spec;

const pathOf = (url: string): string => {
  const i = url.indexOf('?');
  return i === -1 ? url : url.slice(0, i);
};

/**
 * Builds the Fastify app of the HTTP API (not listening: use `startServer`, or `inject()` in
 * tests). Routes, status codes and bodies are those of the OpenAPI document at `/openapi.json`.
 */
export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { integrations, registry } = opts;
  if (!integrations?.service) {
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      '[server] createServer needs { integrations } with a service (what createIntegrations() returns)',
    );
  }
  if (!registry || typeof registry.metrics !== 'function') {
    throw IntegrationError.configuration(
      ErrorCode.MissingConfiguration,
      '[server] createServer needs { registry }: a prom-client Registry',
    );
  }
  const token = resolveToken(opts);
  if (opts.host !== undefined) refuseUnprotectedHost(opts.host, token);
  const bodyLimit = positiveIntOption(
    opts.bodyLimitBytes,
    'bodyLimitBytes',
    DEFAULT_BODY_LIMIT_BYTES,
    'server',
  );
  const documentsLimit = positiveIntOption(
    opts.documentsBodyLimitBytes,
    'documentsBodyLimitBytes',
    DEFAULT_DOCUMENTS_BODY_LIMIT_BYTES,
    'server',
  );
  const log = opts.logger;
  const service = integrations.service;
  const authorize = authenticator(token);
  const metrics = httpMetrics(registry);
  const primaryKeys = new Map(Object.entries(opts.primaryKeys ?? {}));
  const inputs = new WeakMap<FastifyRequest, RouteInput>();
  const matchers = ROUTES.map((r) => ({ method: r.method, re: routeRegExp(r.url) }));
  let openapi: Record<string, unknown> | undefined;
  let closing = false;

  const ctx: RouteContext = {
    service,
    search: () => integrations.search ?? service.searchProvider ?? throwNotConfigured('search'),
    cache: () => integrations.cache ?? service.cacheProvider ?? throwNotConfigured('cache'),
    queue: () => integrations.queue ?? service.queueProvider ?? throwNotConfigured('queue'),
    observers: () => integrations.observers,
    flows: () => integrations.flows,
    connectors: () => integrations.connectors ?? [],
    scheduler: () => integrations.scheduler,
    queueNames: () => backendQueueNames(integrations),
    primaryKeyOf: (index) => primaryKeys.get(index) ?? 'id',
    setPrimaryKey: (index, key) => primaryKeys.set(index, key),
    openapi: () => {
      openapi ??= buildOpenApi(ROUTES, pkg.version);
      return openapi;
    },
    async metricsText() {
      const sloRegistry = service.slo.registry;
      if (sloRegistry && sloRegistry !== registry) {
        // The service's trackers live on another registry when createIntegrations was given
        // none: serve both, unless they clash (then only the one the caller handed us).
        try {
          const merged = Registry.merge([registry, sloRegistry]);
          return { contentType: merged.contentType, text: await merged.metrics() };
        } catch {
          // fall through
        }
      }
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };

  const app = Fastify({
    logger: false,
    bodyLimit,
    // Our own 503 (with the §2 body) while closing; Fastify's has another shape.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    frameworkErrors: (err, req, reply) => {
      const path = pathOf(req.url);
      const tooLong = (err as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH';
      const error = new HttpError(
        urlCode(path),
        tooLong ? 'A path parameter is too long' : `Malformed URL: ${err.message}`,
        400,
        { field: 'path' },
      );
      (reply as FastifyReply).code(400).type('application/json; charset=utf-8').send(error.toJSON());
    },
  });

  // Hooks run on every request: callback style, so none of them costs a promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    if (closing) {
      // Sent here rather than thrown: shedding load while draining is not an error worth a log line.
      const error = new HttpError(ErrorCode.ProviderUnavailable, 'Server is shutting down', 503);
      reply
        .code(503)
        .header('connection', 'close')
        .type('application/json; charset=utf-8')
        .send(error.toJSON());
      return;
    }
    if (specOf(req)?.public) return done();
    done(authorize(req.headers.authorization) ?? undefined);
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = specOf(req)?.url ?? 'unmatched';
    const status = String(reply.statusCode);
    const labels = { method: req.method, route, status };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    if (log) {
      const entry = {
        reqId: req.id,
        method: req.method,
        route,
        url: redactSecrets(req.url.length > 500 ? `${req.url.slice(0, 500)}…` : req.url),
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      };
      if (reply.statusCode >= 500) log.warn(entry, 'request failed');
      else log.info(entry, 'request completed');
    }
    done();
  });

  app.addHook('preClose', async () => {
    closing = true;
  });

  // Node's server.close() only drops connections idle at that moment; a keep-alive connection
  // that finishes its request afterwards would hold close() until its keep-alive timeout.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  app.addHook('onClose', async () => {
    if (opts.closeIntegrations === false || keepIntegrations.has(app)) return;
    await (integrations.close ? integrations.close() : service.close());
  });

  app.setErrorHandler(async (err, req, reply) => {
    const route = specOf(req);
    const mapped = mapError(err, {
      body: bodyCode(route),
      ...(route?.body?.tooLargeCode ? { tooLarge: route.body.tooLargeCode } : {}),
      limitBytes: route?.body?.limit === 'documents' ? documentsLimit : bodyLimit,
    });
    if (mapped.internal) {
      log?.error({ reqId: req.id, route: route?.url, err: errorForLog(err) }, 'request error');
    }
    const r = reply as FastifyReply;
    if (mapped.status === 401) r.header('www-authenticate', 'Bearer realm="fraiseql"');
    return r.code(mapped.status).type('application/json; charset=utf-8').send(mapped.body);
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = pathOf(req.url);
    const allowed: string[] = [...new Set(matchers.filter((m) => m.re.test(path)).map((m) => m.method))];
    if (allowed.length > 0) {
      if (allowed.includes('GET')) allowed.push('HEAD');
      reply.header('allow', allowed.join(', '));
      throw methodNotAllowed(req.method, path, allowed);
    }
    throw routeNotFound(req.method, path);
  });

  const toRoute = (route: RouteSpec) => ({
    method: route.method,
    url: route.url,
    config: { spec: route },
    ...(route.body?.limit === 'documents' ? { bodyLimit: documentsLimit } : {}),
    ...(route.body?.schema ? { schema: { body: route.body.schema } } : {}),
    schemaErrorFormatter: (errors: any[]) =>
      bodyValidationError(errors, route.body?.code ?? route.familyCode),
    preValidation: async (req: FastifyRequest) => {
      const raw = (req.params ?? {}) as Record<string, string>;
      const params: Record<string, string> = {};
      for (const [name, spec] of Object.entries(route.params ?? {})) {
        const value = typeof raw[name] === 'string' ? raw[name] : '';
        spec.check(value);
        params[name] = value;
      }
      const query = route.query
        ? parseQuery(req.query, route.query, route.queryCode ?? route.familyCode)
        : {};
      if (route.body?.whenMissing !== undefined && (req.body === undefined || req.body === null)) {
        req.body = structuredClone(route.body.whenMissing);
      }
      inputs.set(req, { params, query });
    },
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const input = inputs.get(req) ?? { params: {}, query: {} };
      // With a tracer, the request's `traceparent` becomes the parent of everything it does.
      const tracing = integrations.tracing;
      const result = tracing
        ? await tracing.inbound(
            `${route.method} ${route.url}`,
            req.headers,
            { 'http.request.method': route.method, 'http.route': route.url },
            () => route.handler(ctx, req, reply, input),
          )
        : await route.handler(ctx, req, reply, input);
      return reply.sent ? reply : reply.send(result);
    },
  });

  for (const route of ROUTES) if (!route.body || route.body.schema) app.route(toRoute(route));
  // Cache values are raw bytes whatever their content type: these routes get a scope whose only
  // parser hands the body over untouched.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const route of ROUTES) if (route.body && !route.body.schema) scope.route(toRoute(route));
  });
  // The dashboard's static files under /ui/ (public: the page asks for the token itself).
  app.register((scope) => registerUi(scope));

  return app;
}

function throwNotConfigured(what: 'search' | 'cache' | 'queue'): never {
  throw notConfigured(what);
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Creates the server and listens. Refuses (IN002, naming FRAISEQL_API_TOKEN) to bind a
 * non-loopback address without a token, before anything is created. A failed listen (port in
 * use, …) is IN002 and leaves the integrations open for the caller.
 */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `[server] port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  const token = resolveToken(opts);
  refuseUnprotectedHost(host, token);
  const app = await createServer({ ...opts, host, token: token ?? '' });
  try {
    await app.listen({ host, port });
  } catch (err) {
    keepIntegrations.add(app);
    await app.close().catch(() => undefined);
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `[server] cannot listen on ${host}:${port}: ${describeError(err)}`,
      { kind: 'configuration', cause: err },
    );
  }
  const url = urlOf(app.server.address() as AddressInfo);
  opts.logger?.info({ url, auth: token ? 'bearer' : 'none' }, 'server listening');
  let closed: Promise<void> | undefined;
  return {
    url,
    server: app,
    close: () => {
      closed ??= app.close().then(() => undefined);
      return closed;
    },
  };
}
