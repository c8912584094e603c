import * as z from 'zod';
import { resilienceSchema } from '../resilience';
import { isValidIndexName, isValidQueueName } from '../validation';

// ---------------------------------------------------------------------------------------------
// Leaves: every check carries the words of its error, so messages read the same everywhere
// ("expected a positive integer (got -5)") instead of zod's generic defaults.

/** A value quoted for a message: short, and never a whole table dumped into the error. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return `a date (${Number.isNaN(v.getTime()) ? String(v) : v.toISOString()})`;
  if (Array.isArray(v)) {
    const inner = v.slice(0, 5).map(showValue).join(', ');
    return `[${inner}${v.length > 5 ? ', ...' : ''}]`;
  }
  if (typeof v === 'object') return 'a table';
  return typeof v;
}

export function leaf<T>(expected: string, ok: (v: unknown) => boolean) {
  return z.custom<T>((v) => ok(v), {
    error: (iss) =>
      iss.input === undefined
        ? `required: ${expected}`
        : `expected ${expected} (got ${showValue(iss.input)})`,
  });
}

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SQL_IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const positiveInt = leaf<number>('a positive integer', (v) => isInt(v) && v > 0);
export const nonNegativeInt = leaf<number>('an integer >= 0', (v) => isInt(v) && v >= 0);
export const positiveNumber = leaf<number>(
  'a positive number',
  (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
);
export const port = leaf<number>('a port number (1-65535)', (v) => isInt(v) && v >= 1 && v <= 65535);
export const bool = leaf<boolean>('true or false', (v) => typeof v === 'boolean');
export const str = leaf<string>('a string', (v) => typeof v === 'string');
export const nonEmpty = leaf<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
export const envName = leaf<string>(
  'an environment variable name (letters, digits and _)',
  (v) => typeof v === 'string' && ENV_NAME.test(v),
);
export const sqlIdent = leaf<string>(
  'an SQL identifier (letters, digits and _, not starting with a digit, at most 63 characters)',
  (v) => typeof v === 'string' && SQL_IDENT.test(v),
);
export const tableName = leaf<string>('a table name ("table" or "schema.table")', (v) => {
  if (typeof v !== 'string') return false;
  const parts = v.split('.');
  return parts.length <= 2 && parts.every((p) => SQL_IDENT.test(p));
});
export const language = leaf<string>(
  'a text search configuration name, like "english" or "simple"',
  (v) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(v),
);

export function oneOf<const T extends readonly string[]>(values: T) {
  return leaf<T[number]>(
    `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    (v) => typeof v === 'string' && values.includes(v),
  );
}

export const indexName = leaf<string>(
  'an index name: 1-64 characters of letters, digits, "_" and "-"',
  isValidIndexName,
);
export const queueName = leaf<string>(
  'a queue name: 1-128 characters of letters, digits, "_", ".", ":" and "-"',
  isValidQueueName,
);
export const fieldList = z.array(nonEmpty);

// ---------------------------------------------------------------------------------------------
// Tables. Unknown keys are errors (a typo must not silently fall back to a default); the error
// carries the valid keys so the message can suggest the right one. zod's issue has no link back
// to the schema, hence the marker in its message, decoded by `formatIssues`.

export const KNOWN_KEYS_MARK = '\u0000known-keys:';

export const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function camelizeShallow(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[camel(k)] = v;
  return out;
}

export function camelizeDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeDeep);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[camel(k)] = camelizeDeep(v);
    return out;
  }
  return value;
}

export function table(
  shape: Record<string, z.ZodType>,
  map: (o: Record<string, unknown>) => Record<string, unknown> = (o) => o,
) {
  const known = Object.keys(shape);
  return z
    .strictObject(shape, {
      error: (iss) =>
        iss.code === 'unrecognized_keys' ? KNOWN_KEYS_MARK + JSON.stringify(known) : undefined,
    })
    .transform((o) => map(camelizeShallow(o as Record<string, unknown>)));
}

/** `[x.resilience]`: timeout, breaker and retry settings (see `ResilienceOptions`), keys camelCased. */
export const looseTable = z.record(z.string(), z.unknown()).transform((o, ctx) => {
  const camel = camelizeDeep(o) as Record<string, unknown>;
  const checked = resilienceSchema.safeParse(camel);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      const path = issue.path.map((p) => String(p).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown key(s) ${issue.keys.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(', ')}`
          : issue.message;
      ctx.addIssue({ code: 'custom', message, path });
    }
  }
  return camel;
});

/**
 * A section whose shape depends on one key (`provider`, `backend`). The tag is checked first so
 * an unknown backend is one clear error instead of one error per variant.
 */
export function tagged(tag: string, variants: Record<string, z.ZodType>) {
  const names = Object.keys(variants);
  const expected = `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  return z.unknown().transform((input, ctx) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input) || input instanceof Date) {
      ctx.issues.push({ code: 'custom', input, message: `expected a table (got ${showValue(input)})` });
      return z.NEVER;
    }
    const value = (input as Record<string, unknown>)[tag];
    const schema = typeof value === 'string' && Object.hasOwn(variants, value) ? variants[value] : undefined;
    if (!schema) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        path: [tag],
        message:
          value === undefined ? `required: ${expected}` : `expected ${expected} (got ${showValue(value)})`,
      });
      return z.NEVER;
    }
    const r = schema.safeParse(input, { reportInput: true });
    if (!r.success) {
      for (const issue of r.error.issues) ctx.issues.push(issue as (typeof ctx.issues)[number]);
      return z.NEVER;
    }
    return r.data;
  });
}
