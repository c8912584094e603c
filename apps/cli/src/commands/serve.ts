import { mkdirSync } from 'node:fs';
import { createIntegrations } from '@fraiseql/core';
import { createLogger, registerDefaultMetrics } from '@fraiseql/observability';
import { startSchedulesFromConfig } from '@fraiseql/scheduler';
import { startServer } from '@fraiseql/server';
import { loadHandlers, startWorkerHttp, startWorkers } from '@fraiseql/worker';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { cliImporter, resolveConfig } from '../context';
import { flowsRuntimeOf } from '../flows-runtime';
import { observerRuntimeOf } from '../observers-runtime';
import { CliError, EXIT, type Io } from '../output';
import { embeddedDirOf, writeServerFile } from '../server-file';

export interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
  handlers?: string;
  workerPort?: string;
  worker?: boolean;
  /** A flows file (the seed's YAML shape, or TOML/JSON) adding to `[flows.*]` of the config. */
  flows?: string;
}

/**
 * `serve`: the HTTP API and the worker in one process. With no config file it runs on the
 * embedded defaults (memory cache; search and queues on PGlite under ./.fraiseql/), so a fresh
 * machine needs no service; data survives restarts.
 */
export async function serve(opts: ServeOptions, io: Io, signal?: AbortSignal): Promise<number> {
  const host = opts.host ?? process.env.HOST ?? '127.0.0.1';
  const port = Number(opts.port ?? process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port must be 0-65535, got ${opts.port}`, EXIT.usage);
  const { config, embedded } = await resolveConfig(opts);
  if (embedded) mkdirSync('.fraiseql', { recursive: true });
  const handlers = opts.handlers ? await loadHandlers(opts.handlers) : {};
  const registry = new Registry();
  registerDefaultMetrics(registry);
  // Request logs go to stderr (redacted); stdout keeps the one line that says where we listen.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'fraiseql', destination: 2 });
  const integrations = await createIntegrations(config, { registry, importer: cliImporter() });
  let observers: Awaited<ReturnType<typeof observerRuntimeOf>>;
  let scheduler: Awaited<ReturnType<typeof startSchedulesFromConfig>>;
  let flows: Awaited<ReturnType<typeof flowsRuntimeOf>>;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let workers: ReturnType<typeof startWorkers> | undefined;
  let workerHttp: Awaited<ReturnType<typeof startWorkerHttp>> | undefined;
  try {
    observers = await observerRuntimeOf(config, integrations, { registry, logger });
    // Flows before the observers start: an observer's `flow` action must be registered by then.
    flows = await flowsRuntimeOf(config, opts.flows, integrations, {
      registry,
      logger,
      ...(observers ? { observers } : {}),
    });
    await observers?.start();
    // `[[schedules]]` and those added through /schedules fire here (§14.1); the store is shared.
    scheduler = await startSchedulesFromConfig({ config, integrations, registry, logger });
    server = await startServer({
      integrations: {
        ...integrations,
        ...(observers ? { observers } : {}),
        ...(scheduler ? { scheduler } : {}),
        ...(flows ? { flows: flows.engine, connectors: flows.connectors } : {}),
      },
      registry,
      host,
      port,
      logger,
    });
    if (opts.worker !== false && integrations.queue) {
      workers = startWorkers({
        integrations,
        handlers,
        ...(config.queues?.concurrency ? { concurrency: config.queues.concurrency } : {}),
        primaryKeys: Object.fromEntries(
          Object.entries(config.search?.indexes ?? {}).map(([i, c]) => [i, c.primaryKey ?? 'id']),
        ),
      });
      if (opts.workerPort)
        workerHttp = await startWorkerHttp({
          registry,
          service: integrations.service,
          port: Number(opts.workerPort),
          host,
        });
    }
  } catch (err) {
    await scheduler?.stop().catch(() => {});
    await workers?.close({ timeoutMs: 1000 });
    await observers?.stop().catch(() => {});
    await flows?.close().catch(() => {});
    await server?.close().catch(() => {});
    await integrations.close().catch(() => {});
    throw err;
  }
  // Other commands find us here while we hold the embedded data directory (see server-file.ts).
  const dir = embeddedDirOf(config);
  const removeServerFile = dir ? writeServerFile(dir, server.url) : undefined;
  io.out(
    `fraiseql-integrations listening on ${server.url}${embedded ? ' (embedded defaults: data in ./.fraiseql/)' : ''}`,
  );
  if (workers) io.out(`worker running queues: ${workers.queues.join(', ')}`);
  if (flows)
    io.out(
      `flows running: ${
        flows.engine
          .listFlows()
          .map((f) => f.name)
          .join(', ') || '(none)'
      }`,
    );
  if (observers) io.out(`observers running: ${config.observers?.observer?.length ?? 0} observer(s)`);
  if (workerHttp) io.out(`worker metrics on ${workerHttp.url}/metrics`);
  if (config.schedules?.length) io.out(`schedules running: ${config.schedules.map((s) => s.id).join(', ')}`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    signal?.addEventListener('abort', stop);
  });
  io.err('shutting down: draining requests and running jobs…');
  // No new ticks while everything drains.
  await scheduler?.stop().catch(() => {});
  // Workers first (running jobs finish or go back to pending), then the server drains and closes
  // the providers they share.
  // Observers first: in-flight events finish (their actions may enqueue) and the checkpoint is saved.
  await observers?.stop().catch(() => {});
  // Flows next: in-flight messages finish and are acknowledged at their source.
  await flows?.close().catch(() => {});
  await workers?.close({ timeoutMs: 25_000 });
  await workerHttp?.close();
  await server.close();
  await integrations.close().catch(() => {});
  removeServerFile?.();
  return EXIT.ok;
}

export function registerServe(program: Command, io: Io, run: (p: Promise<number>) => Promise<void>): void {
  program
    .command('serve')
    .description('Run the HTTP API and the worker in one process (embedded defaults without a config file)')
    .option('-c, --config <file>', 'config file (default ./fraiseql.toml, else embedded defaults)')
    .option('--host <host>', 'address to listen on (env HOST)', undefined)
    .option('--port <port>', 'port to listen on (env PORT)', undefined)
    .option('--handlers <file>', 'module exporting { [queue]: handler }')
    .option('--worker-port <port>', 'also serve the worker /metrics and /health on this port')
    .option('--no-worker', 'serve the API only')
    .option('--flows <file>', "flows, connectors and plugins to run (YAML in the seed's shape, TOML or JSON)")
    .action((opts: ServeOptions) => run(serve(opts, io)));
}
