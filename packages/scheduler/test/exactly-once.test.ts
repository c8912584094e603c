import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createSqlClient, quoteIdent, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { checkService, dropRedisPrefix, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../src/index.ts';

/** Stops the scheduler processes still running: SIGTERM, then SIGKILL after 5 s. */
async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      await Promise.race([once(c, 'exit'), sleep(5000).then(() => c.kill('SIGKILL'))]);
    }),
  );
}

const pg = await checkService('postgres');
const rd = await checkService('redis');
const CHILD = fileURLToPath(new URL('./fixtures/scheduler-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function startChild(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`scheduler child exited early (${code})`)));
  });
}

/** 4 scheduler processes on one store, a 1 s schedule, one process kill -9'd and restarted every 3 s. */
async function chaos(store: 'postgresql' | 'redis', sql: SqlClient, durationMs: number) {
  const schema = uniqueName('once');
  const queueName = 'ticks';
  const env = { DATABASE_URL: pg.url, REDIS_URL: rd.url, SCHEMA: schema, STORE: store };
  const queue = await createPostgresQueue({ sql, schema, pollIntervalMs: 60_000 });
  await sql.exec(`CREATE TABLE ${quoteIdent(schema)}.enqueue_log (tick bigint NOT NULL, pid int NOT NULL)`);
  const redis = store === 'redis' ? new Redis(rd.url) : null;
  const admin = await createScheduler({ queue, store: redis ?? sql, schema, prefix: `${schema}:` });
  const children: ChildProcess[] = [];
  try {
    children.push(...(await Promise.all([1, 2, 3, 4].map(() => startChild(env)))));
    await admin.upsert({ id: 'every-second', everyMs: 1000, queue: queueName, data: { ping: true } });
    const from = Date.now();
    let kills = 0;
    while (Date.now() - from < durationMs) {
      await sleep(3000);
      const i = kills % children.length;
      const victim = children[i] as ChildProcess;
      victim.kill('SIGKILL');
      await once(victim, 'exit');
      kills++;
      children[i] = await startChild(env);
    }
    const to = Date.now();
    await sleep(4500); // > lease + a sweep: claims the victims left unfinished are re-enqueued
    await admin.remove('every-second');
    const jobs = await sql.query<{ tick: string; n: number }>(
      `SELECT split_part(dedup_key, ':', 3) AS tick, count(*)::int AS n FROM ${quoteIdent(schema)}.jobs WHERE queue = $1 GROUP BY 1`,
      [queueName],
    );
    const perTick = new Map(jobs.rows.map((r) => [Number(r.tick), r.n]));
    const calls = await sql.query<{ tick: number; n: number }>(
      `SELECT tick, count(*)::int AS n FROM ${quoteIdent(schema)}.enqueue_log GROUP BY 1`,
    );
    // Every tick strictly inside the window (the edges race with the upsert and the end).
    const expected: number[] = [];
    for (let t = Math.ceil((from + 1000) / 1000) * 1000; t <= to - 1000; t += 1000) expected.push(t);
    const missing = expected.filter((t) => !perTick.has(t));
    const twice = [...perTick].filter(([, n]) => n > 1);
    const reEnqueued = calls.rows.filter((r) => r.n > 1).length;
    return { expected, missing, twice, kills, reEnqueued, schema };
  } finally {
    await stopChildren(children);
    await admin.stop();
    await queue.close();
    if (redis) {
      await dropRedisPrefix(redis, `${schema}:`);
      await redis.quit();
    }
    await sql.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  }
}

describe.skipIf(!pg.available || !rd.available)('exactly once across scheduler processes', () => {
  let sql: SqlClient;
  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error('build @fraiseql/scheduler first (the children run dist/)');
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.close();
  });

  it('Postgres store: 4 processes, kill -9 every 3 s for ~27 s: every tick enqueued once, none missed', {
    timeout: 45_000,
  }, async () => {
    const r = await chaos('postgresql', sql, 27_000);
    expect(r.expected.length).toBeGreaterThanOrEqual(20);
    expect(r.missing).toEqual([]);
    expect(r.twice).toEqual([]);
    // A second enqueue call only comes from taking over a victim's unfinished claim (deduped by the queue).
    expect(r.reEnqueued).toBeLessThanOrEqual(r.kills);
  });

  it('a tick claimed ahead by a process killed before its instant fires once, from another process, a lease after it', {
    timeout: 40_000,
  }, async () => {
    const schema = uniqueName('ahead');
    const env = { DATABASE_URL: pg.url, REDIS_URL: rd.url, SCHEMA: schema, STORE: 'postgresql' };
    const queue = await createPostgresQueue({ sql, schema, pollIntervalMs: 60_000 });
    await sql.exec(
      `CREATE TABLE ${quoteIdent(schema)}.enqueue_log (tick bigint NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
    const admin = await createScheduler({ queue, store: sql, schema });
    const children: ChildProcess[] = [];
    try {
      // A claims 3 s ahead: its claim of a 4 s tick exists well before the instant.
      const a = await startChild({ ...env, CLAIM_AHEAD_MS: '3000' });
      children.push(a);
      await admin.upsert({ id: 'ahead', everyMs: 4000, queue: 'ticks' });
      let tick = 0;
      const until = Date.now() + 15_000;
      while (tick === 0 && Date.now() < until) {
        const r = await sql.query<{ tick: string; owner: string; claimed_ms: string }>(
          `SELECT tick, owner, claimed_ms FROM ${quoteIdent(schema)}.scheduler_claims WHERE schedule_id = 'ahead' AND tick > $1`,
          [Date.now() + 1000],
        );
        const row = r.rows[0];
        if (row) {
          a.kill('SIGKILL'); // before the instant: A never fires it
          expect(row.owner).toContain(`:${a.pid}:`);
          // The lease runs from the instant, not from the claim.
          expect(Number(row.claimed_ms)).toBe(Number(row.tick));
          tick = Number(row.tick);
        } else await sleep(20);
      }
      expect(tick).toBeGreaterThan(0);
      await once(a, 'exit');
      const b = await startChild(env);
      children.push(b);
      // B loses the claim, then takes it over once the lease (2 s) from the instant has passed.
      const seen = async () =>
        (
          await sql.query<{ pid: number; at: Date }>(
            `SELECT pid, at FROM ${quoteIdent(schema)}.enqueue_log WHERE tick = $1`,
            [tick],
          )
        ).rows;
      const deadline = tick + 8000;
      while ((await seen()).length === 0 && Date.now() < deadline) await sleep(100);
      await sleep(1500); // a second enqueue, if any, would show up meanwhile
      const calls = await seen();
      expect(calls.map((c) => c.pid)).toEqual([b.pid]);
      expect(new Date(calls[0]?.at as Date).getTime()).toBeGreaterThanOrEqual(tick + 2000);
      const jobs = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.jobs WHERE queue = 'ticks' AND dedup_key = $1`,
        [`schedule:ahead:${tick}`],
      );
      expect(jobs.rows[0]?.n).toBe(1);
    } finally {
      await stopChildren(children);
      await admin.stop();
      await queue.close();
      await sql.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    }
  });

  it('Redis store: the same with 4 processes for ~12 s', { timeout: 35_000 }, async () => {
    const r = await chaos('redis', sql, 12_000);
    expect(r.expected.length).toBeGreaterThanOrEqual(8);
    expect(r.missing).toEqual([]);
    expect(r.twice).toEqual([]);
    expect(r.reEnqueued).toBeLessThanOrEqual(r.kills);
  });
});
