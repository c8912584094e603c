import type { CacheProvider, ObserversConfig, QueueProvider, SearchProvider } from '@fraiseql/core';
import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';
import { observersError } from './errors';
import { createObserverRuntime } from './runtime';
import type {
  ActionDefinition,
  EventTransport,
  ObserverDefinition,
  ObserverLogger,
  ObserverRuntime,
  ObserverRuntimeOptions,
} from './types';

export interface ObserversFromConfigDeps {
  /** The shared `[postgres]` client (`integrations.sql`). */
  sql: SqlClient;
  providers?: { cache?: CacheProvider; queue?: QueueProvider; search?: SearchProvider };
  registry?: Registry;
  logger?: ObserverLogger;
  /** Where `*_env` keys are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Required when `transport = "nats"` (from `@fraiseql/observers-nats`). */
  transport?: EventTransport;
  /** Overrides `role` of the config (`observe --role`). */
  role?: 'all' | 'listener' | 'worker';
  fetch?: typeof fetch;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The runtime of a validated `[observers]` section: `*_env` keys of actions are read from the
 * environment (`url_env` → `url`; IN003 listing every unset variable — values never appear in
 * messages), dedup and the action cache are stored in the `[cache]` provider.
 */
export async function observersFromConfig(
  config: ObserversConfig,
  deps: ObserversFromConfigDeps,
): Promise<ObserverRuntime> {
  const env = deps.env ?? process.env;
  const missing: string[] = [];
  const observers: ObserverDefinition[] = (config.observer ?? []).map((o, i) => ({
    name: o.name,
    entity: o.entity,
    ...(o.events ? { events: o.events as ObserverDefinition['events'] } : {}),
    ...(o.condition !== undefined ? { condition: o.condition as ObserverDefinition['condition'] } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
    actions: o.actions.map((a, j) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(a)) {
        if (key.endsWith('Env') && key !== 'Env' && typeof value === 'string') {
          const v = env[value];
          if (v === undefined || v === '')
            missing.push(
              `observers.observer[${i}].actions[${j}].${snake(key)}: environment variable ${value} is not set`,
            );
          else out[key.slice(0, -3)] = v;
        } else out[key] = value;
      }
      return out as ActionDefinition;
    }),
  }));
  if (missing.length > 0)
    throw new IntegrationError(
      ErrorCode.MissingEnvVar,
      `[observers] ${missing.length} environment variable(s) missing: ${missing.join('; ')}`,
      {
        kind: 'configuration',
        field: 'observers',
      },
    );
  const cache = deps.providers?.cache;
  const on = (o: { enabled?: boolean } | undefined) => (o ? (o.enabled ?? true) : false);
  if ((on(config.dedup) || on(config.actionCache)) && !cache)
    throw observersError(
      ErrorCode.InvalidConfiguration,
      'dedup and the action cache need a [cache] provider',
      'cache',
    );
  if (config.transport === 'nats' && !deps.transport)
    throw observersError(
      ErrorCode.InvalidConfiguration,
      'transport = "nats" needs @fraiseql/observers-nats (pass its transport)',
      'transport',
    );
  const opts: ObserverRuntimeOptions = {
    sql: deps.sql,
    observers,
    ...(config.group ? { group: config.group } : {}),
    ...(config.listenerId ? { listenerId: config.listenerId } : {}),
    ...(config.changeLog ? { changeLog: config.changeLog } : {}),
    ...(config.schema ? { schema: config.schema } : {}),
    ...(config.batchSize ? { batchSize: config.batchSize } : {}),
    ...(config.pollIntervalMs ? { pollIntervalMs: config.pollIntervalMs } : {}),
    ...(config.maxParallelism ? { maxParallelism: config.maxParallelism } : {}),
    ...(config.actionTimeoutMs ? { actionTimeoutMs: config.actionTimeoutMs } : {}),
    ...(config.retentionDays ? { retentionDays: config.retentionDays } : {}),
    ...(config.source ? { source: config.source } : {}),
    ...(config.failover ? { failover: config.failover } : {}),
    ...(config.breaker ? { breaker: config.breaker } : {}),
    ...(on(config.dedup) && cache
      ? {
          dedup: {
            store: cache,
            ...(config.dedup?.windowMs ? { windowMs: config.dedup.windowMs } : {}),
            ...(config.dedup?.key ? { key: config.dedup.key } : {}),
          },
        }
      : {}),
    ...(on(config.actionCache) && cache
      ? {
          actionCache: {
            store: cache,
            ...(config.actionCache?.ttlMs ? { ttlMs: config.actionCache.ttlMs } : {}),
          },
        }
      : {}),
    ...(deps.providers ? { providers: deps.providers } : {}),
    ...(deps.transport ? { transport: deps.transport } : {}),
    ...((deps.role ?? config.role) ? { role: deps.role ?? config.role } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  return createObserverRuntime(opts);
}
