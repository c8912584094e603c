import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where every scenario's figures are kept, so RELIABILITY.md can be regenerated (scripts/report.mjs). */
export const RESULTS_FILE = fileURLToPath(new URL('../../results.json', import.meta.url));

/** `FRAISEQL_SOAK=1` (`pnpm test:faults --soak`): longer runs, more jobs, more kills. */
export const SOAK = process.env.FRAISEQL_SOAK === '1' || process.env.FRAISEQL_SOAK === 'true';

export type Figure = number | string | boolean | null;

export interface ResultEntry {
  scenario: string;
  subject: string;
  /** The one summary line printed for this result. */
  line: string;
  figures: Record<string, Figure>;
  mode: 'ci' | 'soak';
  /** Identifies one `pnpm test:faults` run (set by run.mjs); entries of older runs are kept. */
  run: string;
  at: string;
}

interface ResultsFile {
  updatedAt: string;
  results: Record<string, ResultEntry>;
}

function load(): ResultsFile {
  if (!existsSync(RESULTS_FILE)) return { updatedAt: '', results: {} };
  try {
    return JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as ResultsFile;
  } catch {
    return { updatedAt: '', results: {} };
  }
}

/**
 * Prints `[faults] <scenario> <subject>: <line>` and stores the figures under
 * `<scenario>/<subject>` in results.json. Files run one at a time (fileParallelism off), so a
 * read-modify-write is safe; the rename keeps a crash from leaving half a file.
 */
export function record(
  scenario: string,
  subject: string,
  figures: Record<string, Figure>,
  line: string,
): void {
  const text = `[faults] ${scenario} ${subject}: ${line}`;
  // stderr is not captured by vitest's per-test console buffering, so the line shows up even on failure.
  process.stderr.write(`${text}\n`);
  const file = load();
  const at = new Date().toISOString();
  file.results[`${scenario}/${subject}`] = {
    scenario,
    subject,
    line,
    figures,
    mode: SOAK ? 'soak' : 'ci',
    run: process.env.FRAISEQL_FAULTS_RUN ?? `adhoc-${at}`,
    at,
  };
  file.updatedAt = at;
  const tmp = `${RESULTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(tmp, RESULTS_FILE);
}
