#!/usr/bin/env node
// Reads a V8 .cpuprofile (from `node --cpu-prof`) and prints where the time went: self time per
// function, and inclusive time per package (node_modules/<pkg>, packages/<name>, node: internals),
// which is the flame graph folded by library — enough to see whose code a loss comes from.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof tooling/bench/scratch/whatever.mjs
//   node tooling/bench/profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--top 30] [--filter text]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' }, filter: { type: 'string' } },
  allowPositionals: true,
});
const top = Number(values.top);

function packageOf(url) {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/(packages|apps)\/([^/]+)\//.exec(url);
  if (m) return `@fraiseql/${m[2]}`;
  if (url.includes('/tooling/bench/')) return 'bench harness';
  return url;
}

for (const file of positionals) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map();
  const byPkgIncl = new Map();
  for (const [id, us] of self) {
    const n = nodes.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${packageOf(cf.url)}:${cf.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    // Inclusive per package: charge each package once per sample on the stack.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const p = packageOf(nodes.get(cur).callFrame.url);
      const fname = nodes.get(cur).callFrame.functionName;
      if (p === '(native/vm)' && (fname === '(root)' || fname === '(program)' || fname === '(idle)')) {
        seen.add(fname);
        continue;
      }
      seen.add(p);
    }
    for (const p of seen) byPkgIncl.set(p, (byPkgIncl.get(p) ?? 0) + us);
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  console.log('\n  self time by function');
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (values.filter && !k.includes(values.filter)) continue;
    console.log(`  ${pct(us)}  ${k}`);
  }
  console.log('\n  inclusive time by package (a sample counts for every package on its stack)');
  for (const [k, us] of [...byPkgIncl].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${pct(us)}  ${k}`);
  }
}
