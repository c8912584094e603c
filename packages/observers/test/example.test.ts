import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const EXAMPLE = fileURLToPath(new URL('../../../examples/observers/run.mjs', import.meta.url));

describe('examples/observers', () => {
  it('runs: a row insert becomes a signed webhook, an update runs the custom action', () => {
    const r = spawnSync(process.execPath, [EXAMPLE], { encoding: 'utf8', timeout: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('webhook big-order: INSERT Order o-1 total=1500 signature ok');
    expect(r.stdout).toContain('log: order o-1 is paid');
    expect(r.stdout).toMatch(/checkpoint \d+, leader \S+, DLQ 0/);
  }, 120_000);
});
