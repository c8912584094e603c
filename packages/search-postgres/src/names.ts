import { createHash } from 'node:crypto';
import { ErrorCode, IntegrationError } from '@fraiseql/core';

/** Longest identifier Postgres keeps (NAMEDATALEN - 1); longer names would be silently truncated. */
const MAX_IDENTIFIER = 63;

/** The catalog table in the provider's schema: one row per index (managed or attached). */
export const CATALOG_TABLE = 'search_indexes';

const PLAIN_INDEX = /^[A-Za-z0-9_]+$/;

export function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The table of a managed index: `search_<index>` when that is a plain identifier of at most 63
 * bytes, else `search_<index with - as _, truncated>_<hash>` — index names may be 64 characters
 * and contain `-`, and two names must never share a table (`a-b` vs `a_b`, or two long names
 * with the same first 56 characters). Case is kept (identifiers are always quoted), so `Products`
 * and `products` are two tables, as they are two indexes on every other engine. A pure function
 * of the name, so writes need no catalog lookup; the catalog still records it (and its UNIQUE
 * constraint would catch the astronomically unlikely hash collision).
 */
export function tableNameFor(index: string): string {
  const plain = `search_${index}`;
  if (PLAIN_INDEX.test(index) && plain.length <= MAX_IDENTIFIER && plain !== CATALOG_TABLE) return plain;
  const hash = shortHash(index, 10);
  const head = `search_${index.replace(/-/g, '_')}`.slice(0, MAX_IDENTIFIER - hash.length - 1);
  return `${head}_${hash}`;
}

/**
 * `base + suffix`, shortened to fit 63 bytes with a hash of `base` when needed, so derived names
 * (indexes, triggers, functions) of two long tables never collide. `base` and `suffix` must be
 * ASCII identifier characters.
 */
export function fitIdent(base: string, suffix: string): string {
  const name = `${base}${suffix}`;
  if (name.length <= MAX_IDENTIFIER) return name;
  const hash = shortHash(base, 8);
  return `${base.slice(0, MAX_IDENTIFIER - suffix.length - hash.length - 1)}_${hash}${suffix}`;
}

/** A text search configuration name as the config accepts it: `english`, `pg_catalog.english`. */
export const LANGUAGE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** `'english'::regconfig` — only for names that passed {@link LANGUAGE_NAME} (no quote can occur). */
export function regconfigLiteral(language: string): string {
  if (!LANGUAGE_NAME.test(language)) {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `Invalid text search configuration name ${JSON.stringify(language)}`,
      { field: 'language' },
    );
  }
  return `'${language}'::regconfig`;
}
