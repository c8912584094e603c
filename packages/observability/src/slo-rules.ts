import { configError, DEFAULT_SLO_OPERATIONS, type SloConfig } from '@fraiseql/core';
import { stringify } from 'yaml';

/** One Prometheus recording rule. */
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

/** One Prometheus alerting rule. */
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: (RecordingRule | AlertingRule)[];
}

/** The document Prometheus loads through `rule_files`. */
export interface PrometheusRuleFile {
  groups: RuleGroup[];
}

export interface SloRulesOptions {
  /**
   * Label matchers added to every raw series the rules read, e.g. `job="fraiseql-server"` or
   * `namespace="prod", job=~"fraiseql-.*"` — for a Prometheus that scrapes more than one
   * deployment. Default: none (every series of that name).
   */
  selector?: string;
  /**
   * Labels the SLIs keep; everything else (instance, job, …) is summed away so the budget is
   * the service's, not one process's. Default `["provider"]`.
   */
  groupBy?: string[];
  /** Evaluation interval of the rule groups. Default: none (Prometheus' global `evaluation_interval`). */
  interval?: string;
}

/** Windows every SLO's error ratio is recorded over: the short and long windows of the alerts below. */
export const SLO_ERROR_RATIO_WINDOWS = ['5m', '30m', '1h', '6h', '3d'] as const;
export type SloWindow = (typeof SLO_ERROR_RATIO_WINDOWS)[number];

/**
 * Multi-window multi-burn-rate alerts (Google SRE workbook, ch. 5): an alert fires when the
 * budget burns `burnRate`× too fast over the long window AND still does over the short one, so
 * it pages quickly on a real outage and stops soon after the outage ends.
 */
export const SLO_BURN_RATE_ALERTS = [
  { alert: 'FraiseqlSloBurnRatePage', severity: 'page', burnRate: 14.4, long: '1h', short: '5m' },
  { alert: 'FraiseqlSloBurnRatePage', severity: 'page', burnRate: 6, long: '6h', short: '30m' },
  { alert: 'FraiseqlSloBurnRateTicket', severity: 'ticket', burnRate: 1, long: '3d', short: '6h' },
] as const satisfies readonly {
  alert: string;
  severity: string;
  burnRate: number;
  long: SloWindow;
  short: SloWindow;
}[];

/** Names of the series the rules record; each carries an `slo` label (plus the `groupBy` labels). */
export const SLO_RECORDING_RULES = {
  /** Availability objective of the SLO, e.g. 0.999. */
  objective: 'fraiseql:slo_objective:ratio',
  /** Latency target of the SLO in seconds. */
  latencyTarget: 'fraiseql:slo_latency_target:seconds',
  /** Error budget left over the budget period: 1 = untouched, 0 = spent, negative = overspent. */
  budgetRemaining: 'fraiseql:slo_error_budget_remaining:ratio',
  /** Share of requests that missed the SLO (errors + too slow) over a window. */
  errorRatio: (window: SloWindow) => `fraiseql:slo_error_ratio:rate${window}`,
} as const;

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCHER = String.raw`\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*`;
const SELECTOR = new RegExp(`^(?:${MATCHER}(?:,${MATCHER})*,?\\s*)?$`);
const DURATION = /^[0-9]+(?:ms|s|m|h|d|w|y)$/;

const WINDOW_HOURS: Record<SloWindow, number> = { '5m': 1 / 12, '30m': 0.5, '1h': 1, '6h': 6, '3d': 72 };

/** Tag of the IN002 messages (the kit's `configError`): `[slo-rules] Invalid SLO …`. */
const PROVIDER = 'slo-rules';

function defaultSlos(): Record<string, SloConfig> {
  return Object.fromEntries(Object.entries(DEFAULT_SLO_OPERATIONS).map(([name, preset]) => [name, preset()]));
}

/** `SloRegistry` without importing its class: a CJS and an ESM copy of core would fail `instanceof`. */
interface HasSnapshots {
  snapshots(): { name: string; config: SloConfig }[];
}

