import { mkdirSync } from 'node:fs';
import { createIntegrations } from '@fraiseql/core';
import { createLogger, registerDefaultMetrics } from '@fraiseql/observability';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { cliImporter, resolveConfig } from '../context';
import { observerRuntimeOf } from '../observers-runtime';
import { CliError, EXIT, type Io } from '../output';

export interface ObserveOptions {
  config?: string;
  role?: string;
}

/** `observe`: only the observer runtime of `[observers]`, until SIGTERM/SIGINT. */
export async function observe(opts: ObserveOptions, io: Io, signal?: AbortSignal): Promise<number> {
  if (opts.role !== undefined && !['all', 'listener', 'worker'].includes(opts.role))
    throw new CliError(`--role must be listener, worker or all, got ${opts.role}`, EXIT.usage);
  const { config, embedded } = await resolveConfig(opts);
  if (!config.observers)
    throw new CliError('nothing to observe: the config has no [observers] section', EXIT.usage);
  if (embedded || !config.postgres?.urlEnv) mkdirSync('.fraiseql', { recursive: true });
  const registry = new Registry();
  registerDefaultMetrics(registry);
  const logger = createLogger({
    level: process.env.LOG_LEVEL ?? 'warn',
    name: 'fraiseql-observers',
    destination: 2,
  });
  const integrations = await createIntegrations(config, { registry, importer: cliImporter() });
  try {
    const runtime = await observerRuntimeOf(config, integrations, {
      registry,
      logger,
      ...(opts.role ? { role: opts.role as 'all' | 'listener' | 'worker' } : {}),
    });
    await runtime!.start();
    const status = await runtime!.status();
    io.out(
      `observers running: group ${status.group}, listener ${status.listenerId} (${status.role}), ${config.observers.observer?.length ?? 0} observer(s)`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
      signal?.addEventListener('abort', () => resolve());
    });
    io.err('stopping: finishing in-flight events and saving the checkpoint…');
    await runtime!.stop();
  } finally {
    await integrations.close().catch(() => {});
  }
  return EXIT.ok;
}

export function registerObserve(program: Command, io: Io, run: (p: Promise<number>) => Promise<void>): void {
  program
    .command('observe')
    .description('Run only the observers of [observers] (change log → actions)')
    .option('-c, --config <file>', 'config file (default ./fraiseql.toml)')
    .option('--role <role>', 'listener (publish only), worker (consume only) or all', undefined)
    .action((opts: ObserveOptions) => run(observe(opts, io)));
}
