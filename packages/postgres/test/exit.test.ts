import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { pgService, tempDir } from './helpers.ts';

const dir = tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));

it('lets the process exit by itself once every client is closed', async () => {
  const script = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));
  const args = [script, dir, ...(pgService.available ? [pgService.url] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // A handle left open keeps the child alive; the watchdog turns that into a failure, not a hang.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(watchdog);
  expect({ code, signal, out: out.trim().split('\n').pop() }).toEqual({
    code: 0,
    signal: null,
    out: 'closed',
  });
}, 120_000);
