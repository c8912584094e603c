import type { Integrations, IntegrationsConfig } from '@fraiseql/core';
import {
  type FlowEngineOptions,
  type FlowLogger,
  type FlowSections,
  type FlowsRuntime,
  loadFlowsFile,
  startFlowsFromConfig,
} from '@fraiseql/flows';
import type { Registry } from 'prom-client';
import { cliImporter } from './context';
import { CliError, EXIT } from './output';

const KEYS = ['flows', 'connectors', 'plugins'] as const;

/**
 * The flows of `[flows.*]` / `[connectors.*]` / `[plugins.*]` and of a `--flows` file (the seed's YAML
 * shape), running on the integrations' queue and cache; undefined when neither defines anything.
 * A name defined in both places is a usage error (one definition per flow, connector, plugin).
 */
export async function flowsRuntimeOf(
  config: IntegrationsConfig,
  flowsFile: string | undefined,
  integrations: Integrations,
  opts: {
    registry?: Registry;
    logger?: FlowLogger;
    /** The observer runtime, for observer-sourced flows (its `flow` action). */
    observers?: object;
  },
): Promise<FlowsRuntime | undefined> {
  const sections: FlowSections = {};
  for (const k of KEYS) if (config[k]) sections[k] = { ...config[k] };
  let baseDir = process.cwd();
  let source = 'fraiseql.toml';
  if (flowsFile) {
    const file = await loadFlowsFile(flowsFile);
    baseDir = file.baseDir;
    source = flowsFile;
    for (const k of [...KEYS, 'templates', 'schemas'] as const) {
      const extra = file.sections[k];
      if (!extra) continue;
      sections[k] ??= {};
      const into = sections[k];
      for (const [name, v] of Object.entries(extra)) {
        if (Object.hasOwn(into, name))
          throw new CliError(
            `${k}.${name} is defined both in the config file and in ${flowsFile}`,
            EXIT.usage,
          );
        into[name] = v;
      }
    }
  }
  if (!sections.flows && !sections.connectors && !sections.plugins) return undefined;
  return startFlowsFromConfig({
    sections,
    baseDir,
    source,
    importer: cliImporter(),
    providers: {
      ...(integrations.queue ? { queue: integrations.queue } : {}),
      ...(integrations.cache ? { cache: integrations.cache } : {}),
    },
    ...(opts.observers ? { observers: opts.observers as FlowEngineOptions['observers'] } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
