import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway `redis-server` processes for tests that need a Redis of their own: one they can kill
 * and restart (outage tests) or several joined into a cluster (tooling/redis-cluster.ts). Nothing
 * is persisted (`--save "" --appendonly no`) and every process lives in its own temp dir.
 */

function findBinary(name: string): string {
  const dirs = ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin'];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? join('/usr/bin', name);
}

export const REDIS_SERVER_BIN = findBinary('redis-server');
export const REDIS_CLI_BIN = findBinary('redis-cli');

/** True when the redis-server binary this helper starts is installed. */
export function redisServerInstalled(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when nothing listens on 127.0.0.1:port (and we may bind it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A free loopback port in [20000, 50000). With `plusClusterBus`, port + 10000 (the cluster bus)
 * is free too. Random rather than port 0 so the cluster bus rule can be honoured.
 */
export async function freePort(opts: { plusClusterBus?: boolean; exclude?: number[] } = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (opts.exclude?.some((p) => p === port || p + 10000 === port || p === port + 10000)) continue;
    if (!(await portIsFree(port))) continue;
    if (opts.plusClusterBus && !(await portIsFree(port + 10000))) continue;
    return port;
  }
  throw new Error('no free loopback port found');
}

/**
 * Sends one command in RESP to 127.0.0.1:port and returns the raw reply text, or throws when
 * nothing answers within `timeoutMs`. Enough for PING / CLUSTER INFO without a client library.
 */
export function rawCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let out = '';
    const done = (err?: Error) => {
      socket.removeAllListeners();
      socket.destroy();
      if (err) reject(err);
      else resolve(out);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no reply from 127.0.0.1:${port} in ${timeoutMs} ms`)));
    socket.once('error', (err) => done(err));
    socket.on('data', (chunk) => {
      out += chunk.toString('utf8');
    });
    // QUIT after the command makes the server close the socket once both replies are written.
    socket.once('end', () => done());
    socket.once('connect', () => {
      const encode = (parts: string[]) =>
        `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
      socket.write(encode(args) + encode(['QUIT']));
    });
  });
}

/** Polls until `check` resolves true; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The temp dir the server runs in (removed by `stop`). */
  readonly dir: string;
  /** True while the child process runs. */
  readonly running: boolean;
  /** SIGKILLs the process (an outage, not a shutdown) and waits until it is gone. */
  kill(): Promise<void>;
  /** SIGSTOPs the process: the socket stays open but nothing answers (a hung server). */
  pause(): void;
  /** SIGCONTs a paused process. */
  resume(): void;
  /** Starts the server again on the same port after `kill`. */
  start(): Promise<void>;
  /** Kills the process and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** Port to listen on; default a free loopback port. */
  port?: number;
  /** Extra redis-server arguments (e.g. `['--cluster-enabled', 'yes']`). */
  args?: string[];
  /** Directory to run in; default a new temp dir that `stop` removes. */
  dir?: string;
  /** Longest wait for the server to answer PING. Default 10_000. */
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children must not outlive a test process that crashed before its afterAll ran. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Starts `redis-server` as a child process (not daemonized) and waits until it answers PING. */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServer> {
  if (!redisServerInstalled()) throw new Error(`redis-server is not installed at ${REDIS_SERVER_BIN}`);
  installExitHook();
  const port = opts.port ?? (await freePort());
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `fraiseql-redis-${port}-`));
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      ...(opts.args ?? []),
    ];
    const proc = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    // Keep the tail of the log for error messages; reading also keeps the pipe from filling up.
    let log = '';
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited: string | undefined;
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exited = `redis-server on port ${port} exited (code ${code}, signal ${signal}):\n${log}`;
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (exited) throw new Error(exited);
      const reply = await rawCommand(port, ['PING'], 500).catch(() => '');
      if (reply.startsWith('+PONG')) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(
          `redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms:\n${log}`,
        );
      }
      await sleep(50);
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await gone;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill,
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async start() {
      if (stopped) throw new Error('server was stopped');
      if (child) return;
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
