import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { type ConfigIssue, validateDocument } from './config/schema';
import type { IntegrationsConfig } from './config/types';
import { describeError, ErrorCode, IntegrationError, redactSecrets } from './errors';

export type { ConfigIssue } from './config/schema';
export type * from './config/types';

/** Where `loadConfig()` looks when no path is given (relative to the working directory). */
export const DEFAULT_CONFIG_PATH = 'fraiseql.toml';
/** PGlite data directory of the `postgresql` backends when `[postgres]` names no database. */
export const DEFAULT_EMBEDDED_DIR = '.fraiseql/pglite';

/**
 * A configuration problem: IN001 (no file), IN002 (bad file) or IN003 (missing environment
 * variable). `issues` lists every bad path; the message lists them too, one per line.
 */
export class ConfigError extends IntegrationError {
  readonly issues: ConfigIssue[];

  constructor(code: ErrorCode, message: string, issues: ConfigIssue[] = [], cause?: unknown) {
    const only = issues.length === 1 && issues[0]!.path ? issues[0]!.path : undefined;
    super(code, message, {
      kind: 'configuration',
      ...(only === undefined ? {} : { field: only }),
      ...(cause === undefined ? {} : { cause }),
    });
    this.issues = issues;
  }
}

function invalid(source: string, issues: ConfigIssue[], cause?: unknown): ConfigError {
  const clean = issues.map((i) => ({ ...i, message: redactSecrets(i.message) }));
  const lines = clean.map((i) => `  - ${i.path || '(document)'}: ${i.message}`);
  const count = clean.length === 1 ? '1 problem' : `${clean.length} problems`;
  return new ConfigError(
    ErrorCode.InvalidConfiguration,
    `Invalid configuration in ${source} (${count}):\n${lines.join('\n')}`,
    clean,
    cause,
  );
}

/**
 * Parses and validates the TOML of `fraiseql.toml` into the camelCased config. Every problem —
 * TOML syntax included — is one IN002 ConfigError listing each bad path; unknown keys are errors
 * and secrets (`api_key`, `url`, `password`, …) must be named through `*_env` keys.
 *
 * Units: TOML `default_ttl` is seconds and becomes `defaultTtlMs`; every other duration is
 * already `*_ms` and keeps its value.
 */
export function parseConfig(
  text: string,
  opts: { sourceName?: string; env?: Record<string, string | undefined> } = {},
): IntegrationsConfig {
  const source = opts.sourceName ?? DEFAULT_CONFIG_PATH;
  if (typeof text !== 'string') {
    throw invalid(source, [{ path: '', message: `expected TOML text (got ${typeof text})` }]);
  }
  let doc: unknown;
  try {
    doc = parseToml(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof TomlError) {
      // The parser's message is "Invalid TOML document: <reason>\n\n<code excerpt>"; keep the
      // reason and the excerpt, never a stack.
      const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/i, '');
      const excerpt = err.codeblock ? `\n${err.codeblock.replace(/\s+$/, '')}` : '';
      const issue: ConfigIssue = {
        path: '',
        message: `TOML syntax error (line ${err.line}, column ${err.column}): ${reason}${excerpt}`,
        line: err.line,
        column: err.column,
      };
      throw invalid(source, [issue], err);
    }
    throw invalid(source, [{ path: '', message: `TOML syntax error: ${describeError(err)}` }], err);
  }
  applyEnvOverrides(doc, opts.env ?? process.env);
  const result = validateDocument(doc);
  if (!result.ok) throw invalid(source, result.issues);
  return result.config;
}

const OVERRIDE = /^FRAISEQL_(SEARCH|CACHE|QUEUES|POSTGRES|OBSERVERS)_([A-Z0-9_]+)$/;

const isTable = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * `FRAISEQL_<SECTION>_<KEY>=value` overrides a key of a section the file has (seed 003:
 * `FRAISEQL_OBSERVERS_MAX_PARALLELISM=8`), or of one of its sub-tables (`FRAISEQL_OBSERVERS_NATS_STREAM`
 * → `[observers.nats] stream`). Numbers and `true`/`false` are typed; the result is validated like
 * the file, so a bad override is an IN002 naming the key.
 */
function applyEnvOverrides(doc: unknown, env: Record<string, string | undefined>): void {
  if (!isTable(doc)) return;
  for (const [name, value] of Object.entries(env)) {
    const m = OVERRIDE.exec(name);
    if (!m || value === undefined) continue;
    const section = doc[m[1]!.toLowerCase()];
    if (!isTable(section)) continue;
    const typed = /^-?\d+(\.\d+)?$/.test(value)
      ? Number(value)
      : value === 'true'
        ? true
        : value === 'false'
          ? false
          : value;
    const key = m[2]!.toLowerCase();
    const sub = Object.keys(section).find((k) => key.startsWith(`${k}_`) && isTable(section[k]));
    if (sub) (section[sub] as Record<string, unknown>)[key.slice(sub.length + 1)] = typed;
    else section[key] = typed;
  }
}

/**
 * Reads and validates a config file. With no `path`, `./fraiseql.toml` is read when it exists
 * and an empty config (`{}`: nothing configured — the apps then use `embeddedDefaults()`) is
 * returned when it does not. An explicit `path` that does not exist is IN001.
 */
export async function loadConfig(path?: string): Promise<IntegrationsConfig> {
  const file = resolve(path ?? DEFAULT_CONFIG_PATH);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path === undefined) return {};
    const message =
      code === 'ENOENT'
        ? `Configuration file not found: ${file}`
        : `Cannot read configuration file ${file}: ${describeError(err)}`;
    throw new ConfigError(ErrorCode.MissingConfiguration, message, [{ path: '', message }], err);
  }
  return parseConfig(text, { sourceName: path ?? DEFAULT_CONFIG_PATH });
}

/**
 * What the apps run on when there is no config at all: a memory cache, and search + queues on
 * PGlite under `.fraiseql/` — durable, with no service to install.
 */
export function embeddedDefaults(): IntegrationsConfig {
  return {
    search: { provider: 'postgresql' },
    cache: { backend: 'memory' },
    queues: { backend: 'postgresql' },
    postgres: { embeddedDir: DEFAULT_EMBEDDED_DIR },
  };
}

/** True when `config` configures nothing (the apps then fall back to `embeddedDefaults()`). */
export function isEmptyConfig(config: IntegrationsConfig): boolean {
  return !config.search && !config.cache && !config.queues && !config.observers;
}
