import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  describeError,
  ErrorCode,
  errorKindOf,
  IntegrationError,
  isClientError,
  isIntegrationError,
  isTransient,
  redactSecrets,
  wrapError,
} from '../src/index.ts';

describe('error codes', () => {
  it('keeps the stable string values of the design table', () => {
    expect(ErrorCode.MissingConfiguration).toBe('IN001');
    expect(ErrorCode.ProviderNotConfigured).toBe('IN004');
    expect(ErrorCode.IndexNotFound).toBe('IN100');
    expect(ErrorCode.IndexingFailed).toBe('IN105');
    expect(ErrorCode.InvalidTtl).toBe('IN204');
    expect(ErrorCode.MaxRetriesExceeded).toBe('IN306');
    expect(ErrorCode.RabbitMQError).toBe('IN404');
    expect(ErrorCode.PostgresError).toBe('IN405');
    expect(ErrorCode.ElasticsearchError).toBe('IN406');
    expect(ErrorCode.CircuitBreakerOpen).toBe('IN503');
  });

  it('puts every code inside the range of its family', () => {
    const family: Record<string, [number, number]> = {
      configuration: [1, 99],
      search: [100, 199],
      cache: [200, 299],
      queue: [300, 399],
      provider: [400, 499],
      network: [500, 599],
    };
    expect(new Set(ALL_ERROR_CODES).size).toBe(ALL_ERROR_CODES.length);
    for (const code of ALL_ERROR_CODES) {
      const n = Number(code.slice(2));
      expect(
        Object.values(family).some(([lo, hi]) => n >= lo && n <= hi),
        code,
      ).toBe(true);
    }
  });

  // Port of "test_transient_error_classification".
  it('classifies transient codes', () => {
    for (const c of ['IN102', 'IN201', 'IN500', 'IN501', 'IN502', 'IN503'] as const)
      expect(isTransient(c), c).toBe(true);
    for (const c of ['IN100', 'IN302', 'IN101', 'IN204', 'IN405'] as const)
      expect(isTransient(c), c).toBe(false);
  });

  it('classifies client errors', () => {
    for (const c of ['IN101', 'IN204', 'IN302', 'IN205', 'IN307', 'IN308'] as const)
      expect(isClientError(c), c).toBe(true);
    for (const c of ['IN100', 'IN201', 'IN503', 'IN405'] as const) expect(isClientError(c), c).toBe(false);
  });

  // Port of "test_error_docs_url".
  it('links every code to its docs page', () => {
    expect(IntegrationError.indexNotFound('x').docsUrl).toBe('https://fraiseql.dev/docs/errors/IN100');
    expect(IntegrationError.circuitOpen('redis').docsUrl).toBe('https://fraiseql.dev/docs/errors/IN503');
  });
});

