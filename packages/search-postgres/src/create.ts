import { positiveIntOption } from '@fraiseql/core';
import { assertIdentifier, migrate } from '@fraiseql/postgres';
import { planAttach } from './attach.ts';
import { badConfig, resolveLanguage } from './checks.ts';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_LANGUAGE,
  DEFAULT_MAX_FACET_VALUES,
  DEFAULT_SEARCH_SCHEMA,
} from './constants.ts';
import { CATALOG_TABLE } from './names.ts';
import { PostgresSearchProvider } from './provider.ts';
import type { PostgresSearchOptions } from './types.ts';

const CATALOG_STEPS = [
  {
    id: '001_search_indexes',
    up: `CREATE TABLE IF NOT EXISTS ${CATALOG_TABLE} (
      name text COLLATE "C" PRIMARY KEY,
      table_name text COLLATE "C" NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('managed', 'attached')),
      language text NOT NULL,
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];

/**
 * The `postgresql` search provider, on a Postgres server or PGlite (`@fraiseql/postgres`'s SqlClient).
 *
 * Creates `<schema>` and its catalog `search_indexes` when missing, attaches every `tables`
 * entry and configures every `indexes` entry (both idempotent), then resolves. Options: see
 * {@link PostgresSearchOptions}. Every problem with them is IN002.
 */
export async function createPostgresSearch(opts: PostgresSearchOptions): Promise<PostgresSearchProvider> {
  if (!opts || typeof opts !== 'object')
    throw badConfig('createPostgresSearch: options must be an object', 'options');
  const sql = opts.sql;
  if (!sql || typeof sql.query !== 'function' || typeof sql.transaction !== 'function') {
    throw badConfig(
      'createPostgresSearch: "sql" must be a SqlClient (createSqlClient of @fraiseql/postgres)',
      'sql',
    );
  }
  const schema = opts.schema ?? DEFAULT_SEARCH_SCHEMA;
  assertIdentifier(schema, 'schema');
  const batchSize = positiveIntOption(opts.batchSize, 'batchSize', DEFAULT_BATCH_SIZE, 'search-postgres');
  const maxFacetValues = positiveIntOption(
    opts.maxFacetValues,
    'maxFacetValues',
    DEFAULT_MAX_FACET_VALUES,
    'search-postgres',
  );
  if (opts.autoCreateIndexes !== undefined && typeof opts.autoCreateIndexes !== 'boolean') {
    throw badConfig('autoCreateIndexes must be a boolean', 'autoCreateIndexes');
  }
  const plans = Object.entries(opts.tables ?? {}).map(([key, t]) => planAttach(key, t));
  const attachedNames = new Set<string>();
  for (const plan of plans) {
    if (attachedNames.has(plan.index)) {
      throw badConfig(
        `tables: two tables are searched as index "${plan.index}" (set "index" on one)`,
        'tables',
      );
    }
    attachedNames.add(plan.index);
  }
  for (const index of Object.keys(opts.indexes ?? {})) {
    if (attachedNames.has(index)) {
      throw badConfig(`index "${index}" is both in "indexes" and an attached table in "tables"`, 'indexes');
    }
  }
  const language = await resolveLanguage(sql, opts.defaultLanguage ?? DEFAULT_LANGUAGE, 'defaultLanguage');
  await migrate(sql, { schema, namespace: 'search-postgres', steps: CATALOG_STEPS });
  const provider = new PostgresSearchProvider(sql, {
    schema,
    language,
    batchSize,
    autoCreate: opts.autoCreateIndexes ?? true,
    maxFacetValues,
  });
  for (const plan of plans) await provider.attach(plan);
  for (const [index, config] of Object.entries(opts.indexes ?? {}))
    await provider.configureIndex(index, config);
  return provider;
}
