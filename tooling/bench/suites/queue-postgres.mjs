// queue-postgres against graphile-worker and pg-boss on the same Postgres server, each in its own
// schema, with the same worker concurrency and no-op handlers (see lib/queue-passes.mjs for what
// one pass measures). Each side runs with its defaults apart from what is named below.
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { compare, unmeasured } from '../lib/harness.mjs';
import { latencyMetrics, latencyPass, queueMetrics, throughputPass } from '../lib/queue-passes.mjs';

export const name = 'queue-postgres';

const CONCURRENCY = 16;
const silent = new Logger(() => () => {});

async function dropSchema(url, schema) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await pool.end();
}

/** Ours with its defaults (completed jobs kept for a day, LISTEN/NOTIFY wake-ups). */
async function ours(url, schema) {
  const sql = await createSqlClient({ url });
  const queue = await createPostgresQueue({ sql, schema });
  let n = 0;
  const worker = (q) => (onJob) => {
    const w = queue.process(q, async () => onJob(), { concurrency: CONCURRENCY });
    return { stop: () => w.close() };
  };
  return {
    throughput({ single, total }) {
      const q = `bench-${n++}`;
      return throughputPass({
        single,
        total,
        enqueueOne: (i) => queue.enqueue(q, { i }),
        enqueueBatch: (from, count) =>
          queue.enqueueMany(
            q,
            Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
          ),
        startWorker: worker(q),
      });
    },
    latency(samples) {
      const q = `lat-${n++}`;
      return latencyPass({ samples, enqueue: () => queue.enqueue(q, {}), startWorker: worker(q) });
    },
    async close() {
      await queue.close();
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await sql.close();
    },
  };
}

/** graphile-worker with its defaults: a task list, `run()` per pass, jobs without a queue_name. */
async function graphile(url, schema) {
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger: silent });
  await utils.migrate();
  const worker = async (onJob) => {
    const runner = await runGraphile({
      connectionString: url,
      schema,
      concurrency: CONCURRENCY,
      noHandleSignals: true,
      logger: silent,
      taskList: { bench: async () => onJob() },
    });
    return { stop: () => runner.stop() };
  };
  return {
    throughput({ single, total }) {
      return throughputPass({
        single,
        total,
        enqueueOne: (i) => utils.addJob('bench', { i }),
        enqueueBatch: (from, count) =>
          utils.addJobs(
            Array.from({ length: count }, (_, k) => ({ identifier: 'bench', payload: { i: from + k } })),
          ),
        startWorker: worker,
      });
    },
    latency(samples) {
      return latencyPass({ samples, enqueue: () => utils.addJob('bench', {}), startWorker: worker });
    },
    async close() {
      await utils.release();
      await dropSchema(url, schema);
    },
  };
}

/**
 * pg-boss with its defaults except what throughput needs: one worker fetching batches of
 * CONCURRENCY jobs (so as many handlers run at once as on the other sides), fetching again at
 * once while batches come back full, and the shortest polling interval it accepts.
 */
async function pgBoss(url, schema) {
  const boss = new PgBoss({ connectionString: url, schema, max: 10, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  let n = 0;
  return {
    async throughput({ single, total }) {
      const q = `bench-${n++}`;
      await boss.createQueue(q);
      const r = await throughputPass({
        single,
        total,
        enqueueOne: (i) => boss.send(q, { i }),
        enqueueBatch: (from, count) =>
          boss.insert(
            q,
            Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
          ),
        startWorker: async (onJob) => {
          await boss.work(
            q,
            { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
            async (jobs) => {
              await Promise.all(jobs.map(async () => onJob()));
            },
          );
          return { stop: () => boss.offWork(q, { wait: true }) };
        },
      });
      await boss.deleteQueue(q).catch(() => {});
      return r;
    },
    async close() {
      await boss.stop({ graceful: false, wait: true }).catch(() => {});
      await dropSchema(url, schema);
    },
  };
}

export async function run(ctx) {
  const total = ctx.quick ? 3000 : 10_000;
  const single = ctx.quick ? 300 : 1000;
  const rounds = ctx.quick ? 2 : 5;
  const samples = ctx.quick ? 100 : 300;
  const vsGraphile = queueMetrics('queue-postgres', {
    total,
    concurrency: CONCURRENCY,
    aimProcess: 1.0,
    aimEnqueue: 1.0,
  });
  const vsBoss = queueMetrics('queue-postgres', {
    total,
    concurrency: CONCURRENCY,
    aimProcess: 3.0,
    aimEnqueue: 1.0,
  });
  const latency = latencyMetrics('queue-postgres', 1.0);
  const bossName = `pg-boss (batchSize ${CONCURRENCY}, burstWhenBatchFull)`;
  if (!ctx.services.postgres.up) {
    const why = 'PostgreSQL unreachable';
    return [
      ...vsGraphile.map((m) => unmeasured({ ...m, peerName: 'graphile-worker' }, why)),
      ...vsBoss.map((m) => unmeasured({ ...m, peerName: bossName }, why)),
      ...latency.map((m) => unmeasured({ ...m, peerName: 'graphile-worker' }, why)),
    ];
  }
  const url = ctx.services.postgres.url;
  const a = await ours(url, `bench_q_${process.pid}`);
  const g = await graphile(url, `bench_gw_${process.pid}`);
  const b = await pgBoss(url, `bench_boss_${process.pid}`);
  const pass = { single, total };
  const rows = [];
  try {
    for (const [peerName, peer, metrics] of [
      ['graphile-worker', g, vsGraphile],
      [bossName, b, vsBoss],
    ]) {
      rows.push(
        ...(await compare({
          peerName,
          rounds,
          log: ctx.log,
          metrics,
          ours: () => a.throughput(pass),
          peer: () => peer.throughput(pass),
        })),
      );
    }
    rows.push(
      ...(await compare({
        peerName: 'graphile-worker',
        rounds,
        log: ctx.log,
        metrics: latency,
        ours: () => a.latency(samples),
        peer: () => g.latency(samples),
      })),
    );
  } finally {
    await a.close();
    await g.close();
    await b.close();
  }
  return rows;
}
