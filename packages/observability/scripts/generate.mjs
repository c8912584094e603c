// Writes the committed artefacts under docker/ from the built package, so they never drift from
// the code (test/generated.test.ts fails when they do). Run: pnpm --filter @fraiseql/observability generate
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grafanaDashboard, observerRulesYaml, sloRulesYaml } from '../dist/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const write = (path, text) => {
  mkdirSync(dirname(root + path), { recursive: true });
  writeFileSync(root + path, text);
  console.log(`wrote ${path}`);
};
write('docker/prometheus/rules/fraiseql-slo.rules.yml', sloRulesYaml());
write('docker/prometheus/rules/fraiseql-observers.rules.yml', observerRulesYaml());
write('docker/grafana/dashboards/fraiseql.json', `${JSON.stringify(grafanaDashboard(), null, 2)}\n`);
