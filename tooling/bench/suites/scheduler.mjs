// @fraiseql/scheduler against pg-boss schedule() (Postgres) and BullMQ job schedulers (Redis),
// 10,000 schedules on one server each. What is comparable, and so what each row measures:
// - BullMQ: upsertJobScheduler(id, { every: 1000 }) — per-second schedules like ours (everyMs 1000),
//   sustained ticks/s and tick → job lag. BullMQ's next job exists only once a Worker promotes the
//   current one, so it runs a no-op Worker; its lag is read at pickup (processedOn − due time), ours
//   at the end of the enqueue (our jobs just sit in the queue: no worker).
// - pg-boss: cron is per minute at best (one job per schedule per minute slot), so both sides get
//   10,000 `* * * * *` schedules and one minute boundary is measured: how fast the burst of 10,000
//   jobs is enqueued (jobs/s) and the boundary → job lag p99. pg-boss runs its cron pass every
//   second (cronMonitorIntervalSeconds 1, cronWorkerIntervalSeconds 1: its fastest).
// - Idle CPU: 10,000 schedules that do not fire during the window (yearly cron), CPU of the process.
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { createScheduler } from '@fraiseql/scheduler';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { compare, percentile, unmeasured } from '../lib/harness.mjs';
import { dropRedisPrefix } from '../lib/redis.mjs';

export const name = 'scheduler';

const N = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wraps a QueueProvider to count enqueued ticks and their lag (the tick is in the dedup key). */
function counting(queue) {
  const state = {
    from: Number.POSITIVE_INFINITY,
    to: Number.POSITIVE_INFINITY,
    byTick: false,
    count: 0,
    lags: [],
    all: 0,
  };
  const note = (items) => {
    const at = Date.now();
    for (const it of items) {
      state.all++;
      const tick = Number(it.opts?.dedupKey?.split(':').pop());
      // Aligned runs count the ticks of one boundary; sustained runs every enqueue inside a
      // wall-clock window (the rate a backend that cannot keep up still reaches, and its lag).
      const inWindow = state.byTick
        ? tick >= state.from && tick < state.to
        : at >= state.from && at < state.to;
      if (inWindow) {
        state.count++;
        state.lags.push(at - tick);
      }
    }
  };
  const wrapped = Object.create(queue, {
    enqueue: {
      value: async (q, data, opts) => {
        const id = await queue.enqueue(q, data, opts);
        note([{ opts }]);
        return id;
      },
    },
    enqueueMany: {
      value: async (q, items) => {
        const ids = await queue.enqueueMany(q, items);
        note(items);
        return ids;
      },
    },
  });
  return { queue: wrapped, state };
}

async function dropSchema(url, schema) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await pool.end();
}

/** Ours: N schedules, started; measures the ticks due in [from, to) and their lag. */
async function oursRun({ store, queue, schedule, windowMs, warmupMs, alignTo, where }) {
  const c = counting(queue);
  const scheduler = await createScheduler({ queue: c.queue, store, ...where });
  try {
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, (_, k) =>
          scheduler.upsert({ id: `s${i + k}`, queue: 'bench', ...schedule }),
        ),
      );
    }
    await scheduler.start();
    // CPU in steady state: from the end of the warm-up (the first pass loads every schedule).
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    const markSteady = () => {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
    };
    if (alignTo) {
      // The next boundary after a short settle: every schedule is due at that instant.
      const boundary = Math.ceil((Date.now() + 2000) / alignTo) * alignTo;
      c.state.byTick = true;
      c.state.from = boundary;
      c.state.to = boundary + 1;
      await sleep(boundary - Date.now() + windowMs);
    } else {
      c.state.from = Date.now() + warmupMs;
      c.state.to = c.state.from + windowMs;
      await sleep(c.state.from - Date.now());
      markSteady();
      await sleep(c.state.to - Date.now());
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const lags = c.state.lags;
    const spread = lags.length > 0 ? lags.reduce((a, b) => Math.max(a, b), 0) : Number.NaN;
    return {
      ticksPerSec: alignTo ? (c.state.count / Math.max(spread, 1)) * 1000 : (c.state.count / windowMs) * 1000,
      lagP99: percentile(lags, 99) ?? Number.NaN,
      cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
      count: c.state.count,
    };
  } finally {
    // The caller drops the schema / the keys: no per-schedule removal needed.
    await scheduler.stop();
  }
}

