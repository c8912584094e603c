import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One JSON object per stdout line of a fixture process (fixtures/*.mjs). */
export interface ChildEvent {
  ev: string;
  /** Which child said it (WorkerChild.n). */
  child: number;
  id?: string;
  attempts?: number;
  t?: number;
  [key: string]: unknown;
}

const live = new Set<ChildProcess>();
let hooked = false;

/** No fixture process may outlive the test process, whatever happened to its afterAll. */
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));
}

/**
 * A fixture process whose stdout lines are parsed as JSON events (other lines are kept in
 * `output`). `ready` resolves on the first `{"ev":"ready"}`, rejects if the process exits first.
 */
export class FixtureChild {
  static #next = 0;
  readonly n = FixtureChild.#next++;
  readonly proc: ChildProcess;
  readonly ready: Promise<ChildEvent>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly events: ChildEvent[] = [];
  stderr = '';
  output = '';
  readonly #listeners = new Set<(e: ChildEvent) => void>();

  constructor(
    script: string,
    env: Record<string, string>,
    onEvent?: (e: ChildEvent) => void,
    nodeArgs: string[] = [],
  ) {
    installExitHook();
    this.proc = spawn(process.execPath, [...nodeArgs, fixture(script)], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this.proc);
    this.proc.stdin!.on('error', () => {});
    this.proc.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + String(d)).slice(-20_000);
    });
    // 'close', not 'exit': by then every line the process wrote has been read.
    this.exited = new Promise((resolve) =>
      this.proc.once('close', (code, signal) => {
        live.delete(this.proc);
        resolve({ code, signal });
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('exit', (code, signal) =>
        reject(new Error(`${script} exited before ready (${code ?? signal}): ${this.stderr.slice(-3000)}`)),
      );
      createInterface({ input: this.proc.stdout! }).on('line', (line) => {
        let e: ChildEvent;
        try {
          e = { ...(JSON.parse(line) as object), child: this.n } as ChildEvent;
        } catch {
          this.output = (this.output + line + '\n').slice(-20_000);
          return;
        }
        if (e.ev === 'ready') resolve(e);
        this.events.push(e);
        onEvent?.(e);
        for (const l of this.#listeners) l(e);
      });
    });
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the first event (already seen or coming) matching `pred`; rejects after `timeoutMs`. */
  waitEvent(pred: (e: ChildEvent) => boolean, timeoutMs: number, what: string): Promise<ChildEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const listener = (e: ChildEvent) => {
        if (!pred(e)) return;
        done();
        resolve(e);
      };
      this.#listeners.add(listener);
      void this.exited.then(() => {
        if (!this.#listeners.has(listener)) return;
        done();
        reject(new Error(`process exited while waiting for ${what}: ${this.stderr.slice(-2000)}`));
      });
    });
  }

  /** Writes one line to the child's stdin (fixtures that take commands). */
  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** SIGKILLs every fixture process still running (afterAll of every file). */
export async function killAllChildren(): Promise<void> {
  const waits = [...live].map(
    (proc) =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
