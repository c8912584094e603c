import { describeError, ErrorCode, IntegrationError, isPlainObject } from '@fraiseql/core';
import semver from 'semver';
import type { Connector, FlowLogger, Plugin, PluginInfo, PluginManager, StepImplementation } from './types';

const NAME = /^[A-Za-z0-9_.@/-]{1,128}$/;

export const silentLogger: FlowLogger = { debug() {}, info() {}, warn() {}, error() {} };

function invalid(message: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, `[flows] ${message}`, {
    kind: 'configuration',
    field: 'plugins',
  });
}

/** Checks a plugin's shape and returns it (IN002 listing the problems otherwise). */
export function definePlugin<P extends Plugin>(plugin: P): P {
  const problems: string[] = [];
  if (!isPlainObject(plugin)) throw invalid('a plugin must be an object');
  if (typeof plugin.name !== 'string' || !NAME.test(plugin.name))
    problems.push(`name must be 1-128 characters of [A-Za-z0-9_.@/-], got ${JSON.stringify(plugin.name)}`);
  if (typeof plugin.version !== 'string' || !semver.valid(plugin.version))
    problems.push(`version must be a semver version, got ${JSON.stringify(plugin.version)}`);
  if (!isPlainObject(plugin.manifest)) problems.push('manifest must be an object');
  for (const [i, d] of (plugin.manifest?.dependencies ?? []).entries())
    if (
      !isPlainObject(d) ||
      typeof d.name !== 'string' ||
      typeof d.version !== 'string' ||
      !semver.validRange(d.version)
    )
      problems.push(`manifest.dependencies[${i}] must be { name, version: a semver range }`);
  for (const [type, fn] of Object.entries(plugin.steps ?? {}))
    if (typeof fn !== 'function') problems.push(`steps.${type} must be a function`);
  if (problems.length > 0)
    throw invalid(`plugin ${String(plugin.name)}: ${problems.length} problem(s): ${problems.join('; ')}`);
  return plugin;
}

interface Entry {
  plugin: Plugin;
  state: 'active' | 'failed';
  error?: string;
}

export function createPluginManager(opts: { logger?: FlowLogger } = {}): PluginManager {
  const logger = opts.logger ?? silentLogger;
  const plugins = new Map<string, Entry>();
  const info = (e: Entry): PluginInfo => ({
    name: e.plugin.name,
    version: e.plugin.version,
    state: e.state,
    ...(e.error ? { error: e.error } : {}),
  });
  const active = () => [...plugins.values()].filter((e) => e.state === 'active').map((e) => e.plugin);
  // What the active plugins contribute, built once per change: the engine asks on every message.
  let memo:
    | {
        connectors: Connector[];
        steps: Map<string, StepImplementation>;
        actions: Map<string, (...args: never[]) => Promise<unknown>>;
      }
    | undefined;
  const contributions = () => {
    if (memo) return memo;
    const steps = new Map<string, StepImplementation>();
    const actions = new Map<string, (...args: never[]) => Promise<unknown>>();
    for (const p of active()) {
      for (const [t, fn] of Object.entries(p.steps ?? {})) steps.set(t, fn);
      for (const [t, fn] of Object.entries(p.actions ?? {})) actions.set(t, fn);
    }
    memo = { connectors: active().flatMap((p) => p.connectors ?? []), steps, actions };
    return memo;
  };
  async function runHook(e: Entry, hook: 'preStartup' | 'postShutdown'): Promise<void> {
    const fn = e.plugin.hooks?.[hook];
    if (!fn) return;
    try {
      await fn({ plugin: e.plugin.name, logger });
    } catch (err) {
      e.state = 'failed';
      memo = undefined;
      e.error = `${hook}: ${describeError(err)}`;
      logger.error({ plugin: e.plugin.name, err }, `[flows] plugin ${e.plugin.name} ${hook} failed`);
    }
  }
  return {
    async registerPlugin(p) {
      const plugin = definePlugin(p);
      if (plugins.has(plugin.name)) throw invalid(`plugin ${plugin.name} is already registered`);
      for (const dep of plugin.manifest.dependencies ?? []) {
        const found = plugins.get(dep.name);
        if (found?.state !== 'active' || !semver.satisfies(found.plugin.version, dep.version))
          throw new IntegrationError(
            ErrorCode.ProviderNotConfigured,
            `Plugin load failed: missing dependency ${dep.name} (${plugin.name} needs ${dep.name}@${dep.version}${found ? `, found ${found.plugin.version} (${found.state})` : ''})`,
            { kind: 'configuration', field: 'plugins' },
          );
      }
      const entry: Entry = { plugin, state: 'active' };
      plugins.set(plugin.name, entry);
      memo = undefined;
      await runHook(entry, 'preStartup');
      return info(entry);
    },
    async unregisterPlugin(name) {
      const e = plugins.get(name);
      if (!e) return false;
      plugins.delete(name);
      memo = undefined;
      await runHook(e, 'postShutdown');
      return true;
    },
    getPlugin(name) {
      const e = plugins.get(name);
      return e ? { ...info(e), plugin: e.plugin } : undefined;
    },
    listPlugins: () => [...plugins.values()].map(info),
    steps: () => contributions().steps,
    connectors: (): Connector[] => contributions().connectors,
    actions: () => contributions().actions,
    async close() {
      for (const name of [...plugins.keys()].reverse()) await this.unregisterPlugin(name);
    },
  };
}