/** BullMQ: N job schedulers `every: 1000` (or a yearly pattern for idle), a no-op Worker. */
async function bullRun({ url, prefix, windowMs, warmupMs, idle }) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  const lags = [];
  let from = Number.POSITIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let i = 0; i < N; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, N - i) }, (_, k) =>
        queue.upsertJobScheduler(`s${i + k}`, idle ? { pattern: '0 0 0 1 1 *' } : { every: 1000 }, {
          name: 'tick',
          data: {},
        }),
      ),
    );
  }
  const worker = new Worker(
    'bench',
    async (job) => {
      const due = job.timestamp + (job.opts.delay ?? 0);
      const at = Date.now();
      if (at >= from && at < to) {
        count++;
        lags.push(at - due);
      }
    },
    { connection: new Redis(url, { maxRetriesPerRequest: null }), prefix, concurrency: 100 },
  );
  try {
    from = Date.now() + warmupMs;
    to = from + windowMs;
    await sleep(from - Date.now());
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(to - Date.now());
    const cpu = process.cpuUsage(cpu0);
    return {
      ticksPerSec: (count / windowMs) * 1000,
      lagP99: percentile(lags, 99) ?? Number.NaN,
      cpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
    };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await connection.quit();
  }
}

/** pg-boss: N `* * * * *` schedules; one minute boundary; jobs read back from its table. */
async function bossRun({ url, schema, idle }) {
  const boss = new PgBoss({
    connectionString: url,
    schema,
    cronMonitorIntervalSeconds: 1,
    cronWorkerIntervalSeconds: 1,
  });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('bench');
  const cron = idle ? '0 0 1 1 *' : '* * * * *';
  for (let i = 0; i < N; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, N - i) }, (_, k) =>
        boss.schedule('bench', cron, {}, { key: `s${i + k}` }),
      ),
    );
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    if (idle) {
      await sleep(idle);
      const cpu = process.cpuUsage(cpu0);
      return { cpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100 };
    }
    const boundary = Math.ceil((Date.now() + 2000) / 60_000) * 60_000;
    // Wait for the burst: until N jobs exist, at most 40 s past the boundary.
    await sleep(boundary - Date.now() + 1000);
    const end = boundary + 40_000;
    let rows = [];
    while (Date.now() < end) {
      const r = await pool.query(
        `SELECT created_on FROM "${schema}".job WHERE name = 'bench' AND created_on >= to_timestamp($1 / 1000.0)`,
        [boundary],
      );
      rows = r.rows;
      if (rows.length >= N) break;
      await sleep(1000);
    }
    const lags = rows.map((r) => new Date(r.created_on).getTime() - boundary);
    const spread = lags.length > 0 ? lags.reduce((a, b) => Math.max(a, b), 0) : Number.NaN;
    return {
      ticksPerSec: (lags.length / Math.max(spread, 1)) * 1000,
      lagP99: percentile(lags, 99) ?? Number.NaN,
      count: lags.length,
    };
  } finally {
    await pool.end();
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    await dropSchema(url, schema);
  }
}

const rowsOf = (label, aimRate) => [
  { key: 'ticksPerSec', benchmark: `scheduler: ${label} — ticks enqueued/s`, unit: 'ticks/s', aim: aimRate },
  {
    key: 'lagP99',
    benchmark: `scheduler: ${label} — tick → enqueue lag p99`,
    unit: 'ms',
    higherIsBetter: false,
    aim: 1.0,
  },
];

