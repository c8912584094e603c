import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type PgQueue, pg, pgQueue, until } from './helpers';

const WORKER = fileURLToPath(new URL('./fixtures/flow-worker.mjs', import.meta.url));
const MESSAGES = 400;

function spawnWorker(env: Record<string, string>): {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
} {
  const proc = spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      if (out.includes('ready')) resolve();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, sig) =>
      reject(new Error(`worker exited before ready (${code ?? sig}): ${out}`)),
    );
  });
  ready.catch(() => undefined);
  return { proc, ready, exited };
}

describe.skipIf(!pg.available)('a SIGKILLed flow process loses no message', () => {
  let q: PgQueue;
  afterAll(async () => q?.close());

  it(`${MESSAGES} messages, workers killed mid-run, a restarted one finishes`, async () => {
    // The worker runs the built package.
    expect(existsSync(new URL('../dist/index.js', import.meta.url)), 'run the build first').toBe(true);
    q = await pgQueue();
    await q.sql.exec(
      `CREATE TABLE "${q.schema}".sink (id bigserial PRIMARY KEY, n int NOT NULL, pid int NOT NULL)`,
    );
    const env = { DB_URL: pg.url, SCHEMA: q.schema };
    let produced = 0;
    const producer = (async () => {
      for (let i = 0; i < MESSAGES; i += 20) {
        await q.queue.enqueueMany(
          'in',
          Array.from({ length: 20 }, (_, j) => ({ data: { n: i + j, pad: 'x' } })),
        );
        produced += 20;
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    let kills = 0;
    const count = async () =>
      (await q.sql.query<{ c: number }>(`SELECT count(DISTINCT n)::int AS c FROM "${q.schema}".sink`)).rows[0]
        ?.c ?? 0;
    while (kills < 3 || produced < MESSAGES) {
      const w = spawnWorker(env);
      await w.ready;
      await until(async () => (await count()) > 0 || produced >= MESSAGES, 10_000, 'progress');
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
      w.proc.kill('SIGKILL');
      await w.exited;
      kills++;
    }
    await producer;
    const beforeLast = await count();
    const last = spawnWorker(env);
    await last.ready;
    await until(
      async () => (await count()) === MESSAGES && (await q.queue.queueLength('in')) === 0,
      60_000,
      'drain',
    );
    last.proc.kill('SIGTERM');
    await last.exited;
    const { rows } = await q.sql.query<{ total: number; distinct: number; pids: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT n)::int AS distinct, count(DISTINCT pid)::int AS pids FROM "${q.schema}".sink`,
    );
    const r = rows[0] as { total: number; distinct: number; pids: number };
    console.info(
      `[flows crash] ${kills} kills, ${MESSAGES - r.distinct} lost, ${r.total - r.distinct} duplicates downstream, ${beforeLast} delivered before the last worker, ${r.pids} processes delivered`,
    );
    expect(r.distinct).toBe(MESSAGES);
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(r.total - r.distinct).toBeLessThanOrEqual(kills * 8 + 8); // at most what was in flight at each kill
  }, 120_000);
});
