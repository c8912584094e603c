import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, ErrorCode, isPlainObject, redactSecrets } from '@fraiseql/core';
import type { FlowDefinition, Step } from './types';

/**
 * The flow sections of a config, as written (snake_case): `[flows.<name>]`, `[connectors.<name>]`,
 * `[plugins.<name>]` in `fraiseql.toml`, or the `flows:` / `connectors:` / `plugins:` keys of the
 * seed's YAML file, plus the seed's named `templates` (transform mappings) and `schemas`.
 */
export interface FlowSections {
  flows?: Record<string, unknown>;
  connectors?: Record<string, unknown>;
  plugins?: Record<string, unknown>;
  templates?: Record<string, unknown>;
  schemas?: Record<string, unknown>;
}

/** A connector to build: `@fraiseql/connector-<type>`'s `create<Type>Connector(options)`. */
export interface ConnectorSpec {
  name: string;
  type: string;
  /** camelCased options, `*_env` keys resolved to their values (secrets: never log these). */
  options: Record<string, unknown>;
}

/** A plugin to load: the module's default export (a plugin, or a function of `options` returning one). */
export interface PluginSpec {
  name: string;
  /** Absolute path or package specifier. */
  module: string;
  options: Record<string, unknown>;
}

export interface FlowConfig {
  flows: FlowDefinition[];
  connectors: ConnectorSpec[];
  plugins: PluginSpec[];
}

export interface FlowConfigOptions {
  /** Where relative `module`, schema `path` and TLS file names are resolved. Default `process.cwd()`. */
  baseDir?: string;
  /** Environment for `*_env` keys. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Names the file in error messages. Default `"config"`. */
  source?: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** Option values that hold secrets: they must come from `<key>_env`. */
const SECRET = /^(token|password|passwd|secret|api_?key)$/i;
/** Option keys naming files (`proto_file`, `ca_file`, gRPC `tls.ca_cert` / `client_cert` / `client_key`). */
const FILE_KEY = /(_file|^ca_cert|^client_cert|^client_key)$/;
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i;

class Issues {
  readonly list: ConfigIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function camelKeys(
  obj: Record<string, unknown>,
  keep: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = camel(k);
    out[key] = keep.has(key) || !isPlainObject(v) ? v : camelKeys(v);
  }
  return out;
}

// Keys whose values are user data (mapping field names, JSON Schema keywords, filter fields): never renamed.
const DATA_KEYS = new Set(['mapping', 'schema', 'when', 'headers']);

function stepOf(
  raw: unknown,
  path: string,
  sections: FlowSections,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): Step | undefined {
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a table with type and name');
    return undefined;
  }
  // The seed nests a step's options under `config`.
  const { config, ...rest } = raw as Record<string, unknown> & { config?: unknown };
  if (config !== undefined && !isPlainObject(config)) issues.add(`${path}.config`, 'expected a table');
  const merged = { ...rest, ...(isPlainObject(config) ? config : {}) };
  const step: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(merged)) {
    const key = camel(k);
    step[key] = DATA_KEYS.has(key) || !isPlainObject(v) ? v : camelKeys(v);
  }
  if (step.type === 'transform' && step.mapping === undefined && typeof step.template === 'string') {
    const t = sections.templates?.[step.template];
    if (t === undefined) issues.add(`${path}.template`, `no template "${step.template}" in templates`);
    else step.mapping = t;
    delete step.template;
  }
  if (step.type === 'validate' || step.type === 'decode' || step.type === 'encode') {
    const schema = resolveSchema(step.schema, `${path}.schema`, sections, opts, issues);
    if (schema !== undefined) step.schema = schema;
  }
  if (step.type === 'route' && Array.isArray(step.routes))
    step.routes = step.routes.map((r) => {
      if (!isPlainObject(r)) return r;
      // The seed's `{ condition, destination }` routes.
      const { condition, destination, ...route } = camelKeys(r, DATA_KEYS) as Record<string, unknown>;
      if (route.when === undefined && condition !== undefined) route.when = condition;
      if (route.to === undefined && destination !== undefined)
        route.to = typeof destination === 'string' ? { queue: destination } : destination;
      return route;
    });
  if (step.type === 'deliver' && typeof step.to === 'string') step.to = { queue: step.to };
  return step as Step;
}

