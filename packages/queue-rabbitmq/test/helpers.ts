import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { QueueCommonOptions } from '@fraiseql/core';
import { uniqueName } from '@fraiseql/testkit';
import { connect } from 'amqplib';
import { createRabbitQueue, type RabbitQueueOptions, type RabbitQueueProvider } from '../src/index';

const run = promisify(execFile);

/**
 * Providers opened by a test file and every queue name they were asked about, so `cleanup()` can
 * delete the broker objects (jobs, dlq, pause flag, delay rungs) of each queue afterwards.
 */
export class Tracker {
  readonly providers: RabbitQueueProvider[] = [];
  readonly queues = new Set<string>();
  /** A prefix of this test file's own, so even the shared control exchange is ours to delete. */
  readonly prefix = uniqueName('fraiseql_t');

  constructor(readonly url: string) {}

  /** A provider (this file's prefix) whose queue names are recorded for cleanup. */
  async create(opts: QueueCommonOptions & Partial<RabbitQueueOptions> = {}): Promise<RabbitQueueProvider> {
    const provider = await createRabbitQueue({ url: this.url, prefix: this.prefix, ...opts });
    this.providers.push(provider);
    const queues = this.queues;
    return new Proxy(provider, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (typeof args[0] === 'string' && prop !== 'on') queues.add(args[0]);
          return value.apply(target, args);
        };
      },
    });
  }

  async cleanup(): Promise<void> {
    if (this.providers.length === 0 && this.queues.size === 0) return;
    await Promise.allSettled(this.providers.splice(0).map((p) => p.close()));
    // A few connections side by side: a queue has 21 broker objects to delete, one RPC each.
    const queues = [...this.queues];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const janitor = await createRabbitQueue({ url: this.url, prefix: this.prefix });
        try {
          for (let q = queues.pop(); q !== undefined; q = queues.pop())
            await janitor.deleteQueue(q).catch(() => {});
        } finally {
          await janitor.close();
        }
      }),
    );
    const conn = await connect(this.url);
    try {
      const ch = await conn.createChannel();
      await ch.deleteExchange(`${this.prefix}.control`);
    } finally {
      await conn.close();
    }
  }
}

export interface Child {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (old or new) matching `pred`; rejects after `timeoutMs`. */
  waitLine(pred: (line: string) => boolean, timeoutMs: number, what: string): Promise<string>;
  kill(): void;
  exited: Promise<number | null>;
}

const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url));

/** Starts test/fixtures/worker.mjs (which imports the built dist) with `env`. */
export function spawnWorker(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const l of listeners) l(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitLine(pred, timeoutMs, what) {
      const found = lines.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for ${what}; child said:\n${lines.slice(-20).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const listener = (line: string) => {
          if (!pred(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
        child.once('exit', (code) => {
          if (!listeners.has(listener)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          reject(
            new Error(`worker exited (${code}) while waiting for ${what}:\n${lines.slice(-20).join('\n')}`),
          );
        });
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Erlang pids of the broker connections whose client-provided name contains `marker`. */
export async function connectionPids(marker: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
    timeout: 30_000,
  });
  return stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'));
}

/** Has the broker close these connections (as an operator would), all at once. */
export async function closeConnections(pids: string[]): Promise<void> {
  await Promise.all(
    pids.map((pid) =>
      run('rabbitmqctl', ['-q', 'close_connection', pid, 'fraiseql test: simulated hiccup'], {
        timeout: 30_000,
      }).catch(() => {}),
    ),
  );
}

/** True when rabbitmqctl can be used (it needs root or the broker's cookie). */
export async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['-q', 'list_connections', 'pid'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}