function toRecord(slos: Record<string, SloConfig> | HasSnapshots | undefined): Record<string, SloConfig> {
  if (slos === undefined) return defaultSlos();
  if (typeof (slos as HasSnapshots).snapshots === 'function') {
    return Object.fromEntries((slos as HasSnapshots).snapshots().map((s) => [s.name, s.config]));
  }
  return slos as Record<string, SloConfig>;
}

function assertSlo(name: string, c: SloConfig): void {
  if (!NAME.test(name))
    throw configError(PROVIDER, `Invalid SLO name "${name}": use [A-Za-z0-9_]`, `slos.${name}`);
  if (!(Number.isFinite(c?.targetLatencyMs) && c.targetLatencyMs > 0))
    throw configError(
      PROVIDER,
      `Invalid SLO "${name}": targetLatencyMs must be > 0`,
      `slos.${name}.targetLatencyMs`,
    );
  if (!(c.targetAvailability > 0 && c.targetAvailability < 1))
    throw configError(
      PROVIDER,
      `Invalid SLO "${name}": targetAvailability must be between 0 and 1 (exclusive)`,
      `slos.${name}.targetAvailability`,
    );
  if (!(Number.isFinite(c.budgetPeriodDays) && c.budgetPeriodDays > 0))
    throw configError(
      PROVIDER,
      `Invalid SLO "${name}": budgetPeriodDays must be > 0`,
      `slos.${name}.budgetPeriodDays`,
    );
}

/** A PromQL range for a number of days, in the largest whole unit (30 → `30d`, 0.5 → `12h`). */
function promDuration(days: number): string {
  if (Number.isInteger(days)) return `${days}d`;
  const hours = days * 24;
  if (Number.isInteger(hours)) return `${hours}h`;
  return `${Math.max(1, Math.round(hours * 60))}m`;
}

const indent = (text: string) => text.replace(/^/gm, '  ');

const percent = (x: number) => `${Number((x * 100).toPrecision(6))}%`;

/**
 * Prometheus recording rules and multi-window multi-burn-rate alerts for every SLO, from the
 * same `SloConfig`s the in-process trackers use. The in-process trackers restart with the
 * process; these rules, over the trackers' counters, are the budget of record.
 *
 * Per SLO `<op>` (one rule group `fraiseql_slo_<op>`):
 * - `fraiseql:slo_error_ratio:rate<w>` for w in 5m, 30m, 1h, 6h, 3d =
 *   rate(`fraiseql_integration_<op>_slo_violations_total`) / rate(`fraiseql_integration_<op>_total`),
 *   where a violation is an error or a success slower than the latency target;
 * - `fraiseql:slo_error_budget_remaining:ratio` over the budget period, `fraiseql:slo_objective:ratio`
 *   and `fraiseql:slo_latency_target:seconds` (constants, for dashboards);
 * - `FraiseqlSloBurnRatePage` (severity `page`): burn rate > 14.4 over 1h and 5m, or > 6 over 6h and 30m;
 *   `FraiseqlSloBurnRateTicket` (severity `ticket`): burn rate > 1 over 3d and 6h. The alert's value is
 *   the burn rate over the long window.
 *
 * @param slos objectives by operation name, or an `SloRegistry`. Default: the presets of
 *   `DEFAULT_SLO_OPERATIONS` (search_query, search_index, cache_get, cache_set, cache_delete,
 *   queue_enqueue, queue_process).
 * @throws IntegrationError IN002 for an invalid SLO, selector, label or interval.
 */
