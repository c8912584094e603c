import * as z from 'zod';
import { resilienceSchema } from '../resilience';
import { isValidIndexName, isValidQueueName } from '../validation';
import type { IntegrationsConfig } from './types';

/** One problem found in a config file: a dotted path (`cache.default_ttl`) and what is wrong. */
export interface ConfigIssue {
  /** Dotted path in the file's own (snake_case) keys; `""` for the document itself. */
  path: string;
  message: string;
  /** 1-based, for syntax errors. */
  line?: number;
  /** 1-based, for syntax errors. */
  column?: number;
}

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

function leaf<T>(expected: string, ok: (v: unknown) => boolean) {
  return z.custom<T>((v) => ok(v), {
    error: (iss) =>
      iss.input === undefined
        ? `required: ${expected}`
        : `expected ${expected} (got ${showValue(iss.input)})`,
  });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SQL_IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const positiveInt = leaf<number>('a positive integer', (v) => isInt(v) && v > 0);
const nonNegativeInt = leaf<number>('an integer >= 0', (v) => isInt(v) && v >= 0);
const positiveNumber = leaf<number>(
  'a positive number',
  (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
);
const port = leaf<number>('a port number (1-65535)', (v) => isInt(v) && v >= 1 && v <= 65535);
const bool = leaf<boolean>('true or false', (v) => typeof v === 'boolean');
const str = leaf<string>('a string', (v) => typeof v === 'string');
const nonEmpty = leaf<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
const envName = leaf<string>(
  'an environment variable name (letters, digits and _)',
  (v) => typeof v === 'string' && ENV_NAME.test(v),
);
const sqlIdent = leaf<string>(
  'an SQL identifier (letters, digits and _, not starting with a digit, at most 63 characters)',
  (v) => typeof v === 'string' && SQL_IDENT.test(v),
);
const tableName = leaf<string>('a table name ("table" or "schema.table")', (v) => {
  if (typeof v !== 'string') return false;
  const parts = v.split('.');
  return parts.length <= 2 && parts.every((p) => SQL_IDENT.test(p));
});
const language = leaf<string>(
  'a text search configuration name, like "english" or "simple"',
  (v) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(v),
);

function oneOf<const T extends readonly string[]>(values: T) {
  return leaf<T[number]>(
    `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    (v) => typeof v === 'string' && values.includes(v),
  );
}

const indexName = leaf<string>(
  'an index name: 1-64 characters of letters, digits, "_" and "-"',
  isValidIndexName,
);
const queueName = leaf<string>(
  'a queue name: 1-128 characters of letters, digits, "_", ".", ":" and "-"',
  isValidQueueName,
);
const fieldList = z.array(nonEmpty);

// ---------------------------------------------------------------------------------------------
// Tables. Unknown keys are errors (a typo must not silently fall back to a default); the error
// carries the valid keys so the message can suggest the right one. zod's issue has no link back
// to the schema, hence the marker in its message, decoded by `formatIssues`.

const KNOWN_KEYS_MARK = '\u0000known-keys:';

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function camelizeShallow(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[camel(k)] = v;
  return out;
}

function camelizeDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeDeep);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[camel(k)] = camelizeDeep(v);
    return out;
  }
  return value;
}

function table(
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
const looseTable = z.record(z.string(), z.unknown()).transform((o, ctx) => {
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
function tagged(tag: string, variants: Record<string, z.ZodType>) {
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

// ---------------------------------------------------------------------------------------------
// §5 of DESIGN.md, key by key.

const indexConfig = table({
  searchable: fieldList.min(1),
  filterable: fieldList.optional(),
  sortable: fieldList.optional(),
  primary_key: nonEmpty.optional(),
});

const searchCommon = {
  indexes: z.record(indexName, indexConfig).optional(),
  resilience: looseTable.optional(),
};

const typesenseField = table({
  name: nonEmpty,
  type: nonEmpty,
  facet: bool.optional(),
  index: bool.optional(),
  optional: bool.optional(),
  sort: bool.optional(),
});

const ftsTable = table({
  columns: z.array(sqlIdent).min(1),
  weights: z.record(sqlIdent, oneOf(['A', 'B', 'C', 'D'] as const)).optional(),
  language: language.optional(),
});

const searchSection = tagged('provider', {
  meilisearch: table({
    provider: str,
    host_env: envName,
    api_key_env: envName,
    ...searchCommon,
  }),
  typesense: table({
    provider: str,
    host_env: envName,
    api_key_env: envName,
    port: port.optional(),
    protocol: oneOf(['http', 'https'] as const).optional(),
    collections: z
      .record(
        indexName,
        table({ fields: z.array(typesenseField).min(1), default_sorting_field: nonEmpty.optional() }),
      )
      .optional(),
    ...searchCommon,
  }),
  algolia: table({
    provider: str,
    app_id_env: envName,
    api_key_env: envName,
    ...searchCommon,
  }),
  postgresql: table({
    provider: str,
    schema: sqlIdent.optional(),
    default_language: language.optional(),
    tables: z.record(tableName, ftsTable).optional(),
    ...searchCommon,
  }),
});

/** TOML keeps seconds (`default_ttl`); the TypeScript side is milliseconds everywhere. */
const ttlToMs = (o: Record<string, unknown>) => {
  if (o.defaultTtl === undefined) return o;
  const { defaultTtl, ...rest } = o;
  return { ...rest, defaultTtlMs: (defaultTtl as number) * 1000 };
};

const cacheCommon = {
  prefix: str.optional(),
  default_ttl: positiveInt.optional(),
  max_value_bytes: positiveInt.optional(),
  resilience: looseTable.optional(),
};

const cacheSection = tagged('backend', {
  redis: table({ backend: str, url_env: envName, cluster: bool.optional(), ...cacheCommon }, ttlToMs),
  memory: table(
    {
      backend: str,
      max_entries: positiveInt.optional(),
      max_size_bytes: positiveInt.optional(),
      ...cacheCommon,
    },
    ttlToMs,
  ),
  postgresql: table({ backend: str, table: tableName.optional(), ...cacheCommon }, ttlToMs),
});

const queueOptions = table({
  max_retries: nonNegativeInt.optional(),
  retry_delay_ms: nonNegativeInt.optional(),
  timeout_ms: positiveInt.optional(),
  rate_limit: table({ max: positiveInt, per_seconds: positiveNumber }).optional(),
});

const queuesCommon = {
  concurrency: positiveInt.optional(),
  visibility_timeout_ms: positiveInt.optional(),
  defaults: queueOptions.optional(),
  queues: z.record(queueName, queueOptions).optional(),
  resilience: looseTable.optional(),
};

const queuesSection = tagged('backend', {
  redis: table({ backend: str, url_env: envName, prefix: str.optional(), ...queuesCommon }),
  postgresql: table({
    backend: str,
    schema: sqlIdent.optional(),
    poll_interval_ms: positiveInt.optional(),
    ...queuesCommon,
  }),
  rabbitmq: table({ backend: str, url_env: envName, ...queuesCommon }),
});

const postgresSection = table({
  url_env: envName.optional(),
  embedded_dir: nonEmpty.optional(),
});

export const configSchema = table({
  search: searchSection.optional(),
  cache: cacheSection.optional(),
  queues: queuesSection.optional(),
  postgres: postgresSection.optional(),
});

// ---------------------------------------------------------------------------------------------
// Issue formatting.

/** `search.indexes.products.searchable[1]`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      const part = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s);
      out += out ? `.${part}` : part;
    }
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Keys that would hold a secret: they must name an environment variable instead. */
const SECRET_KEY = /^(key|(.+_)?(api_?key|password|passwd|secret|token|url|uri|dsn|credentials?))$/i;

function unknownKeyMessage(key: string, known: string[]): string {
  if (SECRET_KEY.test(key)) {
    const envKeys = known.filter((k) => k.endsWith('_env'));
    const direct = `${key}_env`;
    const hint = envKeys.includes(direct)
      ? `set ${direct} = "SOME_VARIABLE" and put the value in that environment variable`
      : envKeys.length > 0
        ? `name an environment variable with ${envKeys.join(' or ')} instead`
        : 'pass it through an environment variable instead';
    return `secrets are never stored in the config file; ${hint}`;
  }
  if (known.includes(`${key}_env`)) {
    return `unknown key (use ${key}_env: the name of an environment variable holding the value)`;
  }
  const close = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k) }))
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  if (close) return `unknown key (did you mean "${close.k}"?)`;
  return `unknown key (expected one of: ${known.join(', ')})`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a table',
  record: 'a table',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

/** zod issues → one `{ path, message }` per bad path, in the words a config author reads. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of issues) {
    const path = iss.path ?? [];
    if (iss.code === 'unrecognized_keys') {
      const known: string[] = iss.message.startsWith(KNOWN_KEYS_MARK)
        ? JSON.parse(iss.message.slice(KNOWN_KEYS_MARK.length))
        : [];
      for (const key of iss.keys)
        out.push({ path: formatPath([...path, key]), message: unknownKeyMessage(key, known) });
    } else if (iss.code === 'invalid_key') {
      out.push({ path: formatPath(path), message: iss.issues[0]?.message ?? 'invalid name' });
    } else if (iss.code === 'invalid_type') {
      const want = TYPE_WORDS[iss.expected] ?? iss.expected;
      const got = (iss as { input?: unknown }).input;
      out.push({
        path: formatPath(path),
        message: got === undefined ? `required: ${want}` : `expected ${want} (got ${showValue(got)})`,
      });
    } else if (iss.code === 'too_small' && iss.origin === 'array') {
      out.push({ path: formatPath(path), message: `expected at least ${String(iss.minimum)} entry` });
    } else {
      out.push({ path: formatPath(path), message: iss.message });
    }
  }
  return out;
}

export type ParseResult = { ok: true; config: IntegrationsConfig } | { ok: false; issues: ConfigIssue[] };

/** Validates a parsed TOML document (snake_case) into the camelCased config. */
export function validateDocument(doc: unknown): ParseResult {
  const r = configSchema.safeParse(doc, { reportInput: true });
  if (r.success) return { ok: true, config: r.data as IntegrationsConfig };
  return { ok: false, issues: formatIssues(r.error.issues) };
}