/** A schema: inline, the name of an entry of `schemas`, or `{ path }` of a JSON file. */
function resolveSchema(
  v: unknown,
  path: string,
  sections: FlowSections,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): unknown {
  let schema = v;
  if (typeof schema === 'string') {
    if (!sections.schemas || !Object.hasOwn(sections.schemas, schema)) {
      issues.add(path, `no schema "${schema}" in schemas`);
      return undefined;
    }
    schema = sections.schemas[schema];
  }
  if (isPlainObject(schema) && typeof schema.path === 'string' && Object.keys(schema).length === 1) {
    const file = isAbsolute(schema.path) ? schema.path : resolve(opts.baseDir, schema.path);
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      issues.add(path, `cannot read the JSON schema ${file}: ${(err as Error).message}`);
      return undefined;
    }
  }
  return schema;
}

function sourceOf(raw: unknown, path: string, issues: Issues): unknown {
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a table with type = "queue" | "observer" | "http" | "connector"');
    return raw;
  }
  const s = camelKeys(raw);
  // The seed's queue source: `name` is the queue, `batch_size` how many run at once.
  if (s.type === 'queue') {
    if (s.queue === undefined && typeof s.name === 'string') s.queue = s.name;
    if (s.concurrency === undefined && s.batchSize !== undefined) s.concurrency = s.batchSize;
    delete s.name;
    delete s.batchSize;
    for (const seedOnly of ['pollInterval', 'visibilityTimeout']) delete s[seedOnly];
  }
  return s;
}

function flowOf(
  name: string,
  raw: unknown,
  sections: FlowSections,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): FlowDefinition | undefined {
  const path = `flows.${name}`;
  if (!NAME.test(name)) issues.add(path, 'flow names are 1-128 characters of [A-Za-z0-9_.-]');
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a table');
    return undefined;
  }
  const known = new Set(['name', 'description', 'source', 'steps', 'error_handling', 'monitoring']);
  for (const k of Object.keys(raw))
    if (!known.has(k)) issues.add(`${path}.${k}`, `unknown key (expected one of: ${[...known].join(', ')})`);
  if (raw.name !== undefined && raw.name !== name)
    issues.add(`${path}.name`, `differs from the table's name "${name}"`);
  if (!Array.isArray(raw.steps)) issues.add(`${path}.steps`, 'required: an array of steps');
  const steps = Array.isArray(raw.steps)
    ? raw.steps.map((s, i) => stepOf(s, `${path}.steps[${i}]`, sections, opts, issues))
    : [];
  const def: Record<string, unknown> = {
    name,
    source: sourceOf(raw.source, `${path}.source`, issues),
    steps: steps.filter((s) => s !== undefined),
  };
  if (raw.description !== undefined) def.description = raw.description;
  if (isPlainObject(raw.error_handling)) def.errorHandling = camelKeys(raw.error_handling);
  else if (raw.error_handling !== undefined) issues.add(`${path}.error_handling`, 'expected a table');
  if (isPlainObject(raw.monitoring)) def.monitoring = camelKeys(raw.monitoring);
  else if (raw.monitoring !== undefined) issues.add(`${path}.monitoring`, 'expected a table');
  return def as unknown as FlowDefinition;
}

/** camelCases a connector's options and resolves `<key>_env` into `<key>` from the environment. */
function connectorOptions(
  raw: Record<string, unknown>,
  path: string,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const at = `${path}.${k}`;
    if (k.endsWith('_env') && k.length > 4) {
      if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
        issues.add(at, 'expected the name of an environment variable');
        continue;
      }
      const value = opts.env[v];
      if (value === undefined || value === '') issues.add(at, `environment variable ${v} is not set`);
      else out[camel(k.slice(0, -4))] = value;
      continue;
    }
    if ((SECRET.test(k) || (k === 'value' && path.endsWith('.auth'))) && typeof v === 'string') {
      issues.add(at, `secrets are never stored in the config file; set ${k}_env = "SOME_VARIABLE" instead`);
      continue;
    }
    if (typeof v === 'string' && CREDENTIALS_IN_URL.test(v)) {
      issues.add(
        at,
        `credentials are never stored in the config file; put the URL in a variable named by ${k}_env`,
      );
      continue;
    }
    if (typeof v === 'string' && FILE_KEY.test(k) && !v.includes('-----BEGIN') && !isAbsolute(v)) {
      // Files named in a config are relative to it, not to wherever the process was started.
      out[camel(k)] = resolve(opts.baseDir, v);
      continue;
    }
    if (Array.isArray(v))
      out[camel(k)] = v.map((x, i) =>
        isPlainObject(x) ? connectorOptions(x, `${at}[${i}]`, opts, issues) : x,
      );
    else out[camel(k)] = isPlainObject(v) ? connectorOptions(v, at, opts, issues) : v;
  }
  return out;
}

