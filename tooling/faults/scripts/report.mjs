#!/usr/bin/env node
// Writes the figures kept in results.json into RELIABILITY.md (between the
// `<!-- faults:figures:start -->` and `<!-- faults:figures:end -->` markers), so the published
// numbers are always those of a run anyone can repeat: `pnpm test:faults`, then this script.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const results = JSON.parse(readFileSync(fileURLToPath(new URL('../results.json', import.meta.url)), 'utf8'));
const docPath = fileURLToPath(new URL('../../../RELIABILITY.md', import.meta.url));
const START = '<!-- faults:figures:start -->';
const END = '<!-- faults:figures:end -->';

const SCENARIOS = [
  ['crash-matrix', '1. Crash matrix — workers SIGKILLed at random, then replaced'],
  ['backend-faults', '2. Backend faults under load'],
  ['cache-faults', '3. Cache under faults'],
  ['http-abuse', '4. HTTP abuse of the server'],
  ['injection', '5. Injection'],
  ['secrets', '6. Secrets'],
  ['soak', '7. Soak'],
];

const entries = Object.values(results.results);
const runs = [...new Set(entries.map((e) => e.run))];
const cell = (v) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const lines = [];
lines.push(
  `Run${runs.length > 1 ? 's' : ''}: ${runs.map((r) => `\`${r}\``).join(', ')} (results.json, updated ${results.updatedAt}).`,
  '',
);

const crash = entries.filter((e) => e.scenario === 'crash-matrix');
if (crash.length) {
  lines.push(
    '| backend | jobs | workers × concurrency | kills | jobs held by killed workers | **lost** | ran more than once | recovered (max / p50) | all done in |',
    '|---|---:|---|---:|---:|---:|---:|---|---:|',
  );
  for (const e of crash) {
    const f = e.figures;
    lines.push(
      `| ${e.subject} | ${f.jobs} | ${f.workers} × ${f.concurrency} | ${f.kills} | ${f.jobsHeldByKilledWorkers} | **${f.lost}** | ${f.ranMoreThanOnce} | ${f.recoverMaxS} s / ${f.recoverP50S} s | ${f.elapsedS} s |`,
    );
  }
  lines.push('');
}

for (const [scenario, title] of SCENARIOS) {
  const mine = entries.filter((e) => e.scenario === scenario);
  if (!mine.length) continue;
  lines.push(`**${title}**`, '', '| subject | figures | mode |', '|---|---|---|');
  for (const e of mine) lines.push(`| ${cell(e.subject)} | ${cell(e.line)} | ${e.mode} |`);
  lines.push('');
}

const doc = readFileSync(docPath, 'utf8');
const a = doc.indexOf(START);
const b = doc.indexOf(END);
if (a < 0 || b < a) throw new Error(`RELIABILITY.md has no ${START} … ${END} section`);
writeFileSync(docPath, `${doc.slice(0, a + START.length)}\n${lines.join('\n')}\n${doc.slice(b)}`);
console.log(`RELIABILITY.md: figures of ${entries.length} results written`);
