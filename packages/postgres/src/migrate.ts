import { ErrorCode, IntegrationError, isIntegrationError } from '@fraiseql/core';
import { toIntegrationError } from './errors.ts';
import { assertIdentifier, qualifiedName, quoteIdent } from './identifiers.ts';
import type { SqlClient, SqlExecutor } from './types.ts';

/** Table, in the migrated schema, that records applied steps. */
export const MIGRATIONS_TABLE = '_fraiseql_migrations';

/** One schema change. Its `id` is recorded once applied and never run again. */
export interface MigrationStep {
  /** Unique within the namespace, e.g. `"001_create_jobs"`. Never rename an applied step. */
  id: string;
  /** A SQL script (may hold several statements) or a function using the transaction. */
  up: string | ((tx: SqlExecutor) => Promise<void>);
}

export interface MigrateOptions {
  /** Schema the steps work in; created when missing. The record table lives there too. */
  schema: string;
  /** Who owns the steps, e.g. `"queue-postgres"`; step ids are unique per namespace. */
  namespace: string;
  /** Applied in order; steps already recorded are skipped. */
  steps: readonly MigrationStep[];
}

export interface MigrateResult {
  /** Ids of the steps this call applied (empty when everything was already there). */
  applied: string[];
}

/**
 * Brings `schema` up to date with `steps`, idempotently and safely when several processes start
 * at once. Everything runs in ONE transaction that first takes
 * `pg_advisory_xact_lock(hashtext('fraiseql:migrate:<schema>'))`: concurrent callers on the same
 * schema queue behind it and then find the steps recorded, and a failing step rolls back every
 * step of this call. The lock is per schema, not per namespace, because two namespaces sharing a
 * schema would otherwise race to create the schema and the record table.
 *
 * Applied steps are recorded in `"<schema>"."_fraiseql_migrations"` (namespace, id, applied_at).
 * Steps run with `search_path = "<schema>", public`, so unqualified names land in the schema.
 * Steps must be transactional (no `CREATE INDEX CONCURRENTLY`). The schema and table are created
 * only when missing, so a role without CREATE on the database can run it once they exist.
 * Works the same on PGlite (a single connection, where the lock is uncontended).
 */
export async function migrate(sql: SqlClient, opts: MigrateOptions): Promise<MigrateResult> {
  assertIdentifier(opts.schema, 'schema');
  if (typeof opts.namespace !== 'string' || opts.namespace.length === 0) {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      'migrate: namespace must be a non-empty string',
      {
        field: 'namespace',
      },
    );
  }
  const seen = new Set<string>();
  for (const step of opts.steps) {
    if (typeof step?.id !== 'string' || step.id.length === 0 || seen.has(step.id)) {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `migrate ${opts.namespace}: step ids must be unique non-empty strings (got ${JSON.stringify(step?.id)})`,
        { field: 'steps' },
      );
    }
    if (typeof step.up !== 'string' && typeof step.up !== 'function') {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `migrate ${opts.namespace}: step ${step.id} needs an up script or function`,
        { field: 'steps' },
      );
    }
    seen.add(step.id);
  }

  const schema = quoteIdent(opts.schema, 'schema');
  const table = qualifiedName(opts.schema, MIGRATIONS_TABLE);
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`fraiseql:migrate:${opts.schema}`]);
    const hasSchema = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [opts.schema]);
    if (hasSchema.rowCount === 0) await tx.exec(`CREATE SCHEMA ${schema}`);
    const hasTable = await tx.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
    if (!hasTable.rows[0]?.t) {
      await tx.exec(
        `CREATE TABLE ${table} (
          namespace text NOT NULL,
          id text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (namespace, id)
        )`,
      );
    }
    // Unqualified names in steps land in the schema (public stays reachable for extensions).
    await tx.exec(`SET LOCAL search_path TO ${schema}, public`);
    const done = await tx.query<{ id: string }>(`SELECT id FROM ${table} WHERE namespace = $1`, [
      opts.namespace,
    ]);
    const already = new Set(done.rows.map((r) => r.id));
    const applied: string[] = [];
    for (const step of opts.steps) {
      if (already.has(step.id)) continue;
      try {
        if (typeof step.up === 'string') await tx.exec(step.up);
        else await step.up(tx);
      } catch (err) {
        const context = `migration ${opts.namespace}/${step.id} in schema ${opts.schema} failed`;
        if (isIntegrationError(err) && err.cause !== undefined) throw toIntegrationError(err.cause, context);
        throw toIntegrationError(err, context);
      }
      await tx.query(`INSERT INTO ${table} (namespace, id) VALUES ($1, $2)`, [opts.namespace, step.id]);
      applied.push(step.id);
    }
    return { applied };
  });
}
