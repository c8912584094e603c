import type { Integrations, IntegrationsConfig } from '@fraiseql/core';
import { type ObserverLogger, type ObserverRuntime, observersFromConfig } from '@fraiseql/observers';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';
import { CliError, EXIT } from './output';

/**
 * The observer runtime of `[observers]` over the integrations' shared database client and
 * providers (not started). Undefined when the config has no `[observers]`.
 */
export async function observerRuntimeOf(
  config: IntegrationsConfig,
  integrations: Integrations,
  opts: { registry?: Registry; logger?: ObserverLogger; role?: 'all' | 'listener' | 'worker' } = {},
): Promise<ObserverRuntime | undefined> {
  if (!config.observers) return undefined;
  if (!integrations.sql)
    throw new CliError('[observers] needs a database ([postgres] url_env, or the embedded one)', EXIT.usage);
  return observersFromConfig(config.observers, {
    sql: integrations.sql as SqlClient,
    providers: {
      ...(integrations.cache ? { cache: integrations.cache } : {}),
      ...(integrations.queue ? { queue: integrations.queue } : {}),
      ...(integrations.search ? { search: integrations.search } : {}),
    },
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.role ? { role: opts.role } : {}),
  });
}