function connectorOf(
  name: string,
  raw: unknown,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): ConnectorSpec | undefined {
  const path = `connectors.${name}`;
  if (!NAME.test(name)) issues.add(path, 'connector names are 1-128 characters of [A-Za-z0-9_.-]');
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a table with a type');
    return undefined;
  }
  const { type, ...rest } = raw;
  if (typeof type !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(type)) {
    issues.add(
      `${path}.type`,
      'required: the connector kind ("http", "postgres", "amqp", "mqtt", "grpc", …)',
    );
    return undefined;
  }
  const options = connectorOptions(rest, path, opts, issues);
  // The seed's pool keys.
  if (isPlainObject(options.pool)) {
    const pool = options.pool as Record<string, unknown>;
    if (pool.minConnections !== undefined) [pool.min, pool.minConnections] = [pool.minConnections, undefined];
    if (pool.maxConnections !== undefined) [pool.max, pool.maxConnections] = [pool.maxConnections, undefined];
    for (const k of Object.keys(pool)) if (pool[k] === undefined) delete pool[k];
  }
  return { name, type, options: { ...options, name } };
}

function pluginOf(
  name: string,
  raw: unknown,
  opts: Required<FlowConfigOptions>,
  issues: Issues,
): PluginSpec | undefined {
  const path = `plugins.${name}`;
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a table with module = "./plugins/x.js"');
    return undefined;
  }
  const { module, ...rest } = raw;
  if (typeof module !== 'string' || module === '') {
    issues.add(`${path}.module`, 'required: the plugin module (a file path or a package name)');
    return undefined;
  }
  const local = module.startsWith('.') || isAbsolute(module);
  return {
    name,
    module: local ? resolve(opts.baseDir, module) : module,
    options: connectorOptions(rest, path, opts, issues),
  };
}

function tableOf(v: unknown, path: string, issues: Issues): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) {
    issues.add(path, 'expected a table of named entries');
    return {};
  }
  return v;
}

/**
 * Turns the flow sections of a config into flow definitions, connector and plugin specs. Every
 * problem found is listed in one IN002 (ConfigError with `issues`); what the engine checks when a
 * flow is created (steps, JSONPath, schemas, destinations, cycles) it reports the same way.
 */
export function flowsFromConfig(sections: FlowSections, options: FlowConfigOptions = {}): FlowConfig {
  const opts: Required<FlowConfigOptions> = {
    baseDir: options.baseDir ?? process.cwd(),
    env: options.env ?? process.env,
    source: options.source ?? 'config',
  };
  const issues = new Issues();
  const flows = Object.entries(tableOf(sections.flows, 'flows', issues)).flatMap(([n, f]) => {
    const def = flowOf(n, f, sections, opts, issues);
    return def ? [def] : [];
  });
  const connectors = Object.entries(tableOf(sections.connectors, 'connectors', issues)).flatMap(([n, c]) => {
    const spec = connectorOf(n, c, opts, issues);
    return spec ? [spec] : [];
  });
  const plugins = Object.entries(tableOf(sections.plugins, 'plugins', issues)).flatMap(([n, p]) => {
    const spec = pluginOf(n, p, opts, issues);
    return spec ? [spec] : [];
  });
  if (issues.list.length > 0) throw configProblems(opts.source, issues.list);
  return { flows, connectors, plugins };
}

export function configProblems(source: string, list: ConfigIssue[]): ConfigError {
  const clean = list.map((i) => ({ ...i, message: redactSecrets(i.message) }));
  const count = clean.length === 1 ? '1 problem' : `${clean.length} problems`;
  const lines = clean.map((i) => `  - ${i.path || '(document)'}: ${i.message}`);
  return new ConfigError(
    ErrorCode.InvalidConfiguration,
    `Invalid configuration in ${source} (${count}):\n${lines.join('\n')}`,
    clean,
  );
}
