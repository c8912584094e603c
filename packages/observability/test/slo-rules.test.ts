import { DEFAULT_SLO_OPERATIONS, IntegrationError, SloConfig, SloRegistry } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type AlertingRule,
  generateSloRules,
  type PrometheusRuleFile,
  type RecordingRule,
  sloRulesYaml,
} from '../src/index';
import { promtool, runPromtool } from './promtool';

const isAlert = (r: RecordingRule | AlertingRule): r is AlertingRule => 'alert' in r;

function groupOf(file: PrometheusRuleFile, slo: string) {
  const g = file.groups.find((x) => x.name === `fraiseql_slo_${slo}`);
  if (!g) throw new Error(`no group for ${slo}`);
  return g;
}

describe('generateSloRules', () => {
  it('covers every default SLO operation with recording rules over 5m, 30m, 1h, 6h, 3d and the budget', () => {
    const file = generateSloRules();
    expect(file.groups.map((g) => g.name).sort()).toEqual(
      Object.keys(DEFAULT_SLO_OPERATIONS)
        .map((n) => `fraiseql_slo_${n}`)
        .sort(),
    );
    const g = groupOf(file, 'search_query');
    const records = g.rules.filter((r): r is RecordingRule => !isAlert(r));
    expect(records.map((r) => r.record)).toEqual([
      'fraiseql:slo_objective:ratio',
      'fraiseql:slo_latency_target:seconds',
      'fraiseql:slo_error_ratio:rate5m',
      'fraiseql:slo_error_ratio:rate30m',
      'fraiseql:slo_error_ratio:rate1h',
      'fraiseql:slo_error_ratio:rate6h',
      'fraiseql:slo_error_ratio:rate3d',
      'fraiseql:slo_error_budget_remaining:ratio',
    ]);
    for (const r of records) expect(r.labels).toEqual({ slo: 'search_query' });
    const ratio1h = records.find((r) => r.record === 'fraiseql:slo_error_ratio:rate1h')!;
    expect(ratio1h.expr).toContain('rate(fraiseql_integration_search_query_slo_violations_total[1h])');
    expect(ratio1h.expr).toContain('rate(fraiseql_integration_search_query_total[1h])');
    // The SloConfig preset's objective and target, not hard-coded ones.
    expect(records[0]!.expr).toBe('vector(0.999)');
    expect(records[1]!.expr).toBe('vector(0.2)');
    expect(records.at(-1)!.expr).toContain('[30d]');
  });

  it('pages at 14.4x over 1h and 5m or 6x over 6h and 30m, tickets at 1x over 3d and 6h', () => {
    const alerts = groupOf(generateSloRules(), 'cache_get').rules.filter(isAlert);
    expect(alerts.map((a) => [a.alert, a.labels])).toEqual([
      ['FraiseqlSloBurnRatePage', { severity: 'page', slo: 'cache_get' }],
      ['FraiseqlSloBurnRateTicket', { severity: 'ticket', slo: 'cache_get' }],
    ]);
    const [page, ticket] = alerts as [AlertingRule, AlertingRule];
    for (const [w, t] of [
      ['1h', '14.4'],
      ['5m', '14.4'],
      ['6h', '6'],
      ['30m', '6'],
    ]) {
      expect(page.expr).toContain(`fraiseql:slo_error_ratio:rate${w}{slo="cache_get"} / (1 - 0.999) > ${t}`);
    }
    expect(ticket.expr).toContain('fraiseql:slo_error_ratio:rate3d{slo="cache_get"} / (1 - 0.999) > 1\n');
    expect(ticket.expr).toContain('fraiseql:slo_error_ratio:rate6h{slo="cache_get"} / (1 - 0.999) > 1\n');
    expect(page.annotations).toMatchObject({
      slo_target_latency_ms: '10',
      slo_target_availability: '0.999',
      slo_budget_period_days: '30',
    });
    expect(page.annotations!.description).toContain('99.9% of requests succeed within 10 ms over 30 days');
    expect(page.annotations!.description).toContain('2% of the budget in 1h');
    expect(ticket.annotations!.description).toContain('10% of the budget in 3d');
  });

  it('uses custom objectives, a selector and groupBy labels', () => {
    const file = generateSloRules(
      { checkout: { targetLatencyMs: 250, targetAvailability: 0.99, budgetPeriodDays: 7 } },
      {
        selector: 'job="fraiseql-server", env=~"prod|staging"',
        groupBy: ['provider', 'instance'],
        interval: '30s',
      },
    );
    expect(file.groups).toHaveLength(1);
    const g = file.groups[0]!;
    expect(g.interval).toBe('30s');
    const expr = g.rules.map((r) => r.expr).join('\n');
    expect(expr).toContain(
      'sum by (provider, instance) (rate(fraiseql_integration_checkout_total{job="fraiseql-server", env=~"prod|staging"}[5m]))',
    );
    expect(expr).toContain('[7d]');
    expect(expr).toContain('/ (1 - 0.99) > 14.4');
    expect(expr).toContain('vector(0.25)');
  });

  it('takes the objectives of an SloRegistry', () => {
    const reg = new SloRegistry({ overrides: { search_query: { targetLatencyMs: 500 } } });
    reg.register('checkout', SloConfig.default());
    const file = generateSloRules(reg);
    expect(file.groups).toHaveLength(Object.keys(DEFAULT_SLO_OPERATIONS).length + 1);
    expect(groupOf(file, 'search_query').rules[1]!.expr).toBe('vector(0.5)');
    expect(groupOf(file, 'checkout').rules[1]!.expr).toBe('vector(0.1)');
  });

  it('rejects invalid objectives, names, selectors and labels with IN002', () => {
    const ok = SloConfig.default();
    const cases: [() => unknown, string][] = [
      [() => generateSloRules({ 'bad-name': ok }), 'bad-name'],
      [() => generateSloRules({ x: { ...ok, targetAvailability: 1 } }), 'targetAvailability'],
      [() => generateSloRules({ x: { ...ok, targetLatencyMs: 0 } }), 'targetLatencyMs'],
      [() => generateSloRules({ x: { ...ok, budgetPeriodDays: Number.NaN } }), 'budgetPeriodDays'],
      [() => generateSloRules({}), 'No SLOs'],
      [() => generateSloRules(undefined, { selector: 'job="x"} or vector(1) #' }), 'selector'],
      [() => generateSloRules(undefined, { groupBy: ['le-bad'] }), 'groupBy'],
      [() => generateSloRules(undefined, { interval: 'often' }), 'interval'],
    ];
    for (const [fn, mention] of cases) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err, mention).toBeInstanceOf(IntegrationError);
      expect((err as IntegrationError).code).toBe('IN002');
      expect((err as IntegrationError).message).toContain(mention);
    }
  });

  it('renders plain YAML (no anchors or aliases) that parses back to the same rules', () => {
    const text = sloRulesYaml();
    expect(text.startsWith('# Generated by @fraiseql/observability')).toBe(true);
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parse(text)).toEqual(generateSloRules());
    // Deterministic: the same input gives the same bytes.
    expect(sloRulesYaml()).toBe(text);
  });
});

