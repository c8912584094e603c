// observers: rows inserted into a user table become actions. Ours: installChangeCapture (row
// trigger → change log) + createObserverRuntime with one no-op registered action. Peer:
// graphile-worker fed by the trigger its docs recommend (`add_job('noop', json_build_object('id',
// NEW.id))`) and a runner whose `noop` task does nothing. Same PostgreSQL, same inserts (one pg
// pool, multi-row INSERTs), alternating rounds; each pass gets a fresh user table (and on our side
// a fresh change log and group), each side its own schema, dropped at the end.
// Ours-only rows (webhooks, RSS) have no peer; the webhook row's "peer" is the computed sequential
// time of the same work, for reference.
import { createServer } from 'node:http';
import { createObserverRuntime, installChangeCapture } from '@fraiseql/observers';
import { createSqlClient } from '@fraiseql/postgres';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { Registry } from 'prom-client';
import {
  collectGarbage,
  compare,
  deferred,
  now,
  percentile,
  round,
  summarize,
  unmeasured,
} from '../lib/harness.mjs';

export const name = 'observers';

/** Our runtime's options in every pass (named in BENCHMARKS.md). */
const OURS = { batchSize: 1000, pollIntervalMs: 1000, maxParallelism: 10 };
/** graphile-worker `run()` options: concurrency 10, its default pollInterval (LISTEN/NOTIFY wakes it). */
const GW_CONCURRENCY = 10;
/** Rows per multi-row INSERT in the throughput passes. */
const INSERT_BATCH = 500;
const WEBHOOK_ACTIONS = 10;
const WEBHOOK_DELAY_MS = 20;
const WEBHOOK_PARALLELISM = 200;

const silent = new Logger(() => () => {});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (bytes) => bytes / 1024 / 1024;

/** `n` rows in multi-row INSERTs of `batch` through `pool`. */
async function insertRows(pool, table, n, batch = INSERT_BATCH) {
  for (let i = 0; i < n; i += batch) {
    await pool.query(`INSERT INTO ${table} (payload) SELECT 'x' || g FROM generate_series(1, $1) g`, [
      Math.min(batch, n - i),
    ]);
  }
}

/** Resolves after `n` calls of `hit()` since `expect(n)`; rejects on timeout. */
function counter() {
  let seen = 0;
  let target = Number.POSITIVE_INFINITY;
  let done = deferred();
  let onHit = null;
  return {
    hit() {
      seen++;
      onHit?.(seen);
      if (seen >= target) done.resolve();
    },
    expect(n, { timeoutMs = 300_000, each } = {}) {
      seen = 0;
      target = n;
      onHit = each ?? null;
      done = deferred();
      const t = setTimeout(() => done.reject(new Error(`timed out: ${seen} of ${n} events ran`)), timeoutMs);
      return done.promise.finally(() => clearTimeout(t));
    },
  };
}

async function ours(url, schema) {
  const sql = await createSqlClient({ url });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await sql.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  let n = 0;

  /** A fresh user table + change log + group, a started runtime; `action` runs per event. */
  async function setup({ observers, register, options = {} }) {
    const k = n++;
    const table = `"${schema}".items_${k}`;
    const changeLog = `${schema}.change_log_${k}`;
    await sql.exec(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, payload text)`);
    await installChangeCapture(sql, {
      table: `${schema}.items_${k}`,
      entity: 'Item',
      idColumn: 'id',
      changeLog,
    });
    const runtime = await createObserverRuntime({
      sql,
      observers,
      schema,
      changeLog,
      group: `bench-${k}`,
      registry: new Registry(),
      ...OURS,
      ...options,
    });
    for (const [type, fn] of Object.entries(register ?? {})) runtime.registerAction(type, fn);
    await runtime.start();
    return {
      table,
      runtime,
      async teardown() {
        await runtime.stop();
        await sql.exec(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS "${schema}".change_log_${k}`);
      },
    };
  }
  const noopObservers = [
    { name: 'bench-noop', entity: 'Item', events: ['INSERT'], actions: [{ type: 'noop' }] },
  ];

  return {
    async throughput(total) {
      const c = counter();
      const s = await setup({ observers: noopObservers, register: { noop: async () => {} } });
      s.runtime.on('executed', () => c.hit());
      const done = c.expect(total);
      const t = now();
      await insertRows(pool, s.table, total);
      await done;
      const rate = (total / (now() - t)) * 1000;
      await s.teardown();
      return { events: rate };
    },
    async latency(samples, gapMs) {
      let started = deferred();
      const s = await setup({
        observers: noopObservers,
        register: { noop: async () => started.resolve(now()) },
      });
      const r = await latencyLoop(
        samples,
        gapMs,
        () => {
          started = deferred();
          return started.promise;
        },
        () => pool.query(`INSERT INTO ${s.table} (payload) VALUES ('x')`),
      );
      await s.teardown();
      return r;
    },
    async webhooks(total, url) {
      const c = counter();
      const s = await setup({
        observers: [
          {
            name: 'bench-webhooks',
            entity: 'Item',
            events: ['INSERT'],
            actions: Array.from({ length: WEBHOOK_ACTIONS }, () => ({ type: 'webhook', url })),
          },
        ],
        options: { maxParallelism: WEBHOOK_PARALLELISM },
      });
      let failed = 0;
      s.runtime.on('executed', (summary) => {
        failed += summary.actionsFailed;
        c.hit();
      });
      const done = c.expect(total);
      const t = now();
      await insertRows(pool, s.table, total);
      await done;
      const rate = (total / (now() - t)) * 1000;
      await s.teardown();
      if (failed > 0) throw new Error(`${failed} webhook actions failed`);
      return rate;
    },
    /** RSS (MB) when 10 %, 50 % and 100 % of `total` events have run, no GC forced in between. */
    async rss(total) {
      const c = counter();
      const s = await setup({ observers: noopObservers, register: { noop: async () => {} } });
      s.runtime.on('executed', () => c.hit());
      const marks = { p10: Math.round(total * 0.1), p50: Math.round(total * 0.5), p100: total };
      const at = {};
      collectGarbage();
      const before = process.memoryUsage().rss;
      const done = c.expect(total, {
        timeoutMs: 600_000,
        each: (seen) => {
          for (const [k, m] of Object.entries(marks)) if (seen === m) at[k] = process.memoryUsage().rss;
        },
      });
      const t = now();
      await insertRows(pool, s.table, total, 1000);
      await done;
      const rate = (total / (now() - t)) * 1000;
      await s.teardown();
      return { before: MB(before), p10: MB(at.p10), p50: MB(at.p50), p100: MB(at.p100), rate };
    },
    async close() {
      await pool.end();
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await sql.close();
    },
  };
}

