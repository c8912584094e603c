// The generated part of BENCHMARKS.md: one table row per results.json row.
export const START = '<!-- bench:results:start -->';
export const END = '<!-- bench:results:end -->';

const num = (x) => {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  const abs = Math.abs(x);
  if (abs >= 100) return Math.round(x).toLocaleString('en-US');
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
};

const cell = (median, spread) =>
  median === null || median === undefined
    ? '—'
    : spread && spread.n > 1
      ? `${num(median)} <sub>(${num(spread.min)}–${num(spread.max)})</sub>`
      : num(median);

const escapeCell = (s) => String(s).replaceAll('|', '\\|');

function describeRun(meta) {
  return (
    `on ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC, node ${meta.node}, ${meta.cpus} × ${meta.cpuModel.trim()}, ` +
    `${meta.durationSeconds} s in total. Load average (1/5/15 min) ${meta.loadAverageBefore.join(' / ')} before, ` +
    `${meta.loadAverageAfter.join(' / ')} after`
  );
}

/** The "Run:" / "Re-run:" lines at the top of the generated block of `doc`, if any. */
export function previousRunLines(doc) {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a === -1 || b < a) return [];
  return doc
    .slice(a + START.length, b)
    .split('\n')
    .filter((l) => l.startsWith('Run: ') || l.startsWith('Re-run: '));
}

/**
 * The generated block. A partial run (`--only`) keeps the lines describing earlier runs and adds
 * one naming the suites it re-ran, since the table then mixes rows of both.
 */
export function renderTable(rows, meta, { only, previous = [] } = {}) {
  const lines = [];
  const full =
    `Run: \`pnpm bench${meta.mode === 'quick' ? ' --quick' : ''}\` ${describeRun(meta)} — ` +
    'other processes were running; every number below is the median of alternating rounds, ' +
    'with the slowest and fastest round in brackets.';
  if (only && previous.length > 0) {
    // A re-run of the same suites replaces the line of the earlier re-run.
    const superseded = (l) => {
      const m = /--only ([^`\s]+)/.exec(l);
      return l.startsWith('Re-run: ') && (m?.[1].split(',').every((s) => only.includes(s)) ?? false);
    };
    for (const l of previous) if (!superseded(l)) lines.push(l, '');
    lines.push(
      `Re-run: \`pnpm bench${meta.mode === 'quick' ? ' --quick' : ''} --only ${only.join(',')}\` ${describeRun(meta)}: ` +
        `the rows of ${only.join(', ')} come from this run.`,
    );
  } else {
    lines.push(full);
  }
  lines.push('');
  lines.push(
    '| Benchmark | Peer | Unit | Ours | Peer | Ratio | Aim | |',
    '|---|---|---|---:|---:|---:|---:|:-:|',
  );
  for (const r of rows) {
    const meets =
      r.ratio === null || r.ratio === undefined
        ? '—'
        : r.aim === null || r.aim === undefined
          ? 'report'
          : r.ratio >= r.aim
            ? '✅'
            : '❌';
    const unit = `${r.unit}${r.unit && r.higherIsBetter === false ? ' (lower is better)' : ''}`;
    const ratio =
      r.ratio === null || r.ratio === undefined
        ? r.note
          ? escapeCell(r.note)
          : '—'
        : `${r.ratio.toFixed(2)}×`;
    lines.push(
      `| ${escapeCell(r.benchmark)} | ${escapeCell(r.peerName)} | ${escapeCell(unit)} | ${cell(r.ours, r.oursSpread)} | ` +
        `${cell(r.peer, r.peerSpread)} | ${ratio} | ${r.aim === null || r.aim === undefined ? '—' : `≥ ${r.aim}`} | ${meets} |`,
    );
  }
  lines.push('');
  lines.push(
    'Ratio: ours ÷ peer for throughput (higher is better), peer ÷ ours for latency — so above 1 always ' +
      'means we do better, and every aim reads "ratio ≥ aim".',
  );
  return lines.join('\n');
}

export function replaceBetweenMarkers(doc, table) {
  const block = `${START}\n${table}\n${END}`;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a !== -1 && b > a) return doc.slice(0, a) + block + doc.slice(b + END.length);
  const head = doc.trim() ? `${doc.trimEnd()}\n\n` : '# Benchmarks\n\n';
  return `${head}## Results\n\n${block}\n`;
}
