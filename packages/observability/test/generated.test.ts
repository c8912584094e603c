import { readFileSync } from 'node:fs';
import {
  type QueueProvider,
  RESILIENCE,
  resilienceMetrics,
  SloRegistry,
  withResilience,
} from '@fraiseql/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateSloRules, grafanaDashboard, type RecordingRule, sloRulesYaml } from '../src/index';
import { promtool, runPromtool } from './promtool';

const repo = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');
// Grafana's variable reference, not a JS placeholder.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana syntax
const SLO_VAR = '${slo}';
const REGENERATE = 'out of date: run `pnpm --filter @fraiseql/observability generate`';

type Panel = {
  id: number;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
};
const panelsOf = (d: Record<string, unknown>) => d.panels as Panel[];
const exprsOf = (d: Record<string, unknown>) =>
  panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Every series name core registers when createIntegrations wires a registry, read from core itself. */
function coreMetricNames(): Set<string> {
  const registry = new Registry();
  new SloRegistry({ registry });
  resilienceMetrics(registry);
  // A queue wrapper registers the job metrics; its constructor only reads the backend's name.
  const stub = { name: 'stub', close: async () => {} } as unknown as QueueProvider;
  const wrapped = withResilience('queue', stub, { registry });
  expect(wrapped[RESILIENCE]).toBeDefined();
  const names = new Set<string>();
  for (const m of registry.getMetricsAsArray()) {
    const { name, type } = m as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

describe('committed artefacts', () => {
  it('docker/prometheus/rules/fraiseql-slo.rules.yml is sloRulesYaml() (golden file)', () => {
    expect(read('docker/prometheus/rules/fraiseql-slo.rules.yml'), REGENERATE).toBe(sloRulesYaml());
  });

  it('docker/grafana/dashboards/fraiseql.json is grafanaDashboard()', () => {
    expect(JSON.parse(read('docker/grafana/dashboards/fraiseql.json')), REGENERATE).toEqual(
      grafanaDashboard(),
    );
  });
});

describe('grafanaDashboard', () => {
  it('shows latency percentiles, error rate, budget remaining, burn rate, breaker state and queue depth', () => {
    const d = grafanaDashboard();
    const titles = panelsOf(d).map((p) => (p.type === 'row' ? `row:${(p as any).title}` : (p as any).title));
    for (const t of [
      'Latency percentiles',
      'Error ratio (errors + slow)',
      'Error budget remaining',
      'Burn rate',
      'Error rate',
      'Circuit breaker state',
      'Queue depth',
      'Failed jobs',
    ]) {
      expect(titles).toContain(t);
    }
    const slo = (d.templating as { list: { name: string; query: string }[] }).list.find(
      (v) => v.name === 'slo',
    )!;
    expect(slo.query.split(',')).toContain('search_query');
    expect(grafanaDashboard({ slos: ['checkout'] })).toMatchObject({
      templating: { list: [{}, { name: 'slo', query: 'checkout' }] },
    });
  });

  it('lays panels out without overlaps and with unique ids', () => {
    const panels = panelsOf(grafanaDashboard());
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `panel ${p.id} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it('queries only series that core exports or the SLO rules record', () => {
    const known = coreMetricNames();
    for (const g of generateSloRules().groups) {
      for (const r of g.rules) if ('record' in r) known.add((r as RecordingRule).record);
    }
    const used = new Set<string>();
    for (const expr of exprsOf(grafanaDashboard())) {
      // Per-SLO metric names are templated by the repeated row's `slo` variable.
      const concrete = expr.replaceAll(SLO_VAR, 'search_query');
      for (const m of concrete.matchAll(/\b(fraiseql[a-z_:0-9]*)/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(known, `${name} is not a metric anyone exports`).toContain(name);
  });

  it.skipIf(!promtool)('has queries that are valid PromQL (checked by promtool)', () => {
    const rules = exprsOf(grafanaDashboard()).map((expr, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr.replaceAll(SLO_VAR, 'search_query').replaceAll('$__rate_interval', '5m'),
    }));
    const r = runPromtool(() => ['check', 'rules', 'dashboard.yml'], {
      'dashboard.yml': stringify({ groups: [{ name: 'dashboard', rules }] }),
    });
    expect(r.status, r.output).toBe(0);
  });
});

describe('docker/prometheus/prometheus.yml', () => {
  it('scrapes the server on :8080 (with its token) and the worker on :9464 and loads the rules directory', () => {
    const config = parse(read('docker/prometheus/prometheus.yml'));
    expect(config.rule_files).toEqual(['rules/*.yml']);
    const targets = Object.fromEntries(
      config.scrape_configs.map((c: any) => [c.job_name, [c.metrics_path, c.static_configs[0].targets]]),
    );
    expect(targets['fraiseql-server']).toEqual(['/metrics', ['server:8080']]);
    expect(targets['fraiseql-worker']).toEqual(['/metrics', ['worker:9464']]);
    // The server's /metrics sits behind FRAISEQL_API_TOKEN.
    const server = config.scrape_configs.find((c: any) => c.job_name === 'fraiseql-server');
    expect(server.authorization).toEqual({
      type: 'Bearer',
      credentials_file: '/etc/prometheus/secrets/fraiseql-api-token',
    });
  });

  it.skipIf(!promtool)('passes `promtool check config`', () => {
    // --syntax-only: the token file it names exists only inside the Prometheus container.
    const r = runPromtool(
      () => ['check', 'config', '--syntax-only', new URL('docker/prometheus/prometheus.yml', repo).pathname],
      {},
    );
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });
});
