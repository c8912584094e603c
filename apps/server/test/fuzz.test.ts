import { createFlowEngine } from '@fraiseql/flows';
import { createObserverRuntime, type ObserverRuntime } from '@fraiseql/observers';
import type { SqlClient } from '@fraiseql/postgres';
import { createScheduler, type Scheduler } from '@fraiseql/scheduler';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../src/index.ts';
import { AUTH, errorOf, type Harness, harness, openSql, TOKEN } from './helpers.ts';

/**
 * Malformed paths, queries, bodies and content types on every route: the server answers each
 * with a status below 500 (an error body for 4xx), in bounded time, and stays healthy.
 */

let sql: SqlClient;
let h: Harness;
let observers: ObserverRuntime;
let scheduler: Scheduler;

beforeAll(async () => {
  sql = await openSql();
  h = await harness(sql, { bodyLimitBytes: 64 * 1024, documentsBodyLimitBytes: 128 * 1024 });
  // Every route has its backend, observers included, so any 5xx is a server bug.
  observers = await createObserverRuntime({ sql, schema: 'fuzz_observers', observers: [] });
  h.integrations.observers = observers;
  h.integrations.flows = await createFlowEngine({});
  h.integrations.connectors = [];
  scheduler = await createScheduler({ queue: h.integrations.queue!, store: sql, schema: 'fuzz_scheduler' });
  h.integrations.scheduler = scheduler as never;
});
afterAll(async () => {
  await scheduler?.stop();
  await h?.close();
  await sql?.close();
});

const DEADLINE_MS = 15_000;
const RAW_CHARS = [..."abcXYZ019-_.:~%+*@!$&'()=,;/ é✓"];

/** A path segment: sane, percent-encoded anything, or raw characters (bad escapes included). */
const segment = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('products', 'emails', 'k', 'user:1', '00000000-0000-4000-8000-000000000000'),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 80, unit: 'grapheme' }).map(encodeURIComponent) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(...RAW_CHARS), { maxLength: 40 })
      .map((cs) => cs.join('').replace(/ /g, '%20')),
  },
  { weight: 1, arbitrary: fc.nat({ max: 2000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant('') },
);

const otherMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');

/** Mostly a route's own method and shape with odd parameter values; sometimes any method or path. */
const target = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...ROUTES),
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: otherMethod }),
      )
      .map(([route, values, other]) => {
        let i = 0;
        return {
          method: other ?? route.method,
          path: route.url.replace(/:[A-Za-z]+/g, () => values[i++] ?? ''),
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(otherMethod, fc.array(segment, { maxLength: 5 }))
      .map(([method, parts]) => ({ method, path: `/${parts.join('/')}` })),
  },
);

const queryValue = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1000', '1001', 'failed', 'pending', '*', 'user:*', '1.5', '1e3', ''),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.array(fc.constantFrom(...RAW_CHARS), { maxLength: 20 }).map((cs) => cs.join('').replace(/[ &#]/g, '')),
);
const query = fc
  .array(
    fc.tuple(
      fc.constantFrom('ttl_ms', 'pattern', 'state', 'limit', 'offset', 'primary_key', '__proto__', 'x'),
      queryValue,
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        data: fc.jsonValue({ maxDepth: 2 }),
        query: fc.oneof(fc.string(), fc.integer()),
        delta: fc.oneof(fc.integer(), fc.double(), fc.string()),
        limit: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.string()),
        priority: fc.oneof(fc.integer(), fc.double()),
        delayMs: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.double()),
        searchable: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
        filter: fc.record({
          field: fc.string({ maxLength: 10 }),
          op: fc.string({ maxLength: 6 }),
          value: fc.jsonValue({ maxDepth: 1 }),
        }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .array(fc.dictionary(fc.constantFrom('id', 'sku', 'name'), fc.jsonValue({ maxDepth: 1 })), {
      maxLength: 5,
    })
    .map((v) => JSON.stringify(v)),
);

const body = fc.oneof(
  fc.constant(undefined),
  jsonBody,
  fc.constantFrom(
    '{"query": ',
    '{"data": 1, "priority": "high"}',
    '{"__proto__": {"polluted": true}, "data": 1}',
    '{"constructor": {"prototype": {"x": 1}}}',
    '[{"id": {"nested": 1}}]',
    '{"searchable": ["a"], "primaryKey": ""}',
    '{"filter": {"and": [{"or": [{"field": "a", "op": "in", "value": []}]}]}}',
    '{"delta": 9007199254740993}',
    'null',
    '',
  ),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.nat({ max: 200 * 1024 }).map((n) => Buffer.alloc(n, 0x61)),
);

const anyContentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'bogus',
  '*/*',
);

/** Usually the content type that fits the body, sometimes any. */
const payload = fc.oneof(
  {
    weight: 3,
    arbitrary: jsonBody.map((b) => ({
      b: b as string | Buffer | undefined,
      ct: 'application/json' as string | undefined,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({
      b: Buffer.from(b) as string | Buffer | undefined,
      ct: 'application/octet-stream' as string | undefined,
    })),
  },
  { weight: 2, arbitrary: fc.record({ b: body, ct: anyContentType }) },
);

const authorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant(AUTH.authorization) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, 'Bearer', 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN} x`),
  },
);

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no response within ${DEADLINE_MS} ms: ${what}`)),
          DEADLINE_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzz', () => {
  it('answers every malformed request with a status below 500 and an error body', async () => {
    await fc.assert(
      fc.asyncProperty(
        target,
        query,
        payload,
        authorization,
        async ({ method: m, path: p }, q, { b, ct }, auth) => {
          const headers: Record<string, string> = {};
          if (ct !== undefined) headers['content-type'] = ct;
          if (auth !== undefined) headers.authorization = auth;
          const what = `${m} ${p}${q} ct=${ct} body=${b === undefined ? 'none' : String(b).slice(0, 80)}`;
          const res: LightMyRequestResponse = await within(
            h.app.inject({
              method: m as 'GET',
              url: `${p}${q}`,
              headers,
              ...(b !== undefined && m !== 'GET' && m !== 'HEAD' ? { payload: b } : {}),
            }),
            what,
          );
          expect(res.statusCode, `${what} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.statusCode >= 400 && m !== 'HEAD') {
            expect(() => errorOf(res), what).not.toThrow();
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
    const health = await h.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  }, 300_000);
});
