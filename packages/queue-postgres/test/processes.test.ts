import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, type PostgresQueue } from '../src/index.ts';
import { type ChildEvent, WorkerChild } from './children.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('queue-postgres across processes (server)', () => {
  const schema = uniqueName('qp');
  let sql: SqlClient;
  let queue: PostgresQueue;
  let children: WorkerChild[] = [];
  const events: ChildEvent[] = [];
  const spawnWorker = (env: Record<string, string>) => {
    const c = new WorkerChild({ DB_URL: pg.url, SCHEMA: schema, ...env }, (e) => events.push(e));
    children.push(c);
    return c;
  };

  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
    queue = await createPostgresQueue({
      sql,
      schema,
      visibilityTimeoutMs: 1000,
      pollIntervalMs: 200,
      queueDefaults: { maxRetries: 20, retryDelayMs: 10 },
    });
  });
  afterEach(async () => {
    await Promise.all(children.map((c) => c.kill()));
    children = [];
    events.length = 0;
  });
  afterAll(async () => {
    await queue?.close();
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  it('redelivers a job whose worker was SIGKILLed mid-handler, with its data, after the lease', async () => {
    const name = uniqueName('kill');
    const id = await queue.enqueue(name, { order: 42, note: 'ünïcode' });
    const child = spawnWorker({ QUEUE: name, MODE: 'hang', VT_MS: '1000' });
    await child.ready;
    await waitFor(
      () => events.some((e) => e.kind === 'start' && e.id === id),
      15_000,
      'the child to take the job',
    );
    await child.kill('SIGKILL');
    expect((await queue.getJob(name, id))?.state).toBe('running');

    const seen: { id: string; attempts: number; data: unknown }[] = [];
    const worker = queue.process(name, async (job) => {
      seen.push({ id: job.id, attempts: job.attempts, data: job.data });
    });
    try {
      await waitFor(() => seen.length > 0, 20_000, 'the job to be delivered again');
      expect(seen[0]).toEqual({ id, attempts: 2, data: { order: 42, note: 'ünïcode' } });
      await waitFor(async () => (await queue.getJob(name, id))?.state === 'completed', 10_000, 'completion');
    } finally {
      await worker.close();
    }
  });

  it('loses no job over 1,000 jobs while workers are SIGKILLed at random and restarted', async () => {
    const name = uniqueName('chaos');
    const total = 1000;
    const ids = new Set(
      await queue.enqueueMany(
        name,
        Array.from({ length: total }, (_, i) => ({ data: { i } })),
      ),
    );
    // Handlers of 0-80 ms on 3 × 8 slots: ~600 jobs/s, so the run lasts long enough for every kill.
    const env = { QUEUE: name, MODE: 'work', WORK_MS: '80', CONCURRENCY: '8', VT_MS: '1500' };
    for (let i = 0; i < 3; i++) spawnWorker(env);
    await Promise.all(children.map((c) => c.ready));
    const done = new Set<string>();
    const started = new Map<string, number>();
    let kills = 0;
    const deadline = Date.now() + 90_000;
    const countDone = () => {
      for (const e of events) {
        if (e.kind === 'done') done.add(e.id);
        else started.set(e.id, (started.get(e.id) ?? 0) + 1);
      }
      events.length = 0;
    };
    while (Date.now() < deadline) {
      await sleep(100 + Math.random() * 100);
      countDone();
      // Kills are driven by progress, not by the clock: six of them, each with jobs in flight,
      // spread over the run however fast this machine drains the queue.
      if (kills < 6 && done.size >= 100 * (kills + 1)) {
        const alive = children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (victim) {
          await victim.kill('SIGKILL');
          kills++;
          spawnWorker(env);
        }
      }
      const completed = Number(
        (
          await sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "${schema}"."jobs" WHERE queue = $1 AND state = 'completed'`,
            [name],
          )
        ).rows[0]!.n,
      );
      if (completed === total) break;
    }
    countDone();
    const rows = (
      await sql.query<{ state: string; n: number }>(
        `SELECT state, count(*)::int AS n FROM "${schema}"."jobs" WHERE queue = $1 GROUP BY state`,
        [name],
      )
    ).rows;
    const byState = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    const runTwice = [...started.values()].filter((n) => n > 1).length;
    console.log(
      `[queue-postgres chaos] ${total} jobs, ${kills} SIGKILLs: states ${JSON.stringify(byState)}, ${runTwice} jobs ran more than once`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    // The kills hit running handlers, and those jobs were delivered again.
    expect(runTwice).toBeGreaterThan(0);
    expect(byState).toEqual({ completed: total });
    for (const id of ids) expect(started.has(id) || done.has(id)).toBe(true);
  }, 120_000);

  it('pause stops two worker processes from taking jobs; resume restarts both', async () => {
    const name = uniqueName('pause');
    const a = spawnWorker({ QUEUE: name, MODE: 'work', CONCURRENCY: '2' });
    const b = spawnWorker({ QUEUE: name, MODE: 'work', CONCURRENCY: '2' });
    await Promise.all([a.ready, b.ready]);
    await queue.pause(name);
    const ids = await queue.enqueueMany(
      name,
      Array.from({ length: 10 }, (_, i) => ({ data: { i } })),
    );
    await sleep(1200); // a window in which nothing may start (several poll intervals, NOTIFYs sent)
    expect(events.filter((e) => e.kind === 'start')).toEqual([]);
    expect(await queue.queueLength(name)).toBe(10);
    await queue.resume(name);
    await waitFor(
      () => new Set(events.filter((e) => e.kind === 'done').map((e) => e.id)).size === 10,
      15_000,
      'all jobs after resume',
    );
    const byChild = new Set(events.filter((e) => e.kind === 'start').map((e) => e.child));
    expect(byChild.size).toBe(2);
    expect(new Set(events.filter((e) => e.kind === 'done').map((e) => e.id))).toEqual(new Set(ids));
  });

  it('4 processes × concurrency 8 compete for one queue and no job ever runs twice', async () => {
    const name = uniqueName('compete');
    const total = 400;
    const ids = await queue.enqueueMany(
      name,
      Array.from({ length: total }, (_, i) => ({ data: { i } })),
    );
    for (let i = 0; i < 4; i++) spawnWorker({ QUEUE: name, MODE: 'work', WORK_MS: '10', CONCURRENCY: '8' });
    await Promise.all(children.map((c) => c.ready));
    await waitFor(() => events.filter((e) => e.kind === 'done').length >= total, 60_000, 'every job done');
    const starts = events.filter((e) => e.kind === 'start');
    const perJob = new Map<string, number>();
    for (const s of starts) perJob.set(s.id, (perJob.get(s.id) ?? 0) + 1);
    expect(perJob.size).toBe(total);
    expect([...perJob.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(starts.map((s) => s.id))).toEqual(new Set(ids));
    expect(new Set(starts.map((s) => s.child)).size).toBeGreaterThan(1);
  }, 90_000);

  it('recovers from terminated connections: every acknowledged job is processed', async () => {
    const app = uniqueName('hiccup');
    const name = uniqueName('hiccup');
    // Connections of this test only carry this application_name, so other suites are not touched.
    const own = await createSqlClient({ url: pg.url, poolOptions: { application_name: app } });
    const q = await createPostgresQueue({
      sql: own,
      schema,
      visibilityTimeoutMs: 1000,
      pollIntervalMs: 200,
      queueDefaults: { maxRetries: 20, retryDelayMs: 10 },
    });
    const processed = new Set<string>();
    const errors: unknown[] = [];
    const worker = q.process(
      name,
      async (job) => {
        processed.add(job.id);
      },
      { concurrency: 4 },
    );
    worker.on('error', (e) => errors.push(e));
    const acknowledged = new Set<string>();
    const producerErrors: { code?: string }[] = [];
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing && i < 400; i++) {
        try {
          acknowledged.add(await q.enqueue(name, { i }));
        } catch (err) {
          producerErrors.push(err as { code?: string });
        }
        if (i % 20 === 0) await sleep(5);
      }
    })();
    let terminated = 0;
    try {
      for (let round = 0; round < 4; round++) {
        await sleep(150);
        const r = await sql.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
          [app],
        );
        terminated += r.rowCount;
      }
      expect(terminated).toBeGreaterThan(0);
      await producer;
      producing = false;
      await waitFor(
        () => [...acknowledged].every((id) => processed.has(id)),
        30_000,
        'every acknowledged job processed',
      );
      for (const e of [...producerErrors, ...(errors as { code?: string }[])])
        expect(e.code, String(e)).toMatch(/^IN(405|5\d\d)$/);
      expect(acknowledged.size).toBeGreaterThan(300);
    } finally {
      producing = false;
      await worker.close({ timeoutMs: 2000 });
      await q.close();
      await own.close();
    }
  }, 60_000);
});

describe('queue-postgres on PGlite survives a process crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-pglite-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a job taken by a SIGKILLed process runs again when the directory is reopened', async () => {
    const schema = '_system';
    const name = uniqueName('crash');
    // The child owns the embedded database while it lives (one process per directory).
    const events: ChildEvent[] = [];
    let sql = await createSqlClient({ embeddedDir: dir });
    let queue = await createPostgresQueue({ sql, schema });
    const id = await queue.enqueue(name, { keep: 'me' });
    await queue.close();
    await sql.close();

    const child = new WorkerChild(
      { PGLITE_DIR: dir, SCHEMA: schema, QUEUE: name, MODE: 'hang', VT_MS: '500' },
      (e) => events.push(e),
    );
    await child.ready;
    await waitFor(
      () => events.some((e) => e.kind === 'start' && e.id === id),
      20_000,
      'the child to take the job',
    );
    await child.kill('SIGKILL');

    sql = await createSqlClient({ embeddedDir: dir });
    queue = await createPostgresQueue({ sql, schema, visibilityTimeoutMs: 500 });
    const seen: unknown[] = [];
    const worker = queue.process(name, async (job) => {
      seen.push({ id: job.id, data: job.data, attempts: job.attempts });
    });
    try {
      await waitFor(() => seen.length > 0, 20_000, 'redelivery after reopening');
      expect(seen[0]).toEqual({ id, data: { keep: 'me' }, attempts: 2 });
    } finally {
      await worker.close();
      await queue.close();
      await sql.close();
    }
  }, 60_000);
});
