import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));

export interface ChildEvent {
  kind: 'start' | 'done';
  id: string;
  attempts?: number;
  data?: unknown;
  at: number;
  child: number;
}

/** A worker process (test/fixtures/worker.mjs) whose stdout lines are parsed into events. */
export class WorkerChild {
  static #next = 0;
  readonly n = WorkerChild.#next++;
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  stderr = '';

  constructor(env: Record<string, string>, onEvent: (e: ChildEvent) => void) {
    this.proc = spawn(process.execPath, [WORKER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stderr!.on('data', (d) => {
      this.stderr += String(d);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('exit', (code, signal) =>
        reject(new Error(`worker exited before ready (${code ?? signal}): ${this.stderr}`)),
      );
      createInterface({ input: this.proc.stdout! }).on('line', (line) => {
        const [kind, id, ...rest] = line.split(' ');
        if (kind === 'ready') resolve();
        else if (kind === 'start') {
          const at = Number(rest.pop());
          onEvent({
            kind,
            id: id!,
            attempts: Number(rest[0]),
            data: JSON.parse(rest.slice(1).join(' ')),
            at,
            child: this.n,
          });
        } else if (kind === 'done') onEvent({ kind, id: id!, at: Number(rest[0]), child: this.n });
      });
    });
    this.ready.catch(() => {});
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}
