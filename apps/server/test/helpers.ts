import { createMemoryCache } from '@fraiseql/cache-memory';
import {
  type CacheProvider,
  IntegrationService,
  type QueueProvider,
  type SearchProvider,
  SloRegistry,
  withResilience,
} from '@fraiseql/core';
import { MockSearchProvider } from '@fraiseql/mocks';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { uniqueName } from '@fraiseql/testkit';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { createServer, type ServerIntegrations, type ServerOptions } from '../src/index.ts';

export const TOKEN = 'test-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Generous timeouts: the machine is shared and PGlite is slow under load. */
const RESILIENCE = { timeoutMs: 20_000 };

export interface Harness {
  app: FastifyInstance;
  registry: Registry;
  integrations: ServerIntegrations & { close(): Promise<void> };
  search: MockSearchProvider;
  /** Sends with the token unless `headers` says otherwise. */
  call(opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** One PGlite database per test file, shared by its harnesses (each uses its own schema). */
export async function openSql(): Promise<SqlClient> {
  return createSqlClient({});
}

/**
 * A server over real providers wrapped like createIntegrations wraps them: memory cache,
 * Postgres queue on PGlite, MockSearchProvider (until the search providers land).
 */
export async function harness(
  sql: SqlClient | undefined,
  opts: Partial<ServerOptions> & { without?: ('search' | 'cache' | 'queue')[] } = {},
): Promise<Harness> {
  const registry = new Registry();
  const slo = new SloRegistry({ registry });
  const ctx = { slo, registry, resilience: RESILIENCE };
  const without = new Set(opts.without ?? []);
  const rawSearch = new MockSearchProvider();
  const search: SearchProvider | undefined = without.has('search')
    ? undefined
    : withResilience('search', rawSearch, ctx);
  const cache: CacheProvider | undefined = without.has('cache')
    ? undefined
    : withResilience('cache', await createMemoryCache({ prefix: `${uniqueName('c')}:` }), ctx);
  if (!without.has('queue') && !sql) throw new Error('harness: a queue needs the PGlite client');
  const queue: QueueProvider | undefined = without.has('queue')
    ? undefined
    : withResilience(
        'queue',
        await createPostgresQueue({ sql: sql!, schema: uniqueName('q'), pollIntervalMs: 500 }),
        ctx,
      );
  const service = new IntegrationService({
    ...(search ? { search } : {}),
    ...(cache ? { cache } : {}),
    ...(queue ? { queue } : {}),
    slo,
  });
  const integrations = { search, cache, queue, service, sql, close: () => service.close() };
  const { without: _w, ...serverOpts } = opts;
  const app = await createServer({ integrations, registry, token: TOKEN, ...serverOpts });
  return {
    app,
    registry,
    integrations,
    search: rawSearch,
    call: (o) => app.inject({ ...o, headers: { ...AUTH, ...(o.headers ?? {}) } }),
    close: () => app.close(),
  };
}

/** Parses a JSON body, failing loudly with the raw text when it is not JSON. */
export function json(res: LightMyRequestResponse): any {
  try {
    return JSON.parse(res.body);
  } catch {
    throw new Error(`Expected a JSON body, got ${res.statusCode}: ${res.body.slice(0, 500)}`);
  }
}

/** Asserts the §2 error body shape and returns its `error`. */
export function errorOf(res: LightMyRequestResponse): {
  code: string;
  message: string;
  docs_url: string;
  [k: string]: unknown;
} {
  const body = json(res);
  if (!body || typeof body !== 'object' || !body.error || typeof body.error.code !== 'string') {
    throw new Error(`Expected an error body, got ${res.statusCode}: ${res.body.slice(0, 500)}`);
  }
  const { error } = body;
  if (Object.keys(body).length !== 1) throw new Error(`Error body has extra keys: ${res.body}`);
  if (error.docs_url !== `https://fraiseql.dev/docs/errors/${error.code}`) {
    throw new Error(`docs_url does not match the code: ${res.body}`);
  }
  for (const [k, v] of Object.entries(error)) {
    if (v === null || v === undefined) throw new Error(`Error body has a null ${k}: ${res.body}`);
  }
  return error;
}
