import { DEFAULT_SLO_OPERATIONS } from '@fraiseql/core';
import { SLO_RECORDING_RULES } from './slo-rules';

export interface GrafanaDashboardOptions {
  /**
   * SLO operation names offered in the `slo` variable (one repeated row each). Default: the
   * keys of `DEFAULT_SLO_OPERATIONS`.
   */
  slos?: string[];
  /** Dashboard title. Default `"fraiseql integrations"`. */
  title?: string;
  /** Dashboard uid (stable, so links and provisioning survive re-imports). Default `"fraiseql-integrations"`. */
  uid?: string;
}

type Panel = Record<string, unknown>;
interface Target {
  expr: string;
  legend: string;
}

// Grafana variable references, not JS template placeholders.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana syntax
const DS = { type: 'prometheus', uid: '${datasource}' };
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana syntax
const SLO = '${slo}';
const RATE = '$__rate_interval';

/**
 * A Grafana dashboard (JSON model, schema 39) over the metrics of `@fraiseql/core` and the
 * recording rules of `generateSloRules`: per SLO (a row repeated for each value of the `slo`
 * variable) latency percentiles against the target, error ratio against the objective, error
 * budget remaining and burn rate; then request and error rates, circuit breaker state, retries,
 * and queue depth, failures, job duration and wait. Budget and burn-rate panels need the rules
 * file loaded in Prometheus. Deterministic: same input, same JSON.
 */
