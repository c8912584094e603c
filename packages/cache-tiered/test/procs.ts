import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

export interface WorkerConfig {
  l2: 'redis' | 'postgresql';
  url: string;
  prefix: string;
  channel: string;
  schema?: string;
  seed?: number;
}

/** One child process running the built package, driven over IPC. */
export class Worker {
  readonly #child: ChildProcess;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  readonly ready: Promise<void>;

  constructor(cfg: WorkerConfig) {
    if (!existsSync(DIST))
      throw new Error(
        `${DIST} is missing: build first (pnpm turbo run build --filter=@fraiseql/cache-tiered)`,
      );
    this.#child = fork(WORKER, [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
      this.#child.on(
        'message',
        (m: {
          ready?: boolean;
          id?: number;
          ok?: boolean;
          value?: unknown;
          error?: { code?: string; message: string };
        }) => {
          if (m.ready) return resolve();
          const call = this.#calls.get(m.id!);
          if (!call) return;
          this.#calls.delete(m.id!);
          if (m.ok) call.resolve(m.value);
          else call.reject(Object.assign(new Error(m.error!.message), { code: m.error!.code }));
        },
      );
    });
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, op, args });
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    await this.call('close').catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function startWorkers(n: number, cfg: (i: number) => WorkerConfig): Promise<Worker[]> {
  const workers = Array.from({ length: n }, (_, i) => new Worker(cfg(i)));
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until true; throws naming `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
}