async function graphile(url, schema, tablesSchema) {
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger: silent });
  await utils.migrate();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${tablesSchema}"`);
  // The trigger graphile-worker's docs recommend: add_job from the row trigger.
  await pool.query(`
    CREATE OR REPLACE FUNCTION "${tablesSchema}".enqueue_noop() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM "${schema}".add_job('noop', json_build_object('id', NEW.id));
      RETURN NEW;
    END
    $$`);
  let n = 0;
  async function setup(noop) {
    const table = `"${tablesSchema}".items_${n++}`;
    await pool.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, payload text)`);
    await pool.query(
      `CREATE TRIGGER enqueue_noop AFTER INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION "${tablesSchema}".enqueue_noop()`,
    );
    const runner = await runGraphile({
      connectionString: url,
      schema,
      concurrency: GW_CONCURRENCY,
      noHandleSignals: true,
      logger: silent,
      taskList: { noop },
    });
    return {
      table,
      async teardown() {
        await runner.stop();
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
      },
    };
  }
  return {
    async throughput(total) {
      const c = counter();
      const s = await setup(async () => c.hit());
      const done = c.expect(total);
      const t = now();
      await insertRows(pool, s.table, total);
      await done;
      const rate = (total / (now() - t)) * 1000;
      await s.teardown();
      return { events: rate };
    },
    async latency(samples, gapMs) {
      let started = deferred();
      const s = await setup(async () => started.resolve(now()));
      const r = await latencyLoop(
        samples,
        gapMs,
        () => {
          started = deferred();
          return started.promise;
        },
        () => pool.query(`INSERT INTO ${s.table} (payload) VALUES ('x')`),
      );
      await s.teardown();
      return r;
    },
    async close() {
      await utils.release();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.query(`DROP SCHEMA IF EXISTS "${tablesSchema}" CASCADE`).catch(() => {});
      await pool.end();
    },
  };
}

/**
 * Insert → action start, one row at a time, `gapMs` apart (idle runtime / worker between rows):
 * the clock is read just before the INSERT, the handler reads it on entry. First 5 not counted.
 */
async function latencyLoop(samples, gapMs, arm, insert) {
  const ms = [];
  for (let i = -5; i < samples; i++) {
    const started = arm();
    const t0 = now();
    await insert();
    const at = await Promise.race([
      started,
      sleep(10_000).then(() => Promise.reject(new Error('no action start within 10 s'))),
    ]);
    if (i >= 0) ms.push(at - t0);
    await sleep(gapMs);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/** node:http receiver answering 200 after `delayMs`. */
async function receiver(delayMs) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), delayMs),
    );
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** A row of ours alone: median of `values`, spread over rounds, optional reference "peer" value. */
function oursOnly({ benchmark, unit, values, peerName = '—', peer = null, higherIsBetter = true, note }) {
  const o = summarize(values);
  const s = {
    median: round(o.median),
    min: round(o.min),
    max: round(o.max),
    p25: round(o.p25),
    p75: round(o.p75),
    n: o.n,
  };
  return {
    benchmark,
    unit,
    ours: round(o.median),
    peer,
    peerName,
    ratio: peer === null ? null : round(higherIsBetter ? o.median / peer : peer / o.median, 3),
    higherIsBetter,
    aim: null,
    oursSpread: s,
    rounds: values.length,
    oursSamples: values.map((x) => round(x)),
    ...(note ? { note } : {}),
  };
}

export async function run(ctx) {
  const total = 10_000;
  const rounds = ctx.quick ? 2 : 5;
  const samples = ctx.quick ? 100 : 200;
  const gapMs = 20;
  const hooks = ctx.quick ? 300 : 1000;
  const hookRounds = ctx.quick ? 1 : 3;
  const rssTotal = ctx.quick ? 20_000 : 100_000;
  const k = (x) => (x % 1000 === 0 ? `${x / 1000}k` : String(x));
  const peerName = `graphile-worker (add_job trigger, concurrency ${GW_CONCURRENCY})`;
  const tput = [
    {
      key: 'events',
      benchmark: `observers: ${k(total)} captured inserts → no-op action, end to end (batches of ${INSERT_BATCH})`,
      unit: 'events/s',
      aim: 1.5,
    },
  ];
  const latency = [
    {
      key: 'p50',
      benchmark: 'observers: insert → action start, p50 (idle runtime, one row per 20 ms)',
      unit: 'ms',
      higherIsBetter: false,
      aim: 1.0,
    },
    {
      key: 'p99',
      benchmark: 'observers: insert → action start, p99 (idle runtime, one row per 20 ms)',
      unit: 'ms',
      higherIsBetter: false,
      aim: 1.0,
    },
  ];
  const hookBenchmark = `observers: ${k(hooks)} events × ${WEBHOOK_ACTIONS} webhooks of ${WEBHOOK_DELAY_MS} ms (maxParallelism ${WEBHOOK_PARALLELISM})`;
  const sequentialRate = 1000 / (WEBHOOK_ACTIONS * WEBHOOK_DELAY_MS);
  const rssRows = ['p10', 'p50', 'p100'].map((p) => ({
    key: p,
    benchmark: `observers: RSS after ${p.slice(1)} % of ${k(rssTotal)} no-op events`,
  }));
  if (!ctx.services.postgres.up) {
    const why = 'PostgreSQL unreachable';
    return [
      ...tput.map((m) => unmeasured({ ...m, peerName }, why)),
      ...latency.map((m) => unmeasured({ ...m, peerName }, why)),
      unmeasured({ benchmark: hookBenchmark, unit: 'events/s', peerName: 'sequential (computed)' }, why),
      ...rssRows.map((m) => unmeasured({ ...m, unit: 'MB', peerName: '—', higherIsBetter: false }, why)),
    ];
  }
  const url = ctx.services.postgres.url;
  const a = await ours(url, `bench_obs_${process.pid}`);
  const g = await graphile(url, `bench_gw_obs_${process.pid}`, `bench_gw_obs_t_${process.pid}`);
  const http = await receiver(WEBHOOK_DELAY_MS);
  const rows = [];
  try {
    rows.push(
      ...(await compare({
        peerName,
        rounds,
        log: ctx.log,
        metrics: tput,
        ours: () => a.throughput(total),
        peer: () => g.throughput(total),
      })),
    );
    rows.push(
      ...(await compare({
        peerName,
        rounds: ctx.quick ? 1 : 3,
        log: ctx.log,
        metrics: latency,
        ours: () => a.latency(samples, gapMs),
        peer: () => g.latency(samples, gapMs),
      })),
    );
    const hookRates = [];
    await a.webhooks(Math.min(hooks, 200), http.url); // warm-up (connections, plans)
    for (let r = 0; r < hookRounds; r++) {
      collectGarbage();
      hookRates.push(await a.webhooks(hooks, http.url));
      ctx.log(`    webhooks round ${r + 1}/${hookRounds}: ${hookRates.at(-1).toFixed(1)} events/s`);
    }
    rows.push(
      oursOnly({
        benchmark: hookBenchmark,
        unit: 'events/s',
        values: hookRates,
        peerName: `sequential (computed: ${WEBHOOK_ACTIONS} × ${WEBHOOK_DELAY_MS} ms per event)`,
        peer: sequentialRate,
        note: `sequential would take ${((hooks * WEBHOOK_ACTIONS * WEBHOOK_DELAY_MS) / 1000).toFixed(0)} s`,
      }),
    );
    const m = await a.rss(rssTotal);
    ctx.log(
      `    RSS: ${m.before.toFixed(1)} MB before (after GC), ${m.p10.toFixed(1)} / ${m.p50.toFixed(1)} / ${m.p100.toFixed(1)} MB ` +
        `at 10 / 50 / 100 %, ${m.rate.toFixed(0)} events/s`,
    );
    for (const r of rssRows)
      rows.push(
        oursOnly({
          benchmark: r.benchmark,
          unit: 'MB',
          values: [m[r.key]],
          higherIsBetter: false,
          note: `whole bench process; ${m.before.toFixed(0)} MB before the pass (after GC), ${m.rate.toFixed(0)} events/s`,
        }),
      );
  } finally {
    await http.close();
    await a.close();
    await g.close();
  }
  return rows;
}
