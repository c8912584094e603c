import { ErrorCode, IntegrationError, redactSecrets } from '@fraiseql/core';
import { createPgSqlClient } from './pg-client.ts';
import { createPgliteSqlClient } from './pglite-client.ts';
import type {
  CreateSqlClientOptions,
  SqlClient,
  SqlClientPoolOptions,
  SqlClientUrlOptions,
} from './types.ts';

// What `pg` understands: a URL with a Postgres scheme, or a Unix socket directory.
function isPostgresUrl(url: string): boolean {
  if (url.startsWith('/')) return true;
  try {
    return ['postgres:', 'postgresql:', 'socket:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * Opens a {@link SqlClient}:
 * - `{ url }` — a `pg` Pool on that server (owned: `close()` ends it);
 * - `{ pool }` — the caller's `pg` Pool (borrowed: `close()` leaves it open);
 * - `{}` / `{ embeddedDir }` — PGlite in this process, in memory or persisted in the directory;
 * - `{ pglite }` — the caller's PGlite instance (borrowed).
 *
 * For a server it runs `SELECT 1` first (unless `lazyConnect`), so a wrong URL or a server that
 * is down fails here: IN501 when refused, IN500 on a timeout, IN405 with the SQLSTATE for e.g. a
 * bad password or a missing database. `{ url: undefined }` counts as "no URL" (embedded), which is
 * what a config with an unset `url_env` means.
 */
export async function createSqlClient(opts: CreateSqlClientOptions = {}): Promise<SqlClient> {
  if (opts === null || typeof opts !== 'object') {
    throw new IntegrationError(ErrorCode.InvalidConfiguration, 'createSqlClient: options must be an object');
  }
  const o = opts as Partial<SqlClientUrlOptions & SqlClientPoolOptions> & Record<string, unknown>;
  const forms = ['url', 'pool', 'pglite', 'embeddedDir'].filter((k) => o[k] !== undefined);
  if (forms.length > 1) {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `createSqlClient: give only one of url, pool, pglite, embeddedDir (got ${forms.join(', ')})`,
    );
  }
  if (o.url !== undefined) {
    if (typeof o.url !== 'string' || o.url.trim() === '') {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        'createSqlClient: url must be a non-empty string',
        {
          field: 'url',
        },
      );
    }
    if (!isPostgresUrl(o.url)) {
      throw new IntegrationError(
        ErrorCode.InvalidConfiguration,
        `createSqlClient: url must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactSecrets(o.url))}`,
        { field: 'url' },
      );
    }
    return createPgSqlClient(opts as SqlClientUrlOptions);
  }
  if (o.pool !== undefined) return createPgSqlClient(opts as SqlClientPoolOptions);
  return createPgliteSqlClient(opts as Parameters<typeof createPgliteSqlClient>[0]);
}
