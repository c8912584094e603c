import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe } from './helpers.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/flows/order-sync/run.mjs', import.meta.url));

describe('serve runs configured flows', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const d = mkdtempSync(join(tmpdir(), 'serve-flows-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('starts [flows.*] of fraiseql.toml on the embedded providers', async () => {
    const cwd = scratch();
    writeFileSync(
      join(cwd, 'fraiseql.toml'),
      `[flows.echo]
source = { type = "http" }
steps = [
  { type = "transform", name = "shape", mapping = { order = "$.id", kind = "echo" } },
  { type = "deliver", name = "out", to = { queue = "echoed" } },
]
`,
    );
    const s = await startServe(['--port', '0', '--no-worker'], { cwd, env: { FRAISEQL_API_TOKEN: '' } });
    try {
      for (let i = 0; i < 50 && !/flows running/.test(s.output()); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(s.output()).toMatch(/flows running: echo/);
      const post = await fetch(`${s.url}/flows/echo/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'o-7' }),
      });
      expect(post.status).toBe(202);
      let jobs: { data: unknown }[] = [];
      for (let i = 0; i < 100 && jobs.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        jobs = ((await (await fetch(`${s.url}/queues/echoed/jobs`)).json()) as { jobs: typeof jobs }).jobs;
      }
      expect(jobs.map((j) => j.data)).toEqual([{ order: 'o-7', kind: 'echo' }]);
      const status = await (await fetch(`${s.url}/flows/echo`)).json();
      expect(status).toMatchObject({ name: 'echo', state: 'running', processed: 1 });
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 90_000);

  it('refuses to start with a bad flows file, listing every problem (exit 2)', () => {
    const cwd = scratch();
    writeFileSync(
      join(cwd, 'flows.yaml'),
      `flows:
  a:
    source: { type: http }
    steps: [{ type: teleport, name: x }]
  b:
    source: { type: http }
    steps: [{ type: deliver, name: d, to: { connector: nowhere } }]
`,
    );
    const r = spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL('../dist/bin.js', import.meta.url)),
        'serve',
        '--port',
        '0',
        '--flows',
        'flows.yaml',
      ],
      { cwd, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/IN002/);
    expect(r.stderr).toMatch(/flows\.a:.*teleport/);
    expect(r.stderr).toMatch(/flows\.b:.*nowhere/);
  }, 90_000);

  it("examples/flows/order-sync runs the seed's flow end to end", () => {
    const r = spawnSync(process.execPath, [EXAMPLE], { encoding: 'utf8', timeout: 110_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/high-value-orders\s+o-1\s+total=2500\s+customer=Ada Lovelace \(gold\)/);
    expect(r.stdout).toMatch(/regular-orders\s+o-3\s+total=999.99/);
    expect(r.stdout).toMatch(/failed-orders\s+o-5\s+step=validate-order/);
    expect(r.stdout).toMatch(/every order landed where it should/);
  }, 120_000);
});
