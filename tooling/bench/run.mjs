#!/usr/bin/env node
// `pnpm bench [--quick] [--only cache-redis,queue-postgres] [--no-build]`
//
// Builds the packages the benchmarks import (turbo, cached), then runs every suite in this one
// process, each comparison alternating ours and the peer on the same backend. Writes
// tooling/bench/results.json and the results table of BENCHMARKS.md (between its markers; the
// rest of that file is prose kept by hand). Benchmarks are not tests: nothing here fails on a
// slow number.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string', default: join(here, 'results.json') },
    markdown: { type: 'string', default: join(root, 'BENCHMARKS.md') },
    'no-markdown': { type: 'boolean', default: false },
  },
  allowPositionals: true,
  strict: false,
});

const SUITES = [
  'cache-memory',
  'cache-redis',
  'cache-postgres',
  'cache-tiered',
  'queue-postgres',
  'queue-redis',
  'queue-rabbitmq',
  'search-postgres',
  'reindex',
  'observers',
  'observers-nats',
  'query-cache',
  'flows',
  'scheduler',
  'connectors',
  'grpc',
  'server',
  'tracing',
];
const only = typeof args.only === 'string' ? args.only.split(',').map((s) => s.trim()) : undefined;
const selected = SUITES.filter((s) => !only || only.includes(s));

const startedAt = new Date();
const t0 = performance.now();
const log = (line) => console.log(line);
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

if (!args['no-build']) {
  log('building the benchmarked packages (turbo, cached)…');
  const r = spawnSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@fraiseql/bench^...', '--output-logs=errors-only'],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) {
    // A package another change left broken must not stop the whole run: its last dist is used.
    log('warning: the build failed; benchmarking the dists already on disk');
  }
}

const SERVICES = {
  postgres: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', port: 5432 },
  redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', port: 6379 },
  rabbitmq: { url: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', port: 5672 },
};

/** Whether host:port of a service URL accepts a TCP connection within a second. */
function reachable(url, defaultPort) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      return resolve(false);
    }
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port) || defaultPort });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const services = {};
for (const [name, s] of Object.entries(SERVICES)) {
  services[name] = { url: s.url, up: await reachable(s.url, s.port) };
}

const loadBefore = loadavg();
log(
  `fraiseql bench — ${args.quick ? 'quick' : 'full'} run, node ${process.version}, ${cpus().length} CPUs, ` +
    `load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`,
);
log(
  `services: ${Object.entries(services)
    .map(([n, s]) => `${n} ${s.up ? 'up' : 'DOWN'}`)
    .join(', ')}`,
);

const ctx = { quick: args.quick, log: (line) => log(line), services };
const rows = [];
const suiteTimes = {};
for (const name of selected) {
  const started = performance.now();
  log(`\n▶ ${name} (at ${elapsed()})`);
  const mod = await import(`./suites/${name}.mjs`);
  try {
    const got = await mod.run(ctx);
    for (const row of got) {
      rows.push(row);
      const ratio = row.ratio === null ? '—' : `${row.ratio.toFixed(2)}×`;
      log(
        `  ${row.benchmark} vs ${row.peerName}: ${ratio}` +
          (row.aim != null ? ` (aim ≥ ${row.aim})` : '') +
          (row.note ? ` — ${row.note}` : ''),
      );
    }
  } catch (err) {
    log(`  ✗ ${name} failed: ${err?.stack ?? err}`);
    rows.push({
      benchmark: `${name}: (suite failed)`,
      unit: '',
      ours: null,
      peer: null,
      peerName: '',
      ratio: null,
      higherIsBetter: true,
      aim: null,
      note: `suite failed: ${String(err?.message ?? err).split('\n')[0]}`,
    });
  }
  suiteTimes[name] = Math.round((performance.now() - started) / 1000);
}

const loadAfter = loadavg();
const meta = {
  mode: args.quick ? 'quick' : 'full',
  startedAt: startedAt.toISOString(),
  durationSeconds: Math.round((performance.now() - t0) / 1000),
  suiteSeconds: suiteTimes,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  loadAverageBefore: loadBefore.map((x) => Number(x.toFixed(2))),
  loadAverageAfter: loadAfter.map((x) => Number(x.toFixed(2))),
};

// results.json: the rows as the issue specifies them (extra keys after the required ones). A
// partial run (--only) merges into the previous file instead of dropping the other suites' rows.
let out = rows;
if (only && existsSync(args.out)) {
  try {
    const previous = JSON.parse(readFileSync(args.out, 'utf8'));
    const mine = new Set(selected);
    out = [...previous.filter((r) => !mine.has(suiteOf(r.benchmark))), ...rows];
    out.sort((a, b) => SUITES.indexOf(suiteOf(a.benchmark)) - SUITES.indexOf(suiteOf(b.benchmark)));
  } catch {
    // unreadable previous file: write this run's rows only
  }
}
writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
log(`\nwrote ${args.out} (${out.length} rows) in ${meta.durationSeconds} s`);

if (!args['no-markdown']) {
  const { previousRunLines, renderTable, replaceBetweenMarkers } = await import('./lib/markdown.mjs');
  const md = existsSync(args.markdown) ? readFileSync(args.markdown, 'utf8') : '';
  const table = renderTable(out, meta, { only: only && selected, previous: previousRunLines(md) });
  writeFileSync(args.markdown, replaceBetweenMarkers(md, table));
  log(`updated ${args.markdown}`);
}

function suiteOf(benchmark) {
  return String(benchmark).split(':')[0].trim();
}

// Providers and clients that keep sockets open must not keep the run alive once it is done.
process.exit(0);
