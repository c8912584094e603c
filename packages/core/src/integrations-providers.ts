import type { Registry } from 'prom-client';
import type { ProviderImporter, ProviderModule } from './config/loader';
import type { ResilienceConfig } from './config/types';
import type { CacheProvider } from './contracts/cache';
import type { Provider } from './contracts/provider';
import { ErrorCode, IntegrationError, wrapError } from './errors';
import type { Backend, Section } from './integrations-plan';
import type { ResilienceOptions } from './resilience';
import { withResilience } from './resilient-providers';
import type { SloRegistry } from './slo';

/** Provider construction for `createIntegrations`: loading a factory, wrapping what it returns, cleanup. */

/** Only what core needs of `@fraiseql/postgres`'s SqlClient (core depends on no backend client). */
export interface Closeable {
  close(): Promise<void>;
}

export type Factory = (opts: Record<string, unknown>) => Promise<unknown>;

export async function loadFactory(
  importer: ProviderImporter,
  backend: Backend,
  who: string,
  provider: string,
): Promise<Factory> {
  let mod: ProviderModule | undefined;
  try {
    mod = await importer(backend.package);
  } catch (err) {
    // Installed but broken (syntax error, missing dependency of its own, …): say so, never
    // pretend it is not installed.
    throw wrapError(err, ErrorCode.ProviderUnavailable, provider, `${who} could not load ${backend.package}`);
  }
  if (mod === undefined) {
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `${who} needs ${backend.package}: run \`pnpm add ${backend.package}\``,
      { kind: 'configuration', provider },
    );
  }
  // A CommonJS build imported from ESM may only expose its exports under `default`.
  const fn = mod[backend.factory] ?? (mod.default as ProviderModule | undefined)?.[backend.factory];
  if (typeof fn !== 'function') {
    throw IntegrationError.provider(
      ErrorCode.ProviderUnavailable,
      provider,
      `${backend.package} does not export ${backend.factory}(); install a version matching @fraiseql/core`,
    );
  }
  return fn as Factory;
}

/**
 * Every provider `createIntegrations` returns is wrapped: SLO timing + metrics on the shared
 * SloRegistry, a timeout, a circuit breaker and retries of idempotent reads (`[<section>.resilience]`).
 */
export function wrapProvider<P extends Provider>(
  section: Section,
  provider: P,
  ctx: {
    registry?: Registry;
    resilience?: ResilienceConfig;
    slo: SloRegistry;
    labelQueues?: readonly string[];
  },
): P {
  return withResilience(section as 'cache', provider as unknown as CacheProvider, {
    slo: ctx.slo,
    ...(ctx.registry ? { registry: ctx.registry } : {}),
    ...(ctx.resilience ? { resilience: ctx.resilience as ResilienceOptions } : {}),
    ...(ctx.labelQueues ? { labelQueues: ctx.labelQueues } : {}),
  }) as unknown as P;
}

export async function closeQuietly(items: (Closeable | undefined)[]): Promise<void> {
  // Cleanup after a failed start: the start error is what the caller must see.
  for (const item of items) {
    try {
      await item?.close();
    } catch {
      // ignored on purpose, see above
    }
  }
}
