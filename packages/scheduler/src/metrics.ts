import { Counter, Histogram, type Registry } from 'prom-client';

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The scheduler's metrics, registered once per registry. */
export function schedulerMetrics(registry: Registry) {
  const fired = metric(
    registry,
    'fraiseql_schedule_fired_total',
    () =>
      new Counter({
        name: 'fraiseql_schedule_fired_total',
        help: 'Schedule ticks whose job was enqueued, by schedule',
        labelNames: ['schedule'],
        registers: [registry],
      }),
  );
  const lag = metric(
    registry,
    'fraiseql_schedule_lag_seconds',
    () =>
      new Histogram({
        name: 'fraiseql_schedule_lag_seconds',
        help: 'Time from a tick to the end of its enqueue',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
  );
  const errors = metric(
    registry,
    'fraiseql_schedule_errors_total',
    () =>
      new Counter({
        name: 'fraiseql_schedule_errors_total',
        help: 'Failed scheduler steps (stage = store | enqueue); the tick is retried on the next pass',
        labelNames: ['stage'],
        registers: [registry],
      }),
  );
  return { fired, lag, errors };
}

export type SchedulerMetrics = ReturnType<typeof schedulerMetrics>;
