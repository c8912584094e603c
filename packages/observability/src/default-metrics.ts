import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { collectDefaultMetrics, type Registry } from 'prom-client';

export interface DefaultMetricsOptions {
  /**
   * Prefix of every default metric name. Default `""`, so the names are the standard ones
   * (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, …) that stock Node.js
   * dashboards expect.
   */
  prefix?: string;
  /** Labels added to every default metric (keep them constant: they multiply every series). Default: none. */
  labels?: Record<string, string>;
  /** Event loop lag sampling precision in ms. Default 10 (prom-client's). */
  eventLoopMonitoringPrecision?: number;
}

const registered = new WeakMap<Registry, Set<string>>();

/**
 * prom-client's process and Node.js runtime metrics (CPU, memory, heap, handles, GC, event loop
 * lag) on the given registry — never on prom-client's global one. A second call for the same
 * registry and prefix does nothing, so an app and a library can both ask for them.
 *
 * @throws IntegrationError IN002 when `prefix` is not a valid metric name prefix.
 */
export function registerDefaultMetrics(registry: Registry, opts: DefaultMetricsOptions = {}): void {
  const prefix = opts.prefix ?? '';
  if (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw IntegrationError.invalidInput(
      ErrorCode.InvalidConfiguration,
      `Invalid metrics prefix "${prefix}": use [A-Za-z0-9_:]`,
      'prefix',
    );
  }
  const prefixes = registered.get(registry) ?? new Set<string>();
  registered.set(registry, prefixes);
  // Also covers a registry that got them from a direct collectDefaultMetrics() call.
  if (prefixes.has(prefix) || registry.getSingleMetric(`${prefix}process_cpu_seconds_total`)) return;
  collectDefaultMetrics({
    register: registry,
    prefix,
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.eventLoopMonitoringPrecision !== undefined
      ? { eventLoopMonitoringPrecision: opts.eventLoopMonitoringPrecision }
      : {}),
  });
  prefixes.add(prefix);
}
