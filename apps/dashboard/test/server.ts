import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real thing: `fraiseql-integrations serve` from the built CLI on embedded defaults (PGlite
 * under a temp dir, memory cache), on a free port, with a token and a handlers module whose
 * `flaky` queue fails until a flag file exists.
 */
const ROOT = new URL('../../..', import.meta.url).pathname;
const BIN = join(ROOT, 'apps/cli/dist/bin.js');

export interface Served {
  url: string;
  dir: string;
  token: string;
  /** Create it and `flaky` jobs succeed. */
  flag: string;
  /** `fetch` against the server with the token. */
  call(path: string, init?: { method?: string; body?: unknown; text?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Written to `fraiseql.toml` in the data dir (the serve command reads it from there). */
  config?: string;
  /** Written to `flows.json` and passed as `--flows`. */
  flows?: unknown;
  env?: Record<string, string>;
}

export async function serve(opts: ServeOptions = {}): Promise<Served> {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`pnpm build\` first (the test runs the real CLI)`);
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-dashboard-'));
  const flag = join(dir, 'flaky-ok');
  const handlers = join(dir, 'handlers.mjs');
  writeFileSync(
    handlers,
    `import { existsSync } from 'node:fs';
export const flaky = async () => {
  if (!existsSync(${JSON.stringify(flag)})) throw new Error('flaky handler: downstream is down');
  return { ok: true };
};
export const broken = async () => {
  throw new Error('broken handler: always fails');
};
`,
  );
  const token = `dash-${Math.random().toString(36).slice(2)}`;
  const args = [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--handlers', handlers];
  if (opts.config) writeFileSync(join(dir, 'fraiseql.toml'), opts.config);
  if (opts.flows) {
    writeFileSync(join(dir, 'flows.json'), JSON.stringify(opts.flows));
    args.push('--flows', join(dir, 'flows.json'));
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, ...opts.env, FRAISEQL_API_TOKEN: token, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      // A busy machine takes a while to open PGlite; a server that never says where it listens is killed.
      const timer = setTimeout(
        () => reject(new Error(`serve did not start in 90 s:\n${out}\n${err}`)),
        90_000,
      );
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}:\n${out}\n${err}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const call: Served['call'] = (path, init = {}) =>
    fetch(url + path, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.text !== undefined ? { 'content-type': 'text/plain' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : init.text,
    });
  return {
    url,
    dir,
    token,
    flag,
    call,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
