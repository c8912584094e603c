import { createHash } from 'node:crypto';
import pg, { type CustomTypesConfig, type QueryResult as PgResult, type QueryConfig } from 'pg';
import type { QueryResult } from './types.ts';
import { parseInt8 } from './util.ts';

const INT8_OID = 20;

/**
 * Per-query type parsers (PGlite's value rules, see SqlExecutor) that leave `pg`'s global
 * parsers — and those of a pool the caller passed in — untouched.
 */
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: any) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as any,
};

export function toResult<R>(r: PgResult<any>): QueryResult<R> {
  const rows = (r.rows ?? []) as R[];
  return { rows, rowCount: typeof r.rowCount === 'number' ? r.rowCount : rows.length };
}

const statementNames = new Map<string, string>();

/** A stable name per statement text (pg keeps prepared statements per connection, by name). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `fq_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return name;
}

/** Statements run with the extended protocol, like PGlite: one statement per call, always bound. */
export function statement(
  text: string,
  params: readonly unknown[] | undefined,
  prepare = false,
): QueryConfig {
  const config = {
    text,
    values: params ? [...params] : [],
    types: TYPES,
    queryMode: 'extended',
  } as QueryConfig;
  if (prepare) config.name = statementName(text);
  return config;
}
