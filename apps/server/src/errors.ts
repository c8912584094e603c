import {
  ErrorCode,
  type ErrorResponseBody,
  IntegrationError,
  type IntegrationErrorOptions,
  isIntegrationError,
} from '@fraiseql/core';

/**
 * An IntegrationError whose HTTP status is not the one of its kind: 401/403 for auth, 404/405 for
 * routes, 409 for a retry of a job that is not failed, 413/415 from body parsing. The body stays
 * the §2 body of the code; only the status line differs.
 */
export class HttpError extends IntegrationError {
  readonly status: number;

  constructor(code: ErrorCode, message: string, status: number, opts: IntegrationErrorOptions = {}) {
    super(code, message, opts);
    this.status = status;
  }

  override get httpStatus(): number {
    return this.status;
  }
}

/** What the error handler sends: a status, the §2 body, and whether it is our fault (logged as an error). */
export interface MappedError {
  status: number;
  body: ErrorResponseBody;
  /** True for anything that is not the caller's fault (5xx). */
  internal: boolean;
}

/** Codes a route uses for problems with the request body (malformed, too large, wrong type). */
export interface BodyCodes {
  /** Malformed JSON, wrong content type, a body that fails its schema. */
  body: ErrorCode;
  /** A body over the size limit (413). Default: `body`. */
  tooLarge?: ErrorCode;
  /** The route's body limit, for the 413 message. */
  limitBytes?: number;
}

const INTERNAL_MESSAGE = 'Internal server error';

interface FastifyLikeError {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * Maps anything a route threw to a status and the §2 body. IntegrationErrors keep their code and
 * status; Fastify's own client errors (bad JSON, 413, 415) keep their status with the route's
 * body code; anything else is a 500 whose body says nothing about internals.
 */
export function mapError(err: unknown, codes: BodyCodes): MappedError {
  if (isIntegrationError(err)) {
    const status = err.httpStatus;
    return { status, body: err.toJSON(), internal: status >= 500 };
  }
  const e = (err ?? {}) as FastifyLikeError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = status === 413 ? (codes.tooLarge ?? codes.body) : codes.body;
    const message = typeof e.message === 'string' && e.message ? e.message : 'Bad request';
    const error = new HttpError(code, clientMessage(status, message, codes.limitBytes), status, {
      field: 'body',
    });
    return { status, body: error.toJSON(), internal: false };
  }
  const error = new HttpError(ErrorCode.ProviderUnavailable, INTERNAL_MESSAGE, 500);
  return { status: 500, body: error.toJSON(), internal: true };
}

function clientMessage(status: number, message: string, limitBytes: number | undefined): string {
  // Fastify's messages are fine for people; 413 and 415 say what to change.
  if (status === 413) {
    return limitBytes === undefined
      ? 'Request body is too large'
      : `Request body is too large: the limit of this route is ${limitBytes} bytes`;
  }
  if (status === 415) return `Unsupported content type: ${message}`;
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** 404 for a path no route serves. */
export function routeNotFound(method: string, path: string): HttpError {
  return new HttpError(ErrorCode.RouteNotFound, `Route not found: ${method} ${truncate(path)}`, 404, {
    resourceType: 'route',
  });
}

/** 405 for a path served with other methods. */
export function methodNotAllowed(method: string, path: string, allowed: string[]): HttpError {
  return new HttpError(
    ErrorCode.RouteNotFound,
    `Method ${method} is not allowed on ${truncate(path)}; allowed: ${allowed.join(', ')}`,
    405,
    { resourceType: 'route' },
  );
}

/** The IN004 error of an endpoint whose provider is not configured (same words as IntegrationService). */
export function notConfigured(what: 'search' | 'cache' | 'queue'): IntegrationError {
  return IntegrationError.configuration(
    ErrorCode.ProviderNotConfigured,
    `No ${what} provider is configured; add a [${what === 'queue' ? 'queues' : what}] section`,
  );
}

export function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** For logs: code and message of an IntegrationError, the whole error otherwise. */
export function errorForLog(err: unknown): unknown {
  return isIntegrationError(err) ? { code: err.code, message: err.message, provider: err.provider } : err;
}
