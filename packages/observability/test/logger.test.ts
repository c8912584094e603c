import { ErrorCode, IntegrationError, wrapError } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index';

const PASSWORD = 'hunter2';
const PG_URL = `postgres://u:${PASSWORD}@h/db`;
const API_KEY = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
const BEARER = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dGVzdA';
const MEILI_KEY = 'meili-master-key-0123456789';

function capture(opts: Parameters<typeof createLogger>[0] = {}) {
  const chunks: string[] = [];
  const logger = createLogger({ ...opts, destination: { write: (s: string) => void chunks.push(s) } });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () => chunks.map((c) => JSON.parse(c) as Record<string, any>),
  };
}

function expectNoSecrets(text: string) {
  for (const secret of [PASSWORD, API_KEY, BEARER, MEILI_KEY]) expect(text).not.toContain(secret);
}

describe('createLogger', () => {
  it('masks a password in a URL in messages and interpolated arguments', () => {
    const { logger, text, lines } = capture();
    logger.info(`connecting to ${PG_URL}`);
    logger.warn('retrying %s after %d ms', PG_URL, 100);
    expectNoSecrets(text());
    expect(lines().map((l) => l.msg)).toEqual([
      'connecting to postgres://u:***@h/db',
      'retrying postgres://u:***@h/db after 100 ms',
    ]);
  });

  it('masks API keys, tokens and key headers at any depth and keeps the other fields', () => {
    const { logger, text, lines } = capture();
    const request = {
      index: 'products',
      key: 'user:42',
      apiKey: API_KEY,
      authorization: `Bearer ${BEARER}`,
      options: { connection: { url: PG_URL, password: PASSWORD } },
      request: {
        headers: { 'x-meili-api-key': MEILI_KEY, 'X-Typesense-Api-Key': MEILI_KEY, accept: 'json' },
      },
      nodes: [{ host: 'a', api_key: API_KEY }],
    };
    logger.info(request, 'search');
    expectNoSecrets(text());
    const [line] = lines();
    expect(line).toMatchObject({
      msg: 'search',
      index: 'products',
      key: 'user:42',
      apiKey: '***',
      authorization: '***',
      options: { connection: { url: 'postgres://u:***@h/db', password: '***' } },
      request: { headers: { 'x-meili-api-key': '***', 'X-Typesense-Api-Key': '***', accept: 'json' } },
      nodes: [{ host: 'a', api_key: '***' }],
    });
    // The caller's object is untouched.
    expect(request.apiKey).toBe(API_KEY);
    expect(request.request.headers['x-meili-api-key']).toBe(MEILI_KEY);
  });

  it('masks secrets in an error message, its stack, its fields and its cause chain', () => {
    const { logger, text, lines } = capture();
    const driver = Object.assign(new Error(`connect ECONNREFUSED ${PG_URL}`), {
      code: 'ECONNREFUSED',
      config: { url: PG_URL, headers: { Authorization: `Bearer ${BEARER}`, 'X-Algolia-API-Key': API_KEY } },
    });
    const err = IntegrationError.provider(ErrorCode.PostgresError, 'postgresql', 'connect failed', driver);
    logger.error(err);
    logger.error({ err }, 'query failed');
    logger.error({ err: new Error(`bad url ${PG_URL}`) });
    logger.error(
      wrapError(
        new Error(`GET https://x.test/?api_key=${API_KEY}`),
        ErrorCode.MeilisearchError,
        'meilisearch',
        'search',
      ),
    );
    logger.warn({ err: driver }, 'driver error');
    const out = text();
    expectNoSecrets(out);
    const [first, second, third, fourth, fifth] = lines();
    expect(first!.msg).toBe('connect failed');
    expect(first!.err.type).toBe('IntegrationError');
    expect(first!.err.code).toBe('IN405');
    expect(fifth!.err.config).toEqual({
      url: 'postgres://u:***@h/db',
      headers: { Authorization: '***', 'X-Algolia-API-Key': '***' },
    });
    // The cause is still there to debug with, just without its secrets.
    expect(first!.err.message).toContain('connect ECONNREFUSED postgres://u:***@h/db');
    expect(first!.err.stack).toContain('caused by: Error: connect ECONNREFUSED postgres://u:***@h/db');
    expect(second!.msg).toBe('query failed');
    expect(third!.msg).toBe('bad url postgres://u:***@h/db');
    expect(fourth!.msg).toContain('api_key=***');
  });

  it('masks child bindings and literal secrets given at creation', () => {
    const { logger, text, lines } = capture({ secrets: [MEILI_KEY, undefined], redactKeys: ['sessionId'] });
    const child = logger.child({ dsn: PG_URL, target: PG_URL, session_id: 'abcd-1234' });
    child.info(`using key ${MEILI_KEY}`);
    expectNoSecrets(text());
    expect(text()).not.toContain('abcd-1234');
    expect(lines()[0]).toMatchObject({ dsn: '***', target: 'postgres://u:***@h/db', msg: 'using key ***' });
  });

  it('masks URL objects, survives cycles and honours the level', () => {
    const { logger, text, lines } = capture({ level: 'warn', name: 'fraiseql-test' });
    const cyclic: Record<string, unknown> = { url: new URL(PG_URL) };
    cyclic.self = cyclic;
    logger.info({ url: PG_URL }, 'not written');
    logger.warn(cyclic, 'cyclic');
    expectNoSecrets(text());
    const all = lines();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      name: 'fraiseql-test',
      msg: 'cyclic',
      url: 'postgres://u:***@h/db',
      self: '[Circular]',
    });
  });
});
