import { redactSecrets } from '@fraiseql/core';
import { stdSerializers } from 'pino';

/** What a redacted value is replaced with (the same mask `redactSecrets` uses). */
export const REDACTED = '***';

// Compared after lower-casing and dropping everything but letters and digits, so `apiKey`,
// `api_key`, `X-Meili-API-Key` and `x-typesense-api-key` all match.
const SECRET_KEY_EXACT = new Set(['auth', 'pass', 'pwd', 'credentials', 'dsn']);
const SECRET_KEY_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
  'accesskey',
];

const normalizeKey = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** True for object keys whose value is a secret whatever it looks like (`apiKey`, `authorization`, …). */
export function isSecretKey(key: string, extra: ReadonlySet<string> = new Set()): boolean {
  const k = normalizeKey(key);
  return SECRET_KEY_EXACT.has(k) || extra.has(k) || SECRET_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

export interface Redactor {
  /** A copy of `value` safe to log: secret keys masked, every string through `redactSecrets`. */
  value(value: unknown): unknown;
  string(text: string): string;
}

const MAX_DEPTH = 10;

/**
 * Builds the walk the logger runs over everything it writes. It copies instead of mutating
 * (the caller's objects are theirs), turns errors into pino's serialized shape first so their
 * message, stack and `cause` chain are scrubbed too, and stops at cycles and at depth 10.
 */
export function createRedactor(
  opts: { secrets?: readonly (string | undefined)[]; keys?: readonly string[] } = {},
): Redactor {
  const secrets = [...(opts.secrets ?? [])];
  const extraKeys = new Set((opts.keys ?? []).map(normalizeKey));
  const string = (text: string) => redactSecrets(text, secrets);

  const walk = (value: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof value === 'string') return string(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Object]';
    if (ArrayBuffer.isView(value) || value instanceof Date) return value;
    if (value instanceof URL) return string(value.href);
    seen.add(value);
    try {
      if (value instanceof Error) {
        const serialized = stdSerializers.err(value) as { type?: string };
        // pino names the type after the constructor, which bundlers rename (`_IntegrationError`);
        // an explicit `name` is what the error calls itself.
        if (typeof value.name === 'string' && value.name !== 'Error' && value.name)
          serialized.type = value.name;
        return walk(serialized, depth, new WeakSet());
      }
      if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk(toJSON.call(value), depth + 1, seen);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[k] =
          isSecretKey(k, extraKeys) && v !== null && v !== undefined ? REDACTED : walk(v, depth + 1, seen);
      }
      return out;
    } finally {
      seen.delete(value);
    }
  };

  return { value: (v) => walk(v, 0, new WeakSet()), string };
}