describe('IntegrationError', () => {
  // Port of "test_error_code_to_http_status_mapping".
  it('maps kinds to HTTP statuses', () => {
    expect(IntegrationError.indexNotFound('products').httpStatus).toBe(404);
    expect(IntegrationError.configuration(ErrorCode.MissingEnvVar, 'Missing REDIS_URL').httpStatus).toBe(500);
    expect(
      IntegrationError.provider(ErrorCode.MeilisearchError, 'meilisearch', 'Connection refused').httpStatus,
    ).toBe(502);
    expect(IntegrationError.circuitOpen('redis').httpStatus).toBe(503);
    expect(IntegrationError.duplicateJob('unique-key-123').httpStatus).toBe(400);
    expect(IntegrationError.invalidInput(ErrorCode.CacheSerializationError, 'bad json').httpStatus).toBe(400);
    expect(IntegrationError.provider(ErrorCode.PostgresError, 'postgresql', 'boom').httpStatus).toBe(500);
    expect(new IntegrationError(ErrorCode.JobNotFound, 'x').httpStatus).toBe(404);
    expect(new IntegrationError(ErrorCode.Unauthorized, 'no token').httpStatus).toBe(401);
    expect(new IntegrationError(ErrorCode.Forbidden, 'wrong token').httpStatus).toBe(403);
    expect(new IntegrationError(ErrorCode.RouteNotFound, 'no route').httpStatus).toBe(404);
  });

  it('serialises to the exact response body, omitting absent keys', () => {
    expect(JSON.stringify(IntegrationError.indexNotFound('products'))).toBe(
      '{"error":{"code":"IN100","message":"Index not found: products","resource_type":"index","docs_url":"https://fraiseql.dev/docs/errors/IN100"}}',
    );
    const body = IntegrationError.provider(ErrorCode.RedisError, 'redis', 'down').toJSON();
    expect(body).toEqual({
      error: {
        code: 'IN403',
        message: 'down',
        provider: 'redis',
        docs_url: 'https://fraiseql.dev/docs/errors/IN403',
      },
    });
    expect(JSON.stringify(body)).not.toContain('null');
    const field = IntegrationError.invalidInput(ErrorCode.InvalidTtl, 'bad ttl', 'ttlMs').toJSON();
    expect(field.error.field).toBe('ttlMs');
    expect(field.error).not.toHaveProperty('provider');
  });

  it('carries code, kind, provider and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = IntegrationError.provider(ErrorCode.RedisError, 'redis', 'no', cause);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('IntegrationError');
    expect(e.code).toBe('IN403');
    expect(e.kind).toBe('provider');
    expect(e.provider).toBe('redis');
    expect(e.cause).toBe(cause);
    expect(isIntegrationError(e)).toBe(true);
    expect(isIntegrationError(new Error('x'))).toBe(false);
    expect(errorKindOf('IN503')).toBe('circuit_open');
  });

  it('constructs the named errors', () => {
    expect(IntegrationError.jobNotFound('j1')).toMatchObject({ code: 'IN300', resourceType: 'job' });
    expect(IntegrationError.cacheKeyNotFound('k')).toMatchObject({ code: 'IN200', kind: 'not_found' });
    expect(IntegrationError.duplicateJob('d')).toMatchObject({ code: 'IN302', kind: 'invalid_input' });
    expect(IntegrationError.circuitOpen('redis')).toMatchObject({
      code: 'IN503',
      kind: 'circuit_open',
      provider: 'redis',
    });
    expect(IntegrationError.configuration('IN002', 'bad')).toMatchObject({ kind: 'configuration' });
  });
});

describe('wrapError', () => {
  it('maps network failures to IN5xx and keeps the driver error as cause', () => {
    const driver = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    const e = wrapError(driver, ErrorCode.RedisError, 'cache-redis', 'GET failed for key "a"');
    expect(e.code).toBe('IN501');
    expect(e.cause).toBe(driver);
    expect(e.message).toBe('[cache-redis] GET failed for key "a": connect ECONNREFUSED 127.0.0.1:6379');
    const nested = new Error('outer', { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) });
    expect(wrapError(nested, ErrorCode.RedisError, 'x', 'y').code).toBe('IN500');
    expect(wrapError(new Error('weird'), ErrorCode.RedisError, 'x', 'y').code).toBe('IN403');
  });

  it('passes IntegrationErrors through untouched', () => {
    const original = IntegrationError.indexNotFound('p');
    expect(wrapError(original, ErrorCode.MeilisearchError, 'm', 'c')).toBe(original);
  });

  it('never lets a password or key reach the message', () => {
    const driver = new Error(
      'connect failed for redis://user:hunter2@10.0.0.1:6379/0?password=s3cret&token=abc',
    );
    const e = wrapError(driver, ErrorCode.RedisError, 'cache-redis', 'connect', ['my-api-key-123']);
    expect(e.message).not.toContain('hunter2');
    expect(e.message).not.toContain('s3cret');
    expect(e.message).not.toContain('abc');
    expect(redactSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer ***');
    expect(redactSecrets('/cb?access_token=t0k&client_secret=s3c&x=1')).toBe(
      '/cb?access_token=***&client_secret=***&x=1',
    );
    expect(describeError(new Error('key my-api-key-123 rejected'), ['my-api-key-123'])).toBe(
      'key *** rejected',
    );
  });
});
