import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fraiseql/testkit';

const SCRIPT = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));

export interface ChildConfig {
  url: string;
  prefix: string;
  queue: string;
  /** visibilityTimeoutMs of the child's provider. */
  lease: number;
  concurrency?: number;
  mode: 'hang' | 'sleep';
  minMs?: number;
  maxMs?: number;
  /** Worker.close timeout on SIGTERM. */
  closeTimeoutMs?: number;
}

export interface ChildEvent {
  ev: 'ready' | 'start' | 'end' | 'closed';
  id?: string;
  attempts?: number;
  data?: unknown;
  t?: number;
  /** Which child reported it. */
  child: number;
}

let nextChild = 0;
const live = new Set<ChildProcess>();

/** A worker process (test/fixtures/worker.mjs on the built package) and what it reported. */
export class WorkerChild {
  readonly n = ++nextChild;
  readonly proc: ChildProcess;
  readonly events: ChildEvent[];
  private stderr = '';
  private exited = false;

  constructor(cfg: ChildConfig, sink: ChildEvent[]) {
    this.events = sink;
    this.proc = spawn(process.execPath, [SCRIPT, JSON.stringify({ minMs: 0, maxMs: 0, ...cfg })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.proc);
    this.proc.once('exit', () => {
      this.exited = true;
      live.delete(this.proc);
    });
    let buffer = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) sink.push({ ...(JSON.parse(line) as Omit<ChildEvent, 'child'>), child: this.n });
        nl = buffer.indexOf('\n');
      }
    });
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Resolves once the child's worker is connected; fails with the child's stderr if it died. */
  async ready(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => {
        if (this.exited) throw new Error(`worker child ${this.n} exited early:\n${this.stderr}`);
        return this.events.some((e) => e.child === this.n && e.ev === 'ready');
      },
      timeoutMs,
      `worker child ${this.n} to be ready`,
    );
  }

  /** SIGKILL: no cleanup at all, like a crashed host. Resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM (graceful close in the child) and wait for it to exit. */
  async terminate(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    await gone;
  }
}

/** Kills every child still running (afterAll / afterEach). */
export async function killAllChildren(): Promise<void> {
  const waits = [...live].map(
    (proc) =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
