#!/usr/bin/env node
// `pnpm test:faults [--soak] [vitest args…]`: the reliability and security suite, then the
// figures of this run (also in results.json; `pnpm --filter @fraiseql/faults report` writes them
// into RELIABILITY.md). --soak (or FRAISEQL_SOAK=1) runs longer: more jobs and kills, a 10-minute soak.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const soak = args.includes('--soak') || process.env.FRAISEQL_SOAK === '1';
const rest = args.filter((a) => a !== '--soak' && a !== '--');
const run = `${soak ? 'soak' : 'ci'}-${new Date().toISOString()}`;
// A hard bound on the whole run: CI must never hang on a stuck scenario.
const limitMs = Number(process.env.FRAISEQL_FAULTS_LIMIT_MS ?? (soak ? 60 : 12) * 60_000);

const started = Date.now();
const child = spawn('pnpm', ['exec', 'vitest', 'run', '--config', 'vitest.config.ts', ...rest], {
  cwd: here,
  stdio: 'inherit',
  env: { ...process.env, FRAISEQL_SOAK: soak ? '1' : '0', FRAISEQL_FAULTS_RUN: run },
});
const timer = setTimeout(() => {
  console.error(`\n[faults] the run exceeded ${limitMs / 60_000} minutes: stopping it`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
}, limitMs);
const code = await new Promise((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
clearTimeout(timer);

const file = `${here}results.json`;
if (existsSync(file)) {
  const { results } = JSON.parse(readFileSync(file, 'utf8'));
  const mine = Object.values(results).filter((r) => r.run === run);
  console.log(
    `\n[faults] figures of this run (${soak ? 'soak' : 'ci'} mode, ${Math.round((Date.now() - started) / 1000)} s):`,
  );
  for (const r of mine) console.log(`[faults] ${r.scenario} ${r.subject}: ${r.line}`);
}
process.exit(code);
