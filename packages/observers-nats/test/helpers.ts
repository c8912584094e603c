import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, servicesRequired, uniqueName } from '@fraiseql/testkit';
import { createNatsTransport, type NatsTransport, type NatsTransportOptions } from '../src/index';

export const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
export const natsAvailable = await canConnect(NATS_URL, 4222);
if (!natsAvailable && servicesRequired())
  throw new Error(`FRAISEQL_REQUIRE_SERVICES=1 but NATS is not reachable at ${NATS_URL}`);

/** Stream, subject prefix and durable of one test only. */
export function names(): { stream: string; subjectPrefix: string; durable: string } {
  const id = uniqueName('t');
  return { stream: `S_${id}`, subjectPrefix: `fq.${id}`, durable: `d_${id}` };
}

/** Transports made here are closed and their streams deleted by `cleanup()`. */
export class Transports {
  private readonly open: NatsTransport[] = [];
  private readonly streams = new Set<string>();
  async make(opts: Partial<NatsTransportOptions> = {}): Promise<NatsTransport> {
    const t = await createNatsTransport({ servers: NATS_URL, ...opts });
    this.open.push(t);
    this.streams.add(t.stream);
    return t;
  }
  /** A stream created by a child process, deleted by `cleanup()`. */
  track(stream: string): void {
    this.streams.add(stream);
  }
  async cleanup(servers = NATS_URL): Promise<void> {
    for (const t of this.open.splice(0)) await t.close().catch(() => undefined);
    if (this.streams.size === 0) return;
    const admin = await createNatsTransport({
      servers,
      stream: 'CLEANUP',
      subjectPrefix: 'cleanup.x',
      durable: 'cleanup',
    }).catch(() => undefined);
    if (!admin) return;
    for (const s of [...this.streams, 'CLEANUP']) await admin.jsm.streams.delete(s).catch(() => undefined);
    this.streams.clear();
    await admin.close();
  }
}

export async function until(
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A nats-server of the test's own; `restart()` on the same port and store dir. */
export async function ownNatsServer(): Promise<{
  url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nats-js-'));
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('nats-server', ['-js', '-sd', dir, '-p', String(port), '-a', '127.0.0.1'], {
      stdio: 'ignore',
    });
    await until(() => canConnect(url, port, 200), 10_000, 'nats-server to listen');
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    kill,
    restart: start,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  stderr: () => string;
}

/** A fixture process; `ready` once it prints `ready`. */
export function spawnFixture(file: string, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) resolve();
    });
    proc.once('exit', (code, signal) =>
      reject(new Error(`${file} exited before ready (${code ?? signal}): ${stderr}`)),
    );
  });
  ready.catch(() => undefined);
  return { proc, ready, exited, stderr: () => stderr };
}

/** Every child spawned by a test, SIGKILLed in afterEach/afterAll whatever happened. */
export class Children {
  private readonly all = new Set<Child>();
  spawn(file: string, env: Record<string, string>): Child {
    const c = spawnFixture(file, env);
    this.all.add(c);
    c.exited.then(() => this.all.delete(c));
    return c;
  }
  async killAll(): Promise<void> {
    for (const c of [...this.all]) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
  }
}
