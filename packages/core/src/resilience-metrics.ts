import { Counter, Gauge, type Registry } from 'prom-client';
import type { Section } from './resilience-options';
import type { SloTracker } from './slo';
import { type CounterCell, counterCell, tallyCounter } from './tally';

/** The Prometheus series of a Resilience, and the per-operation handles that feed them. */

export interface Metrics {
  requests: Counter<'section' | 'provider' | 'operation' | 'outcome'>;
  retries: Counter<'section' | 'provider' | 'operation'>;
  breaker: Gauge<'section' | 'provider'>;
  rejected: Counter<'section' | 'provider'>;
}

const metricsByRegistry = new WeakMap<Registry, Metrics>();

/** The resilience series of a registry, created once per registry. */
export function resilienceMetrics(registry: Registry): Metrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  m = {
    requests: get('fraiseql_integration_requests_total', () =>
      tallyCounter({
        name: 'fraiseql_integration_requests_total',
        help: 'Provider calls by operation and outcome (success, error, rejected by an open breaker)',
        labelNames: ['section', 'provider', 'operation', 'outcome'],
        registers: [registry],
      }),
    ),
    retries: get(
      'fraiseql_integration_retries_total',
      () =>
        new Counter({
          name: 'fraiseql_integration_retries_total',
          help: 'Retries of idempotent reads after a transient error',
          labelNames: ['section', 'provider', 'operation'],
          registers: [registry],
        }),
    ),
    breaker: get(
      'fraiseql_integration_circuit_state',
      () =>
        new Gauge({
          name: 'fraiseql_integration_circuit_state',
          help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open',
          labelNames: ['section', 'provider'],
          registers: [registry],
        }),
    ),
    rejected: get(
      'fraiseql_integration_circuit_rejections_total',
      () =>
        new Counter({
          name: 'fraiseql_integration_circuit_rejections_total',
          help: 'Calls rejected at once (IN503) because the breaker was open',
          labelNames: ['section', 'provider'],
          registers: [registry],
        }),
    ),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** What one operation of a Resilience reports; resolved on its first call, not on every call. */
export class Operation {
  readonly labels: { section: Section; provider: string; operation: string };
  readonly successLabels: Record<string, string>;
  readonly errorLabels: Record<string, string>;
  readonly rejectedLabels: Record<string, string>;
  /** Plain cells of the request counter (undefined when the registry's counter is not ours). */
  readonly success: CounterCell | undefined;
  readonly error: CounterCell | undefined;
  readonly rejected: CounterCell | undefined;
  /** The SLO tracker, as of `revision` of the SloRegistry. */
  tracker: SloTracker | undefined;
  revision = -1;

  constructor(
    section: Section,
    provider: string,
    readonly operation: string,
    readonly sloOperation: string | undefined,
    metrics: Metrics | undefined,
  ) {
    this.labels = { section, provider, operation };
    this.successLabels = { ...this.labels, outcome: 'success' };
    this.errorLabels = { ...this.labels, outcome: 'error' };
    this.rejectedLabels = { ...this.labels, outcome: 'rejected' };
    this.success = metrics && counterCell(metrics.requests, this.successLabels);
    this.error = metrics && counterCell(metrics.requests, this.errorLabels);
    this.rejected = metrics && counterCell(metrics.requests, this.rejectedLabels);
  }
}
