#!/usr/bin/env node
// `pnpm test`: every package's vitest run through turbo, then the fault suite (`pnpm test:faults`;
// skip it with `pnpm test --no-faults`), then one closing line for the whole repo
// ("N passed, N failed, N skipped"), summed from the JSON report each of them writes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const reportDirs = ['packages', 'apps', 'tooling']
  .flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(root, d, p)) : []))
  .filter((d) => existsSync(join(d, 'package.json')));
for (const d of reportDirs) rmSync(join(d, '.test-report.json'), { force: true });

// --continue: every package runs and reports even when one fails, so the closing line is complete.
const withFaults = !process.argv.includes('--no-faults');
const extra = process.argv.slice(2).filter((a) => a !== '--no-faults');
const args = ['exec', 'turbo', 'run', 'test', '--concurrency=2', '--continue', ...extra];
const r = spawnSync('pnpm', args, { cwd: root, stdio: 'inherit' });
const faultsDir = join(root, 'tooling', 'faults');
rmSync(join(faultsDir, '.test-report.json'), { force: true });
const faults =
  withFaults && existsSync(faultsDir)
    ? spawnSync('pnpm', ['test:faults'], { cwd: root, stdio: 'inherit' })
    : undefined;

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const d of reportDirs) {
  const f = join(d, '.test-report.json');
  const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test && !(withFaults && d === faultsDir)) continue;
  if (!existsSync(f)) {
    missing.push(pkg.name);
    continue;
  }
  const rep = JSON.parse(readFileSync(f, 'utf8'));
  passed += rep.numPassedTests ?? 0;
  // A suite that failed without a failed test (a file that did not load) still counts once.
  const failedTests = rep.numFailedTests ?? 0;
  failed += failedTests > 0 ? failedTests : (rep.numFailedTestSuites ?? 0);
  skipped += (rep.numPendingTests ?? 0) + (rep.numTodoTests ?? 0);
}
if (missing.length) console.log(`\nno test report from: ${missing.join(', ')}`);
const code = (r.status ?? 1) || (faults ? (faults.status ?? 1) : 0);
if (code !== 0 && failed === 0) failed = 1; // a package that crashed before reporting still fails the run
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
