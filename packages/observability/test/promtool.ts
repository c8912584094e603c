import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * promtool (Debian package `prometheus`; `PROMTOOL` overrides the path). Missing: loud skip of
 * the promtool tests (the YAML shape and golden-file tests still run), or a failure when
 * FRAISEQL_REQUIRE_SERVICES=1, as in CI.
 */
function findPromtool(): string | undefined {
  const bin = process.env.PROMTOOL || 'promtool';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return bin;
  const required =
    process.env.FRAISEQL_REQUIRE_SERVICES === '1' || process.env.FRAISEQL_REQUIRE_SERVICES === 'true';
  const why = `promtool not found (${bin}): install it with \`apt-get install -y prometheus\``;
  if (required) throw new Error(`${why} — FRAISEQL_REQUIRE_SERVICES=1 requires it`);
  console.warn(`\n!!! SKIPPING promtool tests: ${why}; only the YAML shape and golden-file checks run.\n`);
  return undefined;
}

export const promtool = findPromtool();

/** Runs promtool on files written to a fresh temporary directory (removed afterwards). */
export function runPromtool(
  args: (dir: string) => string[],
  files: Record<string, string>,
): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-promtool-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(promtool!, args(dir), { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
