import {
  createDefaultImporter,
  createIntegrations,
  embeddedDefaults,
  type Integrations,
  type IntegrationsConfig,
  isEmptyConfig,
  isModuleNotFound,
  loadConfig,
  type ProviderImporter,
} from '@fraiseql/core';
import { Registry } from 'prom-client';
import { type RemoteIntegrations, remoteIntegrations } from './remote-integrations';
import { embeddedDirOf, readServerFile } from './server-file';

export interface ConfigOptions {
  config?: string;
  /** A running server to operate through (`--url`); else the one serving the embedded data directory. */
  url?: string;
}

/** The config a command runs with: the file given, `./fraiseql.toml`, or the embedded defaults. */
export async function resolveConfig(
  opts: ConfigOptions,
): Promise<{ config: IntegrationsConfig; embedded: boolean }> {
  const config = await loadConfig(opts.config);
  // A file with only flows, connectors, plugins or schedules still runs them on the embedded providers.
  if (isEmptyConfig(config)) {
    const flowSections = (['flows', 'connectors', 'plugins', 'schedules'] as const).filter(
      (k) => config[k] !== undefined,
    );
    const extra = Object.fromEntries(flowSections.map((k) => [k, config[k]]));
    return { config: { ...embeddedDefaults(), ...extra }, embedded: true };
  }
  return { config, embedded: false };
}

/**
 * The CLI ships every provider package: load them from here first (core alone cannot see the
 * CLI's dependencies under pnpm), then from the application directory like any app would.
 */
export function cliImporter(cwd = process.cwd()): ProviderImporter {
  const fallback = createDefaultImporter(cwd);
  return async (specifier) => {
    try {
      return (await import(specifier)) as Awaited<ReturnType<ProviderImporter>>;
    } catch (err) {
      if (!isModuleNotFound(err, specifier)) throw err;
      return fallback(specifier);
    }
  };
}

/**
 * Runs `fn` with live integrations and always closes them. With `--url`, or while a `serve` holds
 * the embedded data directory (its `server.json`), `fn` runs against that server's HTTP API.
 */
export async function withIntegrations<T>(
  opts: ConfigOptions,
  fn: (i: Integrations & Partial<Pick<RemoteIntegrations, 'queueNames'>>, registry: Registry) => Promise<T>,
): Promise<T> {
  if (opts.url) return fn(remoteIntegrations(opts.url) as unknown as Integrations, new Registry());
  const { config } = await resolveConfig(opts);
  const dir = embeddedDirOf(config);
  const running = dir ? readServerFile(dir) : undefined;
  if (running) return fn(remoteIntegrations(running.url) as unknown as Integrations, new Registry());
  const registry = new Registry();
  const integrations = await createIntegrations(config, { registry, importer: cliImporter() });
  try {
    return await fn(integrations, registry);
  } finally {
    await integrations.close().catch(() => {});
  }
}
