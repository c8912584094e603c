import { isIntegrationError, type SearchResult } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';

export interface Env {
  sql: SqlClient;
  schema: string;
}

export const ids = (r: SearchResult<unknown>): string[] => r.hits.map((h) => h.id).sort();

export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (!isIntegrationError(err)) throw err;
    return err.code;
  }
  throw new Error('expected a rejection');
}