export function generateSloRules(
  slos?: Record<string, SloConfig> | HasSnapshots,
  opts: SloRulesOptions = {},
): PrometheusRuleFile {
  const record = toRecord(slos);
  const selector = (opts.selector ?? '').trim();
  if (!SELECTOR.test(selector))
    throw configError(
      PROVIDER,
      `Invalid selector ${JSON.stringify(selector)}: use label matchers like job="x"`,
      'selector',
    );
  const groupBy = opts.groupBy ?? ['provider'];
  for (const label of groupBy) {
    if (!NAME.test(label) || label === 'slo')
      throw configError(PROVIDER, `Invalid groupBy label "${label}"`, 'groupBy');
  }
  if (opts.interval !== undefined && !DURATION.test(opts.interval))
    throw configError(
      PROVIDER,
      `Invalid interval "${opts.interval}": use a Prometheus duration like 30s`,
      'interval',
    );

  const names = Object.keys(record).sort();
  if (names.length === 0) throw configError(PROVIDER, 'No SLOs to generate rules for', 'slos');
  const matchers = selector.replace(/,\s*$/, '');
  const series = (metric: string) => (matchers ? `${metric}{${matchers}}` : metric);
  const sum = (inner: string) =>
    groupBy.length ? `sum by (${groupBy.join(', ')}) (${inner})` : `sum(${inner})`;

  const groups = names.map((name): RuleGroup => {
    const c = record[name]!;
    assertSlo(name, c);
    const metric = `fraiseql_integration_${name}`;
    const allowed = `(1 - ${c.targetAvailability})`;
    const ratio = (range: string) =>
      `${sum(`rate(${series(`${metric}_slo_violations_total`)}[${range}])`)}\n/\n` +
      `${sum(`rate(${series(`${metric}_total`)}[${range}])`)}`;
    // A fresh object per rule: shared ones would come out as YAML anchors and aliases.
    const labels = () => ({ slo: name });
    const period = promDuration(c.budgetPeriodDays);

    const rules: (RecordingRule | AlertingRule)[] = [
      { record: SLO_RECORDING_RULES.objective, expr: `vector(${c.targetAvailability})`, labels: labels() },
      {
        record: SLO_RECORDING_RULES.latencyTarget,
        expr: `vector(${c.targetLatencyMs / 1000})`,
        labels: labels(),
      },
      ...SLO_ERROR_RATIO_WINDOWS.map((w) => ({
        record: SLO_RECORDING_RULES.errorRatio(w),
        expr: ratio(w),
        labels: labels(),
      })),
      {
        record: SLO_RECORDING_RULES.budgetRemaining,
        expr: `1 - (\n${indent(ratio(period))}\n) / ${allowed}`,
        labels: labels(),
      },
    ];

    const objective =
      `${name}: ${percent(c.targetAvailability)} of requests succeed within ${c.targetLatencyMs} ms ` +
      `over ${c.budgetPeriodDays} days.`;
    for (const alert of ['FraiseqlSloBurnRatePage', 'FraiseqlSloBurnRateTicket'] as const) {
      const conditions = SLO_BURN_RATE_ALERTS.filter((a) => a.alert === alert);
      const severity = conditions[0]!.severity;
      const burn = (w: SloWindow) => `${SLO_RECORDING_RULES.errorRatio(w)}{slo="${name}"} / ${allowed}`;
      const expr = conditions
        .map((a) => `(\n  ${burn(a.long)} > ${a.burnRate}\nand\n  ${burn(a.short)} > ${a.burnRate}\n)`)
        .join('\nor\n');
      const why = conditions
        .map((a) => {
          const spent = (a.burnRate * WINDOW_HOURS[a.long]) / (c.budgetPeriodDays * 24);
          return `above ${a.burnRate}x over ${a.long} and ${a.short} (${percent(spent)} of the budget in ${a.long})`;
        })
        .join(', or ');
      rules.push({
        alert,
        expr,
        labels: { severity, slo: name },
        annotations: {
          summary: `fraiseql SLO ${name} is burning its error budget too fast (${severity})`,
          description: `${objective} The error budget burns ${why}.`,
          slo_target_latency_ms: String(c.targetLatencyMs),
          slo_target_availability: String(c.targetAvailability),
          slo_budget_period_days: String(c.budgetPeriodDays),
        },
      });
    }
    return {
      name: `fraiseql_slo_${name}`,
      ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
      rules,
    };
  });
  return { groups };
}

const HEADER =
  '# Generated by @fraiseql/observability from the SloConfigs (`fraiseql-integrations slo rules`).\n' +
  '# Do not edit: change the objectives and regenerate. Load it with `rule_files` in prometheus.yml.\n';

/** `generateSloRules` as the YAML file Prometheus loads, with a header naming its source. */
export function sloRulesYaml(
  slos?: Record<string, SloConfig> | HasSnapshots,
  opts: SloRulesOptions = {},
): string {
  return HEADER + stringify(generateSloRules(slos, opts), { lineWidth: 0, aliasDuplicateObjects: false });
}
