import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const READER = fileURLToPath(new URL('./fixtures/reader.mjs', import.meta.url));

export interface Reader {
  proc: ChildProcess;
  /** Sends `read` and resolves to the rows and stats it printed. */
  read(): Promise<{ rows: unknown[]; stats: { hits: number; misses: number } }>;
  stop(): Promise<void>;
}

export async function spawnReader(env: Record<string, string>): Promise<Reader> {
  const proc = spawn(process.execPath, [READER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buf = '';
  let err = '';
  const waiters: ((line: string) => void)[] = [];
  proc.stderr?.on('data', (d) => {
    err += String(d);
  });
  proc.stdout?.on('data', (d) => {
    buf += String(d);
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiters.shift()?.(line);
      i = buf.indexOf('\n');
    }
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`reader timed out: ${err}`)), 15_000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  const ready = next();
  proc.once('exit', (code) => {
    if (code !== 0 && code !== null) err += `exit ${code}`;
  });
  if ((await ready) !== 'ready') throw new Error(`reader failed: ${err}`);
  return {
    proc,
    read: async () => {
      const line = next();
      proc.stdin?.write('read\n');
      const [, rows, stats] = (await line).split(' ');
      return { rows: JSON.parse(rows ?? '[]'), stats: JSON.parse(stats ?? '{}') };
    },
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.stdin?.write('exit\n');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      await exited;
    },
  };
}
