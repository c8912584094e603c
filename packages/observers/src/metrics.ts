import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}
function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return (
    (registry.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] })
  );
}
function histogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  buckets: number[],
): Histogram {
  return (
    (registry.getSingleMetric(name) as Histogram | undefined) ??
    new Histogram({ name, help, labelNames, buckets, registers: [registry] })
  );
}

/** The seed's metric names (DESIGN §8.4), registered once per registry. */
export function observerMetrics(registry: Registry) {
  return {
    eventsProcessed: counter(registry, 'observer_events_processed_total', 'Change-log events processed', [
      'entity',
      'kind',
    ]),
    actionsExecuted: counter(registry, 'observer_actions_executed_total', 'Action runs that succeeded', [
      'action',
    ]),
    actionsFailed: counter(
      registry,
      'observer_actions_failed_total',
      'Action runs that failed (each attempt)',
      ['action'],
    ),
    dedupSkips: counter(registry, 'observer_dedup_skips_total', 'Events skipped as duplicates'),
    dedupErrors: counter(registry, 'observer_dedup_errors_total', 'Dedup store errors (failed open)'),
    cacheHits: counter(registry, 'observer_cache_hits_total', 'Actions answered by the action cache'),
    cacheMisses: counter(registry, 'observer_cache_misses_total', 'Actions the action cache did not hold'),
    actionDuration: histogram(
      registry,
      'observer_action_duration_seconds',
      'Action run time',
      ['action'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    eventLag: histogram(
      registry,
      'observer_event_lag_seconds',
      'Change-log created_at to event done',
      [],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    ),
    eventsBehind: gauge(registry, 'observer_events_behind', 'Change-log events not yet processed', ['group']),
    dlqSize: gauge(registry, 'observer_dlq_size', 'Entries in the observer DLQ'),
    failovers: counter(registry, 'observer_failovers_total', 'Leadership takeovers'),
    leader: gauge(registry, 'observer_listener_leader', '1 when this listener leads its group', ['listener']),
    jobQueueDepth: gauge(
      registry,
      'observer_job_queue_depth',
      'Pending jobs of the queues enqueue actions feed',
      ['queue'],
    ),
  };
}

export type ObserverMetrics = ReturnType<typeof observerMetrics>;
