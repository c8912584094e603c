import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { truncate } from '../errors';
import type { RouteSpec } from '../route';
import { INCR_BODY } from '../schemas';
import { PARAMS } from '../validation';
import { COMMON_ERRORS, call, error, timed } from './common';

export const CACHE_ROUTES: RouteSpec[] = [
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
    method: 'GET',
    url: '/cache/:key/ttl',
    operationId: 'cacheTtl',
    summary: 'Remaining TTL of a key',
    description:
      '`ttlMs` is the remaining lifetime in milliseconds, `null` when the key is absent or expired.',
    tag: 'cache',
    params: { key: PARAMS.key },
    familyCode: ErrorCode.CacheSerializationError,
    responses: {
      200: {
        description: 'The remaining TTL',
        schema: {
          type: 'object',
          required: ['ttlMs'],
          properties: { ttlMs: { type: ['integer', 'null'] } },
        },
      },
      ...COMMON_ERRORS,
    },
    async handler(ctx, _req, _reply, { params }) {
      const provider = ctx.cache();
      return { ttlMs: await timed(ctx, 'cache_get', provider, () => provider.ttl(params.key!)) };
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