export async function run(ctx) {
  const rounds = ctx.quick ? 1 : 3;
  const windowMs = ctx.quick ? 5000 : 10_000;
  const warmupMs = 3000;
  const out = [];
  const pgUp = ctx.services.postgres.up;
  const redisUp = ctx.services.redis.up;

  // 1. Per-second schedules on Redis: ours (Redis store + queue-redis) vs BullMQ job schedulers.
  const perSecond = rowsOf(`${N} schedules everyMs 1000 on Redis`, 1.0);
  const idleRow = {
    key: 'cpuPct',
    benchmark: `scheduler: idle CPU with ${N} schedules (Redis)`,
    unit: '% CPU',
    higherIsBetter: false,
    aim: 1.0,
  };
  if (!redisUp)
    out.push(
      ...[...perSecond, idleRow].map((m) => unmeasured({ ...m, peerName: 'BullMQ' }, 'Redis unreachable')),
    );
  else {
    const url = ctx.services.redis.url;
    let n = 0;
    const oursRedis = async (schedule) => {
      const prefix = `{bsch${process.pid}x${n++}}`;
      const client = new Redis(url);
      const queue = await createRedisQueue({ url, prefix });
      try {
        return await oursRun({
          store: client,
          queue,
          schedule,
          windowMs,
          warmupMs,
          where: { prefix: `${prefix}:sched:` },
        });
      } finally {
        await queue.close();
        await dropRedisPrefix(client, `${prefix}:`);
        await client.quit();
      }
    };
    out.push(
      ...(await compare({
        peerName: 'BullMQ upsertJobScheduler({ every: 1000 })',
        rounds,
        warmup: 0,
        log: ctx.log,
        metrics: perSecond,
        ours: () => oursRedis({ everyMs: 1000 }),
        peer: () => bullRun({ url, prefix: `{bbull${process.pid}x${n++}}`, windowMs, warmupMs }),
      })),
      ...(await compare({
        peerName: 'BullMQ (10,000 yearly job schedulers, Worker running)',
        rounds: 1,
        warmup: 0,
        log: ctx.log,
        metrics: [idleRow],
        ours: () => oursRedis({ cron: '0 0 0 1 1 *' }),
        peer: () => bullRun({ url, prefix: `{bbull${process.pid}x${n++}}`, windowMs, warmupMs, idle: true }),
      })),
    );
  }

  // 2. Postgres: ours sustained per-second figures (no per-second peer), then the minute burst vs pg-boss.
  const burst = rowsOf(`${N} schedules "* * * * *" on Postgres, one minute boundary`, 1.0);
  if (!pgUp)
    out.push(...burst.map((m) => unmeasured({ ...m, peerName: 'pg-boss' }, 'PostgreSQL unreachable')));
  else {
    const url = ctx.services.postgres.url;
    let n = 0;
    const oursPg = async (schedule, alignTo) => {
      const schema = `bench_sch_${process.pid}_${n++}`;
      const sql = await createSqlClient({ url });
      const queue = await createPostgresQueue({ sql, schema });
      try {
        return await oursRun({
          store: sql,
          queue,
          schedule,
          windowMs: alignTo ? 8000 : windowMs,
          warmupMs,
          alignTo,
          where: { schema },
        });
      } finally {
        await queue.close();
        await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
        await sql.close();
      }
    };
    const sustained = await oursPg({ everyMs: 1000 });
    ctx.log(
      `    ours on Postgres, ${N} schedules everyMs 1000: ${sustained.ticksPerSec.toFixed(0)} ticks/s, lag p99 ${sustained.lagP99} ms, CPU ${sustained.cpuPct.toFixed(0)}% (no per-second peer on Postgres)`,
    );
    out.push({
      benchmark: `scheduler: ${N} schedules everyMs 1000 on Postgres — ticks enqueued/s (ours only; lag p99 ${sustained.lagP99} ms)`,
      unit: 'ticks/s',
      ours: Math.round(sustained.ticksPerSec),
      peer: null,
      peerName: '(no per-second scheduler on Postgres among the peers)',
      ratio: null,
      higherIsBetter: true,
      aim: null,
    });
    out.push(
      ...(await compare({
        peerName: 'pg-boss schedule() (cronMonitorIntervalSeconds 1)',
        rounds: 1,
        warmup: 0,
        log: ctx.log,
        metrics: burst,
        ours: () => oursPg({ cron: '0 * * * * *' }, 60_000),
        peer: () => bossRun({ url, schema: `bench_boss_sch_${process.pid}_${n++}` }),
      })),
    );
  }
  return out;
}
