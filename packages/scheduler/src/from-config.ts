import type { IntegrationsConfig, QueueProvider } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';
import { createScheduler } from './create';
import type { Scheduler, SchedulerLogger, SchedulerOptions } from './types';

export interface SchedulesFromConfigOptions {
  /** The validated config: its `[[schedules]]` are upserted, `[queues]` picks the store. */
  config: IntegrationsConfig;
  /** What `createIntegrations()` returned: its queue, and its shared SqlClient when a Postgres backend runs. */
  integrations: { queue?: QueueProvider; sql?: unknown };
  registry?: Registry;
  logger?: SchedulerLogger;
  env?: Record<string, string | undefined>;
  /** Start firing (default true); false gives an admin-only scheduler (list/upsert/remove). */
  start?: boolean;
}

/**
 * The scheduler of the apps (`serve`, the worker): on the integrations' queue, with its store
 * where the other processes of the deployment see it — the shared Postgres (or PGlite) client when
 * there is one, else Redis when the queues are on Redis, else memory (this process only).
 * Upserts every `[[schedules]]` entry (the config wins for the ids it names) and starts.
 * Undefined when no queue is configured.
 */
export async function startSchedulesFromConfig(
  opts: SchedulesFromConfigOptions,
): Promise<Scheduler | undefined> {
  const queue = opts.integrations.queue;
  if (!queue) return undefined;
  const env = opts.env ?? process.env;
  const queues = opts.config.queues as { backend?: string; urlEnv?: string } | undefined;
  let store: SchedulerOptions['store'] = 'memory';
  let storeUrl: string | undefined;
  if (opts.integrations.sql) store = opts.integrations.sql as SqlClient;
  else if (queues?.backend === 'redis') {
    store = 'redis';
    storeUrl = queues.urlEnv ? env[queues.urlEnv] : undefined;
  } else {
    opts.logger?.warn(
      {},
      '[scheduler] no shared store (no Postgres, queues not on Redis): schedules live in this process only',
    );
  }
  const scheduler = await createScheduler({
    queue,
    store,
    env,
    ...(storeUrl ? { storeUrl } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  try {
    for (const s of opts.config.schedules ?? []) await scheduler.upsert(s);
    if (opts.start !== false) await scheduler.start();
  } catch (err) {
    await scheduler.stop().catch(() => {});
    throw err;
  }
  return scheduler;
}
