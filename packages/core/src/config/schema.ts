import * as z from 'zod';
import { tieredCacheVariant, tieredCrossChecks } from './cache-tiered';
import {
  bool,
  envName,
  fieldList,
  indexName,
  KNOWN_KEYS_MARK,
  language,
  looseTable,
  nonEmpty,
  nonNegativeInt,
  oneOf,
  port,
  positiveInt,
  positiveNumber,
  queueName,
  showValue,
  sqlIdent,
  str,
  table,
  tableName,
  tagged,
} from './leaves';
import { observerCrossChecks, observersSection } from './observers';
import { scheduleCrossChecks, schedulesSection } from './schedules';
import type { IntegrationsConfig } from './types';

export { showValue } from './leaves';

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
  elasticsearch: table({
    provider: str,
    url_env: envName,
    api_key_env: envName.optional(),
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

const cacheVariants = {
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
};

const cacheSection = tagged('backend', {
  ...cacheVariants,
  tiered: tieredCacheVariant(cacheVariants, ttlToMs),
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

/** Named tables whose keys belong to another package (`[flows.<name>]`, `[connectors.<name>]`). */
const rawTables = z.record(z.string(), z.record(z.string(), z.unknown()));

export const configSchema = table({
  search: searchSection.optional(),
  cache: cacheSection.optional(),
  queues: queuesSection.optional(),
  postgres: postgresSection.optional(),
  observers: observersSection.optional(),
  schedules: schedulesSection.optional(),
  // §10: kept as written (snake_case); @fraiseql/flows turns them into definitions and reports
  // their problems as IN002 the same way (`flowsFromConfig`).
  flows: rawTables.optional(),
  connectors: rawTables.optional(),
  plugins: rawTables.optional(),
  query_cache: table(
    {
      enabled: bool.optional(),
      ttl_seconds: positiveInt.optional(),
      mode: oneOf(['all', 'explicit'] as const).optional(),
      invalidation: oneOf(['writes', 'database'] as const).optional(),
      tables: z.array(tableName).optional(),
      prefix: str.optional(),
    },
    ({ ttlSeconds, ...rest }) =>
      ttlSeconds === undefined ? rest : { ...rest, defaultTtlMs: (ttlSeconds as number) * 1000 },
  ).optional(),
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
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(Math.min(k.length, key.length) / 3)))
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

/** `[query_cache]` stores its entries in the `[cache]` backend. */
function queryCacheCrossChecks(config: IntegrationsConfig): ConfigIssue[] {
  const q = config.queryCache;
  if (!q || q.enabled === false) return [];
  const issues: ConfigIssue[] = [];
  if (!config.cache)
    issues.push({
      path: 'query_cache',
      message: 'the query cache stores its entries in the [cache] backend, and there is no [cache] section',
    });
  if (q.tables?.length && q.invalidation !== 'database')
    issues.push({
      path: 'query_cache.tables',
      message: 'tables get invalidation triggers only with invalidation = "database"',
    });
  return issues;
}

export type ParseResult = { ok: true; config: IntegrationsConfig } | { ok: false; issues: ConfigIssue[] };

/** Validates a parsed TOML document (snake_case) into the camelCased config. */
export function validateDocument(doc: unknown): ParseResult {
  const r = configSchema.safeParse(doc, { reportInput: true });
  if (r.success) {
    const config = r.data as IntegrationsConfig;
    const cross = [
      ...observerCrossChecks(config),
      ...queryCacheCrossChecks(config),
      ...scheduleCrossChecks(config),
      ...tieredCrossChecks(config.cache),
    ];
    return cross.length === 0 ? { ok: true, config } : { ok: false, issues: cross };
  }
  return { ok: false, issues: formatIssues(r.error.issues) };
}
