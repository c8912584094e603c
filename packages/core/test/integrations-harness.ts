import { expect } from 'vitest';
import { IntegrationError, type ProviderImporter } from '../src/index';

/** Fake provider packages for the createIntegrations tests (integrations*.test.ts). */

/** A provider double that records the options its factory received and how often it closed. */
export interface FakeProvider {
  name: string;
  options: Record<string, unknown>;
  closed: number;
  /** Tables a query cache was asked to install invalidation triggers on. */
  installed?: string[];
  installInvalidation(tables: string[]): Promise<void>;
  healthCheck(): Promise<boolean>;
  close(): Promise<void>;
}

export interface Harness {
  importer: ProviderImporter;
  /** Every created provider / client, in creation order. */
  created: FakeProvider[];
  /** Every close, in order, by name. */
  closes: string[];
  loaded: string[];
}

/**
 * Fake provider packages. `fail` names factories that throw; `missing` names packages that are
 * not installed.
 */
export function fakePackages(opts: { fail?: Record<string, unknown>; missing?: string[] } = {}): Harness {
  const h: Harness = { importer: async () => undefined, created: [], closes: [], loaded: [] };
  const factory = (fn: string, name: string) => async (options: Record<string, unknown>) => {
    if (opts.fail && fn in opts.fail) throw opts.fail[fn];
    const p: FakeProvider = {
      name,
      options,
      closed: 0,
      installInvalidation: async (tables) => {
        p.installed = tables;
      },
      healthCheck: async () => true,
      close: async () => {
        p.closed++;
        h.closes.push(name);
      },
    };
    h.created.push(p);
    return p;
  };
  const packages: Record<string, Record<string, unknown>> = {
    '@fraiseql/postgres': { createSqlClient: factory('createSqlClient', 'sql') },
    '@fraiseql/search-meilisearch': {
      createMeilisearchSearch: factory('createMeilisearchSearch', 'meilisearch'),
    },
    '@fraiseql/search-typesense': { createTypesenseSearch: factory('createTypesenseSearch', 'typesense') },
    '@fraiseql/search-algolia': { createAlgoliaSearch: factory('createAlgoliaSearch', 'algolia') },
    '@fraiseql/search-elasticsearch': {
      createElasticsearchSearch: factory('createElasticsearchSearch', 'elasticsearch'),
    },
    '@fraiseql/search-postgres': {
      createPostgresSearch: factory('createPostgresSearch', 'search-postgresql'),
    },
    '@fraiseql/cache-redis': { createRedisCache: factory('createRedisCache', 'redis') },
    '@fraiseql/cache-memory': { createMemoryCache: factory('createMemoryCache', 'memory') },
    '@fraiseql/cache-postgres': { createPostgresCache: factory('createPostgresCache', 'cache-postgresql') },
    '@fraiseql/queue-postgres': { createPostgresQueue: factory('createPostgresQueue', 'queue-postgresql') },
    '@fraiseql/queue-redis': { createRedisQueue: factory('createRedisQueue', 'queue-redis') },
    '@fraiseql/queue-rabbitmq': { createRabbitQueue: factory('createRabbitQueue', 'rabbitmq') },
    '@fraiseql/query-cache': { createQueryCache: factory('createQueryCache', 'query-cache') },
  };
  h.importer = async (spec) => {
    h.loaded.push(spec);
    if (opts.missing?.includes(spec)) return undefined;
    return packages[spec];
  };
  return h;
}

export async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IntegrationError);
  return err as IntegrationError;
}

export const byName = (h: Harness, name: string) => h.created.find((p) => p.name === name)!;
