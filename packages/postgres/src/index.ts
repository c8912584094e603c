export { createSqlClient } from './client.ts';
export { LOCK_FILE } from './dir-lock.ts';
export { isUniqueViolation, PROVIDER, sqlState, UNIQUE_VIOLATION } from './errors.ts';
export {
  assertIdentifier,
  MAX_IDENTIFIER_BYTES,
  parseQualifiedName,
  type QualifiedName,
  qualifiedName,
  quoteIdent,
} from './identifiers.ts';
export {
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type MigrateResult,
  type MigrationStep,
  migrate,
} from './migrate.ts';
export { DEFAULT_POOL_OPTIONS } from './pg-client.ts';
export { fromPgClient } from './pg-executor.ts';
export type {
  CommonSqlClientOptions,
  CreateSqlClientOptions,
  ListenOptions,
  QueryOptions,
  QueryResult,
  SqlClient,
  SqlClientEmbeddedOptions,
  SqlClientPgliteOptions,
  SqlClientPoolOptions,
  SqlClientUrlOptions,
  SqlExecutor,
  Unlisten,
} from './types.ts';
export { DEFAULT_HEALTH_TIMEOUT_MS } from './util.ts';
