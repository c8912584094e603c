import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ConfigIssue,
  describeError,
  ErrorCode,
  IntegrationError,
  isModuleNotFound,
  isPlainObject,
  type ProviderImporter,
} from '@fraiseql/core';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import {
  type ConnectorSpec,
  configProblems,
  type FlowConfigOptions,
  type FlowSections,
  flowsFromConfig,
  type PluginSpec,
} from './config';
import { createFlowEngine } from './engine';
import type { Connector, FlowEngineOptions, FlowManager, Plugin } from './types';

const SECTION_KEYS = ['flows', 'connectors', 'plugins', 'templates', 'schemas'] as const;

/**
 * Reads a flows file: YAML in the seed's shape (`flows:` / `connectors:` / `plugins:`, and the seed's
 * `templates:` / `schemas:`), or the same keys in TOML or JSON. Syntax errors are IN002 with the line.
 */
export async function loadFlowsFile(file: string): Promise<{ sections: FlowSections; baseDir: string }> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new IntegrationError(
      ErrorCode.MissingConfiguration,
      `[flows] cannot read the flows file ${path}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`,
      { kind: 'configuration' },
    );
  }
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  try {
    doc = ext === '.toml' ? parseToml(text) : ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const line =
      err instanceof TomlError
        ? err.line
        : err instanceof YAMLParseError
          ? err.linePos?.[0]?.line
          : undefined;
    throw configProblems(path, [
      {
        path: '',
        message: `syntax error: ${(err as Error).message.split('\n')[0]}`,
        ...(line ? { line } : {}),
      },
    ]);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isPlainObject(doc))
    throw configProblems(path, [{ path: '', message: 'expected a document of tables' }]);
  const issues: ConfigIssue[] = [];
  const sections: FlowSections = {};
  for (const [k, v] of Object.entries(doc)) {
    if ((SECTION_KEYS as readonly string[]).includes(k)) sections[k as keyof FlowSections] = v as never;
    else issues.push({ path: k, message: `unknown key (expected one of: ${SECTION_KEYS.join(', ')})` });
  }
  if (issues.length > 0) throw configProblems(path, issues);
  return { sections, baseDir: dirname(path) };
}

const nativeImport = (specifier: string) => import(specifier) as Promise<Record<string, unknown>>;

function factoryName(type: string): string {
  return `create${type.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Connector`;
}

/** Builds `@fraiseql/connector-<type>` through its `create<Type>Connector(options)`. */
export async function buildConnector(
  spec: ConnectorSpec,
  importer: ProviderImporter = nativeImport,
): Promise<Connector> {
  const pkg = `@fraiseql/connector-${spec.type}`;
  // Only the package itself missing means "install it"; a broken install is reported as it is.
  const mod = await importer(pkg).catch((err: unknown) => {
    if (isModuleNotFound(err, pkg)) return undefined;
    throw err;
  });
  if (!mod)
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `[flows] connector "${spec.name}" is of type "${spec.type}": install ${pkg} (pnpm add ${pkg})`,
      { kind: 'configuration', field: `connectors.${spec.name}` },
    );
  const factory = mod[factoryName(spec.type)];
  if (typeof factory !== 'function')
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `[flows] ${pkg} has no ${factoryName(spec.type)} export`,
      { kind: 'configuration', field: `connectors.${spec.name}` },
    );
  return (await factory(spec.options)) as Connector;
}

/** Loads a plugin module: its default export is a plugin, or a function of the options returning one. */
export async function loadPlugin(
  spec: PluginSpec,
  importer: ProviderImporter = nativeImport,
): Promise<Plugin> {
  const local = spec.module.startsWith('/');
  let mod: Record<string, unknown> | undefined;
  try {
    mod = local ? await nativeImport(pathToFileURL(spec.module).href) : await importer(spec.module);
  } catch (err) {
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `Plugin load failed: ${spec.name} (${spec.module}): ${describeError(err)}`,
      { kind: 'configuration', field: `plugins.${spec.name}` },
    );
  }
  const exported = mod?.default;
  const plugin = typeof exported === 'function' ? await exported(spec.options) : exported;
  if (!isPlainObject(plugin) || typeof plugin.name !== 'string')
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `Plugin load failed: ${spec.name} (${spec.module}) has no default export made with definePlugin`,
      { kind: 'configuration', field: `plugins.${spec.name}` },
    );
  return plugin as unknown as Plugin;
}

export interface FlowsRuntime {
  engine: FlowManager;
  /** The connectors built from config (the plugins' own are in `engine.plugins.connectors()`). */
  connectors: Connector[];
  /** Stops every flow, closes the engine (postShutdown hooks run) and the connectors. */
  close(): Promise<void>;
}

export interface FlowsRuntimeOptions
  extends FlowConfigOptions,
    Omit<FlowEngineOptions, 'connectors' | 'plugins'> {
  sections: FlowSections;
  /** Loads connector packages and plugin packages. Default: `import()`. */
  importer?: ProviderImporter;
  /** Start every flow once created. Default true. */
  start?: boolean;
}

/**
 * The flows of a config, running: plugins loaded, connectors built, every flow created (all
 * problems of all flows in one IN002) and started. Anything built is closed again on failure.
 */
export async function startFlowsFromConfig(opts: FlowsRuntimeOptions): Promise<FlowsRuntime> {
  const { sections, importer, start = true, baseDir, env, source = 'config', ...engineOpts } = opts;
  const config = flowsFromConfig(sections, {
    source,
    ...(baseDir === undefined ? {} : { baseDir }),
    ...(env === undefined ? {} : { env }),
  });
  const connectors: Connector[] = [];
  let engine: FlowManager | undefined;
  const close = async () => {
    await engine?.close().catch(() => undefined);
    for (const c of connectors) await c.close().catch(() => undefined);
  };
  try {
    const plugins: Plugin[] = [];
    for (const p of config.plugins) plugins.push(await loadPlugin(p, importer));
    for (const c of config.connectors) connectors.push(await buildConnector(c, importer));
    engine = await createFlowEngine({ ...engineOpts, connectors, plugins });
    const issues: ConfigIssue[] = [];
    for (const def of config.flows) {
      try {
        await engine.createFlow(def);
      } catch (err) {
        issues.push({ path: `flows.${def.name}`, message: describeError(err) });
      }
    }
    if (issues.length > 0) throw configProblems(source, issues);
    if (start) for (const def of config.flows) await engine.startFlow(def.name);
  } catch (err) {
    await close();
    throw err;
  }
  return { engine, connectors, close };
}