export function grafanaDashboard(opts: GrafanaDashboardOptions = {}): Record<string, unknown> {
  const slos = opts.slos ?? Object.keys(DEFAULT_SLO_OPERATIONS);
  let id = 0;
  let y = 0;
  const panels: Panel[] = [];
  const row = (title: string, extra: Panel = {}) => {
    panels.push({
      type: 'row',
      id: ++id,
      title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
      ...extra,
    });
    y += 1;
  };
  // Panels of a row side by side, `w` wide each, 8 high.
  const line = (...items: Panel[]) => {
    let x = 0;
    for (const p of items) {
      const w = p.w as number;
      delete p.w;
      panels.push({ ...p, id: ++id, datasource: DS, gridPos: { h: 8, w, x, y } });
      x += w;
    }
    y += 8;
  };
  const targets = (ts: Target[]) =>
    ts.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: t.expr,
      legendFormat: t.legend,
      range: true,
    }));
  const timeseries = (
    title: string,
    unit: string,
    ts: Target[],
    description: string,
    more: { w?: number; thresholds?: { color: string; value: number | null }[] } = {},
  ): Panel => ({
    type: 'timeseries',
    title,
    description,
    w: more.w ?? 8,
    fieldConfig: {
      defaults: {
        unit,
        custom: {
          fillOpacity: 10,
          showPoints: 'never',
          ...(more.thresholds ? { thresholdsStyle: { mode: 'line' } } : {}),
        },
        ...(more.thresholds ? { thresholds: { mode: 'absolute', steps: more.thresholds } } : {}),
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom' },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(ts),
  });

  // ---- per SLO
  const m = (suffix: string) => `fraiseql_integration_${SLO}_${suffix}`;
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(${m('latency_seconds_bucket')}[${RATE}])))`,
    legend: `p${Math.round(q * 100)}`,
  });
  const burn = (w: '1h' | '6h' | '3d') => ({
    expr:
      `${SLO_RECORDING_RULES.errorRatio(w)}{slo="${SLO}"}\n/ on (slo) group_left ()\n` +
      `(1 - ${SLO_RECORDING_RULES.objective}{slo="${SLO}"})`,
    legend: `{{provider}} ${w}`,
  });
  row(`SLO ${SLO}`, { repeat: 'slo' });
  line(
    timeseries(
      'Latency percentiles',
      's',
      [
        quantile(0.5),
        quantile(0.95),
        quantile(0.99),
        { expr: `max(${SLO_RECORDING_RULES.latencyTarget}{slo="${SLO}"})`, legend: 'target' },
      ],
      'Latency of the operation across providers; "target" is the SLO latency target.',
    ),
    timeseries(
      'Error ratio (errors + slow)',
      'percentunit',
      [
        {
          expr: `sum by (provider) (rate(${m('slo_violations_total')}[${RATE}]))\n/\nsum by (provider) (rate(${m('total')}[${RATE}]))`,
          legend: '{{provider}}',
        },
        { expr: `1 - max(${SLO_RECORDING_RULES.objective}{slo="${SLO}"})`, legend: 'allowed' },
      ],
      'Share of requests that missed the SLO: failed, or succeeded slower than the target.',
    ),
    {
      type: 'stat',
      title: 'Error budget remaining',
      description: 'Over the SLO budget period, from the recording rules. Negative = overspent.',
      w: 4,
      fieldConfig: {
        defaults: {
          unit: 'percentunit',
          decimals: 1,
          thresholds: {
            mode: 'absolute',
            steps: [
              { color: 'red', value: null },
              { color: 'orange', value: 0 },
              { color: 'green', value: 0.25 },
            ],
          },
        },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
      },
      targets: targets([
        { expr: `${SLO_RECORDING_RULES.budgetRemaining}{slo="${SLO}"}`, legend: '{{provider}}' },
      ]),
    },
    timeseries(
      'Burn rate',
      'x',
      [burn('1h'), burn('6h'), burn('3d')],
      'How many times faster than allowed the budget burns. Pages above 14.4 (1h) or 6 (6h), tickets above 1 (3d).',
      {
        w: 4,
        // The alert thresholds.
        thresholds: [
          { color: 'green', value: null },
          { color: 'yellow', value: 1 },
          { color: 'orange', value: 6 },
          { color: 'red', value: 14.4 },
        ],
      },
    ),
  );

  // ---- providers
  const requests = 'fraiseql_integration_requests_total';
  row('Providers');
  line(
    timeseries(
      'Requests by outcome',
      'reqps',
      [
        {
          expr: `sum by (section, provider, outcome) (rate(${requests}[${RATE}]))`,
          legend: '{{section}}/{{provider}} {{outcome}}',
        },
      ],
      'Provider calls per second; "rejected" = refused at once by an open circuit breaker.',
    ),
    timeseries(
      'Error rate',
      'percentunit',
      [
        {
          expr:
            `sum by (section, provider) (rate(${requests}{outcome!="success"}[${RATE}]))\n/\n` +
            `sum by (section, provider) (rate(${requests}[${RATE}]))`,
          legend: '{{section}}/{{provider}}',
        },
      ],
      'Share of provider calls that failed or were rejected by the breaker.',
    ),
    {
      type: 'state-timeline',
      title: 'Circuit breaker state',
      description: 'Closed, half-open (probing) or open (failing fast with IN503), per provider.',
      w: 8,
      fieldConfig: {
        defaults: {
          mappings: [
            {
              type: 'value',
              options: {
                '0': { text: 'closed', color: 'green', index: 0 },
                '1': { text: 'half-open', color: 'yellow', index: 1 },
                '2': { text: 'open', color: 'red', index: 2 },
              },
            },
          ],
          thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
        },
        overrides: [],
      },
      options: { showValue: 'never', mergeValues: true, legend: { showLegend: false } },
      targets: targets([
        {
          expr: 'max by (section, provider) (fraiseql_integration_circuit_state)',
          legend: '{{section}}/{{provider}}',
        },
      ]),
    },
  );
  line(
    timeseries(
      'Retries and breaker rejections',
      'ops',
      [
        {
          expr: `sum by (section, provider) (rate(fraiseql_integration_retries_total[${RATE}]))`,
          legend: 'retries {{section}}/{{provider}}',
        },
        {
          expr: `sum by (section, provider) (rate(fraiseql_integration_circuit_rejections_total[${RATE}]))`,
          legend: 'rejected {{section}}/{{provider}}',
        },
      ],
      'Retries of idempotent reads after transient errors, and calls an open breaker refused.',
      { w: 24 },
    ),
  );

  // ---- queues
  row('Queues');
  // Every process of a deployment reports the same backend-read depth: max, not sum.
  line(
    timeseries(
      'Queue depth',
      'short',
      [{ expr: 'max by (queue) (fraiseql_integration_queue_depth)', legend: '{{queue}}' }],
      'Pending jobs (delayed included) per queue, read from the backend on each scrape.',
    ),
    timeseries(
      'Failed jobs',
      'short',
      [{ expr: 'max by (queue) (fraiseql_integration_queue_failed)', legend: '{{queue}}' }],
      'Jobs that used up their retries, per queue (the dead-letter count).',
    ),
    timeseries(
      'Job outcomes',
      'ops',
      [
        {
          expr: `sum by (queue, outcome) (rate(fraiseql_integration_job_duration_seconds_count[${RATE}]))`,
          legend: '{{queue}} {{outcome}}',
        },
      ],
      'Handler runs per second by outcome (completed, retry, failed).',
    ),
  );
  line(
    timeseries(
      'Job duration p95',
      's',
      [
        {
          expr: `histogram_quantile(0.95, sum by (le, queue) (rate(fraiseql_integration_job_duration_seconds_bucket[${RATE}])))`,
          legend: '{{queue}}',
        },
      ],
      'Handler run time per attempt.',
      { w: 12 },
    ),
    timeseries(
      'Job wait p95',
      's',
      [
        {
          expr: `histogram_quantile(0.95, sum by (le, queue) (rate(fraiseql_integration_job_wait_seconds_bucket[${RATE}])))`,
          legend: '{{queue}}',
        },
      ],
      'Enqueue to handler start, first attempts only.',
      { w: 12 },
    ),
  );

  // ---- observers (@fraiseql/observers, seed 001 metric names)
  row('Observers');
  line(
    timeseries(
      'Events processed',
      'ops',
      [
        {
          expr: `sum by (entity, kind) (rate(observer_events_processed_total[${RATE}]))`,
          legend: '{{entity}} {{kind}}',
        },
      ],
      'Change-log events run through the observers, per entity and kind.',
    ),
    timeseries(
      'Action failure ratio',
      'percentunit',
      [
        {
          expr: `sum by (action) (rate(observer_actions_failed_total[${RATE}])) / (sum by (action) (rate(observer_actions_executed_total[${RATE}])) + sum by (action) (rate(observer_actions_failed_total[${RATE}])))`,
          legend: '{{action}}',
        },
      ],
      'Failed attempts over all attempts; HighActionFailureRate fires above 5 % for 5 m.',
      {
        thresholds: [
          { color: 'green', value: null },
          { color: 'red', value: 0.05 },
        ],
      },
    ),
    timeseries(
      'Action duration p95',
      's',
      [
        {
          expr: `histogram_quantile(0.95, sum by (le, action) (rate(observer_action_duration_seconds_bucket[${RATE}])))`,
          legend: '{{action}}',
        },
      ],
      'Run time of one action attempt.',
    ),
  );
  line(
    timeseries(
      'Lag',
      's',
      [
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(observer_event_lag_seconds_bucket[${RATE}])))`,
          legend: 'created → done p99',
        },
      ],
      'From the change-log row to its event being done.',
    ),
    timeseries(
      'Events behind, DLQ size',
      'short',
      [
        { expr: 'max by (group) (observer_events_behind)', legend: 'behind {{group}}' },
        { expr: 'max(observer_dlq_size)', legend: 'DLQ' },
      ],
      'Change-log rows above the checkpoint, and failed actions waiting in the DLQ.',
    ),
    timeseries(
      'Leaders, dedup and cache',
      'short',
      [
        { expr: 'sum(observer_listener_leader)', legend: 'leaders' },
        { expr: `sum(rate(observer_dedup_skips_total[${RATE}]))`, legend: 'dedup skips/s' },
        { expr: `sum(rate(observer_cache_hits_total[${RATE}]))`, legend: 'action cache hits/s' },
        { expr: `sum(increase(observer_failovers_total[${RATE}]))`, legend: 'failovers' },
      ],
      'Exactly one leader per group; ObserverNoLeader fires at zero.',
    ),
  );

  return {
    uid: opts.uid ?? 'fraiseql-integrations',
    title: opts.title ?? 'fraiseql integrations',
    description:
      'SLOs, providers and queues of @fraiseql integrations (generated by @fraiseql/observability).',
    tags: ['fraiseql'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          type: 'datasource',
          name: 'datasource',
          label: 'Prometheus',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
        },
        {
          type: 'custom',
          name: 'slo',
          label: 'SLO',
          query: slos.join(','),
          multi: true,
          includeAll: true,
          current: { selected: true, text: ['All'], value: ['$__all'] },
          options: [],
          hide: 0,
        },
      ],
    },
    panels,
  };
}
