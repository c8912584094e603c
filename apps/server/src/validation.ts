import {
  assertCacheKey,
  assertIndexName,
  assertQueueName,
  ErrorCode,
  type ErrorCode as ErrorCodeType,
  IntegrationError,
} from '@fraiseql/core';
import { HttpError, truncate } from './errors';

/**
 * A path parameter: how OpenAPI describes it and the core check that refuses a bad value with the
 * right code (the same message every provider would give).
 */
export interface ParamSpec {
  description: string;
  schema: Record<string, unknown>;
  check(value: string): void;
}

export const PARAMS = {
  index: {
    description: 'Index name: 1-64 characters of A-Z a-z 0-9 _ -',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    check: (v: string) => assertIndexName(v),
  },
  documentId: {
    description: 'Document id (the value of its primary key)',
    schema: { type: 'string', minLength: 1, maxLength: 512 },
    check: (v: string) => {
      if (v.length === 0 || v.length > 512) {
        throw IntegrationError.invalidInput(
          ErrorCode.InvalidDocument,
          'Document id must be 1-512 characters',
          'id',
        );
      }
    },
  },
  key: {
    description: 'Cache key: a non-empty string of at most 1024 UTF-8 bytes (URL-encoded in the path)',
    schema: { type: 'string', minLength: 1 },
    check: (v: string) => assertCacheKey(v),
  },
  queue: {
    description: 'Queue name: 1-128 characters of A-Z a-z 0-9 _ . : -',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
    check: (v: string) => assertQueueName(v),
  },
  jobId: {
    description: 'Job id (a UUID)',
    schema: { type: 'string', minLength: 1, maxLength: 256 },
    check: (v: string) => {
      // Not a format check: ids are the backend's business, a malformed one is simply not found.
      if (v.length === 0 || v.length > 256)
        throw new HttpError(ErrorCode.JobNotFound, `Job not found: ${truncate(v)}`, 404, {
          resourceType: 'job',
        });
    },
  },
} satisfies Record<string, ParamSpec>;

/**
 * A query-string parameter. Validated here rather than by Fastify's Ajv so numbers are parsed
 * strictly (Ajv type coercion would also turn `true` into 1 in JSON bodies) and every problem
 * carries the route's error code.
 */
export interface QuerySpec {
  name: string;
  description: string;
  type: 'integer' | 'string';
  required?: boolean;
  /** Integers only. */
  minimum?: number;
  maximum?: number;
  /** Strings only. */
  enum?: readonly string[];
  maxLength?: number;
  default?: string | number;
}

const INTEGER = /^-?[0-9]{1,15}$/;

/** Parses the declared parameters of `query`; unknown ones are ignored, as HTTP APIs usually do. */
export function parseQuery(
  query: unknown,
  specs: readonly QuerySpec[],
  code: ErrorCodeType,
): Record<string, string | number | undefined> {
  const raw = (query && typeof query === 'object' ? query : {}) as Record<string, unknown>;
  const out: Record<string, string | number | undefined> = {};
  const bad = (spec: QuerySpec, why: string) =>
    IntegrationError.invalidInput(code, `Query parameter ${spec.name} ${why}`, spec.name);
  for (const spec of specs) {
    const value = Object.hasOwn(raw, spec.name) ? raw[spec.name] : undefined;
    if (value === undefined) {
      if (spec.required) throw bad(spec, 'is required');
      out[spec.name] = spec.default;
      continue;
    }
    if (typeof value !== 'string') throw bad(spec, 'must be given once');
    if (spec.type === 'integer') {
      if (!INTEGER.test(value))
        throw bad(spec, `must be an integer, got ${JSON.stringify(truncate(value, 40))}`);
      const n = Number(value);
      if (spec.minimum !== undefined && n < spec.minimum) throw bad(spec, `must be at least ${spec.minimum}`);
      if (spec.maximum !== undefined && n > spec.maximum) throw bad(spec, `must be at most ${spec.maximum}`);
      out[spec.name] = n;
    } else {
      if (spec.enum && !spec.enum.includes(value)) {
        throw bad(spec, `must be one of ${spec.enum.join(', ')}, got ${JSON.stringify(truncate(value, 40))}`);
      }
      if (spec.required && value.length === 0) throw bad(spec, 'must not be empty');
      if (spec.maxLength !== undefined && value.length > spec.maxLength) {
        throw bad(spec, `must be at most ${spec.maxLength} characters`);
      }
      out[spec.name] = value;
    }
  }
  return out;
}

/** The OpenAPI schema of a query parameter. */
export function querySchema(spec: QuerySpec): Record<string, unknown> {
  const s: Record<string, unknown> = { type: spec.type };
  if (spec.minimum !== undefined) s.minimum = spec.minimum;
  if (spec.maximum !== undefined) s.maximum = spec.maximum;
  if (spec.enum) s.enum = [...spec.enum];
  if (spec.maxLength !== undefined) s.maxLength = spec.maxLength;
  if (spec.default !== undefined) s.default = spec.default;
  return s;
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * Turns Ajv's errors on a JSON body into one IntegrationError with the route's code and the
 * offending field, in words a caller can act on ("body.limit must be <= 1000").
 */
export function bodyValidationError(
  errors: readonly AjvError[],
  code: ErrorCodeType | ((field: string | undefined) => ErrorCodeType),
): IntegrationError {
  const e = errors[0] ?? {};
  const path = (e.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = ['body', ...path].join('.');
  let message: string;
  let field = path[0];
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
    const prop = e.params.additionalProperty;
    message = `${at} has an unknown property ${JSON.stringify(truncate(prop, 60))}`;
    field = path[0] ?? prop;
  } else if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
    const prop = e.params.missingProperty;
    message = `${at} must have property ${JSON.stringify(prop)}`;
    field = path[0] ?? prop;
  } else {
    message = `${at} ${e.message ?? 'is invalid'}`;
  }
  const c = typeof code === 'function' ? code(field) : code;
  return IntegrationError.invalidInput(c, `Invalid request body: ${message}`, field ?? 'body');
}
