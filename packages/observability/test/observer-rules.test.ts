import { readFileSync } from 'node:fs';
import { observerMetrics } from '@fraiseql/observers';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type AlertingRule, grafanaDashboard, observerAlertRules, observerRulesYaml } from '../src/index';
import { promtool, runPromtool } from './promtool';

const repo = new URL('../../../', import.meta.url);

describe('observer alert rules and panels', () => {
  it('docker/prometheus/rules/fraiseql-observers.rules.yml is observerRulesYaml() (golden file)', () => {
    expect(readFileSync(new URL('docker/prometheus/rules/fraiseql-observers.rules.yml', repo), 'utf8')).toBe(
      observerRulesYaml(),
    );
  });

  it('rules and panels only name series @fraiseql/observers registers', async () => {
    const registry = new Registry();
    observerMetrics(registry);
    const names = new Set<string>();
    for (const m of registry.getMetricsAsArray()) {
      const { name, type } = m as unknown as { name: string; type: string };
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    }
    const exprs = [
      ...observerAlertRules().groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...(grafanaDashboard().panels as { targets?: { expr: string }[] }[]).flatMap((p) =>
        (p.targets ?? []).map((t) => t.expr),
      ),
    ];
    const used = new Set(exprs.flatMap((e) => e.match(/\bobserver_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(8);
    for (const n of used) expect(names, `${n} is not registered by @fraiseql/observers`).toContain(n);
  });
});

describe.skipIf(!promtool)('observer rules under promtool', () => {
  it('pass `promtool check rules`', () => {
    const r = runPromtool(() => ['check', 'rules', 'observers.yml'], {
      'observers.yml': observerRulesYaml(),
    });
    expect(r.status, r.output).toBe(0);
  });

  it('HighActionFailureRate fires above 5 % for 5 m; ObserverNoLeader fires without a leader (`promtool test rules`)', () => {
    const tests = {
      rule_files: ['observers.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // 10 % of attempts fail.
            { series: 'observer_actions_executed_total{action="webhook"}', values: '0+90x20' },
            { series: 'observer_actions_failed_total{action="webhook"}', values: '0+10x20' },
            { series: 'observer_listener_leader{listener="a"}', values: '1x20' },
          ],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'HighActionFailureRate', exp_alerts: [] },
            {
              eval_time: '12m',
              alertname: 'HighActionFailureRate',
              exp_alerts: [
                {
                  exp_labels: { severity: 'page' },
                  exp_annotations: (observerAlertRules().groups[0]!.rules[0] as AlertingRule).annotations,
                },
              ],
            },
            { eval_time: '12m', alertname: 'ObserverNoLeader', exp_alerts: [] },
          ],
        },
        {
          interval: '1m',
          input_series: [
            // 2 % fail: below the threshold. The only leader stops leading at 5m.
            { series: 'observer_actions_executed_total{action="webhook"}', values: '0+98x20' },
            { series: 'observer_actions_failed_total{action="webhook"}', values: '0+2x20' },
            { series: 'observer_listener_leader{listener="a"}', values: '1x5 0x15' },
          ],
          alert_rule_test: [
            { eval_time: '12m', alertname: 'HighActionFailureRate', exp_alerts: [] },
            { eval_time: '6m', alertname: 'ObserverNoLeader', exp_alerts: [] },
            {
              eval_time: '12m',
              alertname: 'ObserverNoLeader',
              exp_alerts: [
                {
                  exp_labels: { severity: 'page' },
                  exp_annotations: (observerAlertRules().groups[0]!.rules[2] as AlertingRule).annotations,
                },
              ],
            },
          ],
        },
      ],
    };
    const r = runPromtool(() => ['test', 'rules', 'tests.yml'], {
      'observers.yml': observerRulesYaml(),
      'tests.yml': stringify(tests),
    });
    expect(r.status, r.output).toBe(0);
  });
});
