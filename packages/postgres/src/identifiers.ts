import { ErrorCode, IntegrationError } from '@fraiseql/core';

/** Longest identifier Postgres keeps (NAMEDATALEN - 1); longer names are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// The kind follows the code: IN002 is a configuration error, IN106 & co. invalid input.
function invalid(code: ErrorCode, message: string, field: string): IntegrationError {
  return new IntegrationError(code, message, { field });
}

function show(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Checks that `name` is a plain SQL identifier: 1-63 bytes of `[A-Za-z_][A-Za-z0-9_]*`.
 *
 * Anything else — quotes, dots, spaces, semicolons, non-ASCII letters, 64+ characters — is
 * refused rather than escaped, because schema and table names come from configuration and a name
 * that needs escaping is almost always a mistake (or an attack). The error is an IntegrationError
 * with `code` (default IN002 InvalidConfiguration, kind `configuration`, as such names come from
 * config; pass e.g. IN106 when the name derives from user input) and `field` = `what`.
 *
 * Names are always used quoted (see {@link quoteIdent}), so case is preserved: `MyTable` and
 * `mytable` are different tables.
 */
export function assertIdentifier(
  name: unknown,
  what = 'identifier',
  code: ErrorCode = ErrorCode.InvalidConfiguration,
): asserts name is string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw invalid(
      code,
      `Invalid ${what} ${show(name)}: use 1-${MAX_IDENTIFIER_BYTES} characters of [A-Za-z0-9_], not starting with a digit`,
      what,
    );
  }
  // The pattern is ASCII-only, so characters are bytes.
  if (name.length > MAX_IDENTIFIER_BYTES) {
    throw invalid(
      code,
      `Invalid ${what} ${show(name)}: ${name.length} characters; Postgres keeps at most ${MAX_IDENTIFIER_BYTES}`,
      what,
    );
  }
}

/** Validates `name` ({@link assertIdentifier}) and returns it double-quoted: `cache` → `"cache"`. */
export function quoteIdent(name: string, what = 'identifier'): string {
  assertIdentifier(name, what);
  return `"${name}"`;
}

/** `"schema"."table"`, both parts validated. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema, 'schema')}.${quoteIdent(table, 'table')}`;
}

/** A table name split into its parts. */
export interface QualifiedName {
  schema: string;
  table: string;
}

/**
 * Parses `"schema.table"` (e.g. the cache's default `"_system.cache"`) into validated parts. A
 * bare `"table"` gets `defaultSchema` (default `"public"`). Quoted forms and more than one dot
 * are refused (IN002), like every name {@link assertIdentifier} refuses.
 */
export function parseQualifiedName(text: string, defaultSchema = 'public', what = 'table'): QualifiedName {
  if (typeof text !== 'string') {
    throw invalid(ErrorCode.InvalidConfiguration, `Invalid ${what} ${show(text)}`, what);
  }
  const parts = text.split('.');
  if (parts.length > 2) {
    throw invalid(
      ErrorCode.InvalidConfiguration,
      `Invalid ${what} ${show(text)}: expected "table" or "schema.table"`,
      what,
    );
  }
  const [first, second] = parts as [string, string | undefined];
  const schema = second === undefined ? defaultSchema : first;
  const table = second ?? first;
  assertIdentifier(schema, `${what} schema`);
  assertIdentifier(table, what);
  return { schema, table };
}

/**
 * LISTEN/NOTIFY channel names are any 1-63 bytes without NUL; they are sent quoted, so case and
 * punctuation (queue names like `emails.v2`) are kept exactly.
 */
export function assertChannel(channel: unknown): asserts channel is string {
  if (
    typeof channel !== 'string' ||
    channel.length === 0 ||
    channel.includes('\0') ||
    Buffer.byteLength(channel, 'utf8') > MAX_IDENTIFIER_BYTES
  ) {
    throw invalid(
      ErrorCode.InvalidConfiguration,
      `Invalid channel ${show(channel)}: use 1-${MAX_IDENTIFIER_BYTES} bytes without NUL`,
      'channel',
    );
  }
}

/** The channel as a quoted identifier (embedded `"` doubled), for LISTEN/UNLISTEN. */
export function quoteChannel(channel: string): string {
  assertChannel(channel);
  return `"${channel.replaceAll('"', '""')}"`;
}
