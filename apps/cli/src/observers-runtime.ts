import { ErrorCode, IntegrationError, type Integrations, type IntegrationsConfig } from '@fraiseql/core';
import {
  type EventTransport,
  type ObserverLogger,
  type ObserverRuntime,
  observersFromConfig,
} from '@fraiseql/observers';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';
import { cliImporter } from './context';
import { CliError, EXIT } from './output';

/** The NATS transport of `[observers.nats]` (`@fraiseql/observers-nats`, loaded only when configured). */
async function natsTransport(
  config: NonNullable<IntegrationsConfig['observers']>,
  env: NodeJS.ProcessEnv,
): Promise<EventTransport> {
  const { serversEnv, servers, ...rest } = config.nats ?? {};
  let list: string[] | undefined;
  if (serversEnv) {
    const value = env[serversEnv];
    if (!value)
      throw new IntegrationError(
        ErrorCode.MissingEnvVar,
        `[observers] observers.nats.servers_env: environment variable ${serversEnv} is not set`,
        {
          kind: 'configuration',
        },
      );
    list = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  } else if (servers) list = Array.isArray(servers) ? servers : [servers];
  if (!list?.length) throw new CliError('[observers.nats] needs servers_env (or servers)', EXIT.usage);
  const mod = await cliImporter()('@fraiseql/observers-nats');
  const create = mod?.createNatsTransport as
    | ((opts: Record<string, unknown>) => Promise<EventTransport>)
    | undefined;
  if (!create)
    throw new CliError(
      'transport = "nats" needs @fraiseql/observers-nats: pnpm add @fraiseql/observers-nats',
      EXIT.usage,
    );
  return create({ servers: list, ...rest });
}

/**
 * The observer runtime of `[observers]` over the integrations' shared database client and
 * providers (not started). With `transport = "nats"` (and `withTransport`), the NATS transport is
 * created too and closed by the runtime's `stop()`. Undefined when the config has no `[observers]`.
 */
export async function observerRuntimeOf(
  config: IntegrationsConfig,
  integrations: Integrations,
  opts: {
    registry?: Registry;
    logger?: ObserverLogger;
    role?: 'all' | 'listener' | 'worker';
    withTransport?: boolean;
  } = {},
): Promise<ObserverRuntime | undefined> {
  if (!config.observers) return undefined;
  if (!integrations.sql)
    throw new CliError('[observers] needs a database ([postgres] url_env, or the embedded one)', EXIT.usage);
  const transport =
    config.observers.transport === 'nats' && opts.withTransport !== false
      ? await natsTransport(config.observers, process.env)
      : undefined;
  const runtime = await observersFromConfig(config.observers, {
    sql: integrations.sql as SqlClient,
    providers: {
      ...(integrations.cache ? { cache: integrations.cache } : {}),
      ...(integrations.queue ? { queue: integrations.queue } : {}),
      ...(integrations.search ? { search: integrations.search } : {}),
    },
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.role ? { role: opts.role } : {}),
    ...(transport ? { transport } : {}),
  }).catch(async (err) => {
    await transport?.close().catch(() => {});
    throw err;
  });
  if (transport) {
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async () => {
      await stop();
      await transport.close();
    };
  }
  return runtime;
}
