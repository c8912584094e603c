import { Counter, Histogram, type Registry } from 'prom-client';

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The flow metrics of DESIGN §10.1, registered once per registry. */
export function flowMetrics(registry: Registry) {
  const messages = metric(
    registry,
    'fraiseql_flow_messages_total',
    () =>
      new Counter({
        name: 'fraiseql_flow_messages_total',
        help: 'Messages that finished a flow, by outcome (delivered, dlq)',
        labelNames: ['flow', 'outcome'],
        registers: [registry],
      }),
  );
  const stepDuration = metric(
    registry,
    'fraiseql_flow_step_duration_seconds',
    () =>
      new Histogram({
        name: 'fraiseql_flow_step_duration_seconds',
        help: 'Duration of flow steps',
        labelNames: ['flow', 'step'],
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [registry],
      }),
  );
  const errors = metric(
    registry,
    'fraiseql_flow_errors_total',
    () =>
      new Counter({
        name: 'fraiseql_flow_errors_total',
        help: 'Failed step runs',
        labelNames: ['flow', 'step'],
        registers: [registry],
      }),
  );
  const connectorRequests = metric(
    registry,
    'fraiseql_connector_requests_total',
    () =>
      new Counter({
        name: 'fraiseql_connector_requests_total',
        help: 'Connector calls made by flows',
        labelNames: ['connector', 'outcome'],
        registers: [registry],
      }),
  );

  return { messages, stepDuration, errors, connectorRequests };
}