/** The `promtool test rules` scenario: series of one SLO and the alerts expected at a time. */
function unitTest(
  interval: string,
  series: Record<string, string>,
  alerts: { at: string; name: string; firing: unknown[] }[],
  exprs: { at: string; expr: string; samples: { labels: string; value: number }[] }[] = [],
) {
  return {
    interval,
    input_series: Object.entries(series).map(([s, values]) => ({ series: s, values })),
    alert_rule_test: alerts.map((a) => ({ eval_time: a.at, alertname: a.name, exp_alerts: a.firing })),
    ...(exprs.length
      ? {
          promql_expr_test: exprs.map((e) => ({ expr: e.expr, eval_time: e.at, exp_samples: e.samples })),
        }
      : {}),
  };
}

describe.skipIf(!promtool)('rules file under promtool', () => {
  it('passes `promtool check rules` (defaults and custom objectives with a selector)', () => {
    const files = {
      'default.yml': sloRulesYaml(),
      'custom.yml': sloRulesYaml(
        { checkout: { targetLatencyMs: 250, targetAvailability: 0.995, budgetPeriodDays: 0.5 } },
        { selector: 'job=~"fraiseql-.*"', groupBy: [] },
      ),
    };
    const r = runPromtool(() => ['check', 'rules', 'default.yml', 'custom.yml'], files);
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });

  it('fires the page and ticket alerts exactly when the budget burns fast enough (`promtool test rules`)', () => {
    const rules = generateSloRules({ search_query: SloConfig.search() });
    const annotations = (alert: string) =>
      groupOf(rules, 'search_query')
        .rules.filter(isAlert)
        .find((a) => a.alert === alert)!.annotations;
    const page = {
      severity: 'page',
      slo: 'search_query',
      provider: 'meilisearch',
    };
    const firing = (alert: 'FraiseqlSloBurnRatePage' | 'FraiseqlSloBurnRateTicket', severity: string) => [
      { exp_labels: { ...page, severity }, exp_annotations: annotations(alert) },
    ];
    const total = 'fraiseql_integration_search_query_total{provider="meilisearch", instance="a"}';
    const bad =
      'fraiseql_integration_search_query_slo_violations_total{provider="meilisearch", instance="a"}';
    const total2 = 'fraiseql_integration_search_query_total{provider="meilisearch", instance="b"}';
    const bad2 =
      'fraiseql_integration_search_query_slo_violations_total{provider="meilisearch", instance="b"}';
    const short = [
      // Outage: 10 % of queries miss the SLO (100x the allowed 0.1 %) on one of two instances.
      unitTest(
        '1m',
        { [total]: '0+600x80', [bad]: '0+120x80', [total2]: '0+600x80', [bad2]: '0+0x80' },
        [
          { at: '70m', name: 'FraiseqlSloBurnRatePage', firing: firing('FraiseqlSloBurnRatePage', 'page') },
          {
            at: '70m',
            name: 'FraiseqlSloBurnRateTicket',
            firing: firing('FraiseqlSloBurnRateTicket', 'ticket'),
          },
        ],
        [
          {
            at: '30m',
            expr: 'fraiseql:slo_error_ratio:rate5m',
            samples: [
              {
                labels: 'fraiseql:slo_error_ratio:rate5m{provider="meilisearch", slo="search_query"}',
                value: 0.1,
              },
            ],
          },
          {
            at: '30m',
            expr: 'fraiseql:slo_objective:ratio{slo="search_query"}',
            samples: [{ labels: 'fraiseql:slo_objective:ratio{slo="search_query"}', value: 0.999 }],
          },
        ],
      ),
      // A spike that is over: 1h still burns fast, the last 5m and 30m do not — no page.
      unitTest('1m', { [total]: '0+600x60', [bad]: '0+300x20 6000+0x40' }, [
        { at: '60m', name: 'FraiseqlSloBurnRatePage', firing: [] },
      ]),
    ];
    // Day-long scenarios are evaluated every 5m (a 1m interval over 3 days is slow and adds nothing).
    const long = [
      // Slow burn at 2x for three days: a ticket, never a page.
      unitTest('5m', { [total]: '0+3000x900', [bad]: '0+6x900' }, [
        {
          at: '3d',
          name: 'FraiseqlSloBurnRateTicket',
          firing: firing('FraiseqlSloBurnRateTicket', 'ticket'),
        },
        { at: '3d', name: 'FraiseqlSloBurnRatePage', firing: [] },
      ]),
      // Within budget (0.05 %): nothing.
      unitTest('5m', { [total]: '0+6000x900', [bad]: '0+3x900' }, [
        { at: '3d', name: 'FraiseqlSloBurnRateTicket', firing: [] },
        { at: '3d', name: 'FraiseqlSloBurnRatePage', firing: [] },
      ]),
    ];
    const r = runPromtool(() => ['test', 'rules', 'short.yml', 'long.yml'], {
      'rules.yml': sloRulesYaml({ search_query: SloConfig.search() }),
      'short.yml': stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: short }),
      'long.yml': stringify({ rule_files: ['rules.yml'], evaluation_interval: '5m', tests: long }),
    });
    expect(r.output).toContain('SUCCESS');
    expect(r.output).not.toContain('FAILED');
    expect(r.status, r.output).toBe(0);
  }, 120_000);

  it('only reads series matching the selector', () => {
    const alert = 'FraiseqlSloBurnRatePage';
    const others = 'fraiseql_integration_cache_get_slo_violations_total{provider="redis", job="other-app"}';
    const tests = [
      unitTest(
        '1m',
        {
          'fraiseql_integration_cache_get_total{provider="redis", job="other-app"}': '0+600x80',
          [others]: '0+300x80',
          'fraiseql_integration_cache_get_total{provider="redis", job="fraiseql-server"}': '0+600x80',
          'fraiseql_integration_cache_get_slo_violations_total{provider="redis", job="fraiseql-server"}':
            '0+0x80',
        },
        [{ at: '70m', name: alert, firing: [] }],
      ),
    ];
    const r = runPromtool(() => ['test', 'rules', 'tests.yml'], {
      'rules.yml': sloRulesYaml({ cache_get: SloConfig.cacheRead() }, { selector: 'job="fraiseql-server"' }),
      'tests.yml': stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests }),
    });
    expect(r.status, r.output).toBe(0);
  }, 120_000);
});
