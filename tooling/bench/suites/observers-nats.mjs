// observers-nats: the observer runtime split over NATS JetStream (@fraiseql/observers-nats).
// 1. End to end with 1, 2 and 4 worker processes: one bridge process (role 'listener': change
//    log → NATS) and N worker processes (role 'worker', maxParallelism 20, action = `await
//    sleep(5)`, i.e. simulated I/O); the clock runs from the first INSERT into the change log to
//    the last action, after 200 untimed warm-up events through the fresh processes. Each pass
//    gets a fresh schema, change log, stream and durable.
// 2. Bridge publish: `transport.publish(batch)` vs raw `@nats-io/jetstream` `js.publish(subject,
//    data, { msgID })` of the same messages (same JSON, subjects, msgIDs) with the same
//    concurrency (256 in flight, the transport's default publishConcurrency), batches of 500, each
//    pass on a fresh stream of the same configuration (work queue, file storage, 2 min dedup
//    window, one durable consumer), each side on its own connection. Alternating rounds.
// 3. Failover: two processes with role 'all' and no transport (the PostgreSQL leader lease),
//    kill -9 of the leader, a row inserted right after; the time until its action starts in the
//    standby. At test settings (healthCheckIntervalMs 200, failoverThresholdMs 1000) and at the
//    defaults (5000 / 60000; about a minute, once, skipped in --quick).
// Child processes: suites/observers-nats/node.mjs. Streams, schemas and processes are removed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureChangeLog } from '@fraiseql/observers';
import { createNatsTransport } from '@fraiseql/observers-nats';
import { createSqlClient } from '@fraiseql/postgres';
import { collectGarbage, compare, deferred, now, round, summarize, unmeasured } from '../lib/harness.mjs';

export const name = 'observers-nats';

const here = dirname(fileURLToPath(import.meta.url));
const NODE = join(here, 'observers-nats', 'node.mjs');
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const WORKER_PARALLELISM = 20;
const IO_MS = 5;
const INSERT_BATCH = 500;
const WARMUP_EVENTS = 200;
const PUBLISH_BATCH = 500;
const PUBLISH_CONCURRENCY = 256;
const TEST_FAILOVER = { hc: 200, threshold: 1000 };
const DEFAULT_FAILOVER = { hc: 5000, threshold: 60_000 };

// The raw client: the same @nats-io packages the transport depends on (not deps of the bench).
const natsRequire = createRequire(createRequire(import.meta.url).resolve('@fraiseql/observers-nats'));
const { jetstream, jetstreamManager, RetentionPolicy, StorageType, AckPolicy } = await import(
  pathToFileURL(natsRequire.resolve('@nats-io/jetstream')).href
);
const { connect, nanos } = await import(pathToFileURL(natsRequire.resolve('@nats-io/transport-node')).href);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const k = (x) => (x % 1000 === 0 ? `${x / 1000}k` : String(x));
let seq = 0;
const uid = () => `${process.pid}_${Date.now().toString(36)}_${seq++}`;

/** A child process speaking the node.mjs stdout protocol. */
function child(env) {
  const proc = spawn(process.execPath, [NODE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = deferred();
  const exited = new Promise((r) => proc.once('exit', r));
  const c = { proc, ready: ready.promise, exited, count: 0, role: null, onLine: null, stderr: '' };
  let buf = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('n ')) c.count = Number(line.slice(2));
      else if (line.startsWith('ready ')) {
        c.role = line.slice(6);
        ready.resolve(c);
      }
      c.onLine?.(line, now());
      i = buf.indexOf('\n');
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    c.stderr = (c.stderr + d).slice(-2000);
  });
  exited.then((code) => ready.reject(new Error(`child exited (${code}) before ready: ${c.stderr.trim()}`)));
  c.ready.catch(() => undefined);
  c.kill = async (signal = 'SIGTERM') => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return c;
}

async function waitFor(check, timeoutMs, what) {
  const end = now() + timeoutMs;
  while (!check()) {
    if (now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function makeRow({
  benchmark,
  unit,
  values,
  peer = null,
  peerName = '—',
  higherIsBetter = true,
  aim = null,
  note,
}) {
  const o = summarize(values);
  return {
    benchmark,
    unit,
    ours: round(o.median),
    peer: peer === null ? null : round(peer),
    peerName,
    ratio: peer === null ? null : round(higherIsBetter ? o.median / peer : peer / o.median, 3),
    higherIsBetter,
    aim,
    oursSpread: {
      median: round(o.median),
      min: round(o.min),
      max: round(o.max),
      p25: round(o.p25),
      p75: round(o.p75),
      n: o.n,
    },
    rounds: values.length,
    oursSamples: values.map((x) => round(x)),
    ...(note ? { note } : {}),
  };
}

export async function run(ctx) {
  const quick = ctx.quick;
  const events = quick ? 2000 : 5000;
  const scaleRounds = quick ? 1 : 3;
  const publishTotal = quick ? 5000 : 20_000;
  const publishRounds = quick ? 2 : 5;
  const failoverRounds = quick ? 2 : 5;
  const workerCounts = [1, 2, 4];
  const scaleBench = (w) =>
    `observers-nats: ${k(events)} events end to end, bridge + ${w} worker process${w > 1 ? 'es' : ''} (action sleep ${IO_MS} ms, maxParallelism ${WORKER_PARALLELISM} each)`;
  const publishBench = `observers-nats: bridge publish of ${k(publishTotal)} events (batches of ${PUBLISH_BATCH}, ${PUBLISH_CONCURRENCY} in flight)`;
  const publishPeer = `raw @nats-io/jetstream js.publish(subject, data, { msgID }), ${PUBLISH_CONCURRENCY} in flight`;
  const foBench = (s) =>
    `observers-nats: failover, kill -9 of the leader → first event run by the standby (healthCheckIntervalMs ${s.hc}, failoverThresholdMs ${s.threshold})`;

  const pgUp = ctx.services.postgres.up;
  const natsUp = await createNatsTransport({
    servers: NATS_URL,
    stream: `BENCH_PROBE_${uid()}`,
    subjectPrefix: `bench.probe.${uid()}`,
    durable: 'probe',
    connectTimeoutMs: 1000,
  })
    .then(async (t) => {
      await t.jsm.streams.delete(t.stream).catch(() => undefined);
      await t.close();
      return true;
    })
    .catch(() => false);
  if (!pgUp || !natsUp) {
    const why = !pgUp ? 'PostgreSQL unreachable' : `NATS (JetStream) unreachable at ${NATS_URL}`;
    return [
      ...workerCounts.map((w) =>
        unmeasured(
          { benchmark: scaleBench(w), unit: 'events/s', peerName: w === 1 ? '—' : '1 worker process' },
          why,
        ),
      ),
      ...(pgUp
        ? []
        : [TEST_FAILOVER, DEFAULT_FAILOVER].map((s) =>
            unmeasured({ benchmark: foBench(s), unit: 'ms', peerName: '—', higherIsBetter: false }, why),
          )),
      unmeasured({ benchmark: publishBench, unit: 'events/s', peerName: publishPeer, aim: 0.8 }, why),
    ];
  }

  const url = ctx.services.postgres.url;
  const sql = await createSqlClient({ url });
  const schemas = [];
  const streams = [];
  const children = new Set();
  const admin = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(admin);
  const spawnChild = (env) => {
    const c = child(env);
    children.add(c);
    c.exited.then(() => children.delete(c));
    return c;
  };
  async function freshSchema() {
    const schema = `bench_obsnats_${uid()}`;
    schemas.push(schema);
    await sql.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await ensureChangeLog(sql, { table: `${schema}.change_log` });
    return schema;
  }
  async function dropSchema(schema) {
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  }
  async function insertEvents(schema, n) {
    for (let i = 0; i < n; i += INSERT_BATCH) {
      await sql.query(
        `INSERT INTO "${schema}".change_log (object_type, object_id, modification_type, object_data)
         SELECT 'Item', g::text, 'INSERT', jsonb_build_object('n', g) FROM generate_series($1::int, $2::int) g`,
        [i, Math.min(i + INSERT_BATCH, n) - 1],
      );
    }
  }

  /** One pass: bridge + `w` workers on fresh schema / stream; events/s from first INSERT to last action. */
  async function scalePass(w, total) {
    const schema = await freshSchema();
    const id = uid();
    const stream = `BENCH_OBSNATS_${id}`;
    streams.push(stream);
    const env = {
      DB_URL: url,
      SCHEMA: schema,
      CHANGE_LOG: `${schema}.change_log`,
      GROUP: 'bench',
      NATS_URL,
      STREAM: stream,
      PREFIX: `bench.obsnats.${id}`,
      DURABLE: `d_${id}`,
      MAX_PARALLELISM: String(WORKER_PARALLELISM),
      SLEEP_MS: String(IO_MS),
    };
    const mine = [];
    try {
      // The bridge first: it creates the stream and the durable the workers share.
      const bridge = spawnChild({ ...env, ROLE: 'listener' });
      mine.push(bridge);
      await bridge.ready;
      const workers = Array.from({ length: w }, () => spawnChild({ ...env, ROLE: 'worker' }));
      mine.push(...workers);
      await Promise.all(workers.map((c) => c.ready));
      const sum = () => workers.reduce((a, c) => a + c.count, 0);
      // Warm-up events (fresh processes: JIT, pools, pull subscriptions), not timed.
      await insertEvents(schema, WARMUP_EVENTS);
      await waitFor(() => sum() >= WARMUP_EVENTS, 60_000, 'the warm-up events');
      const t = now();
      await insertEvents(schema, total);
      await waitFor(() => sum() >= WARMUP_EVENTS + total, 300_000, `${total} events through ${w} workers`);
      const rate = (total / (now() - t)) * 1000;
      const spread = workers.map((c) => c.count).join('/'); // warm-up included
      return { rate, spread };
    } finally {
      await Promise.all(mine.map((c) => c.kill('SIGKILL')));
      await jsm.streams.delete(stream).catch(() => undefined);
      await dropSchema(schema);
    }
  }

  /** The events of a publish pass: what the bridge reads from a change log. */
  const publishEvents = (n, base) =>
    Array.from({ length: n }, (_, i) => ({
      id: String(base + i + 1),
      source: 'default',
      entity: 'Item',
      entityId: String(i + 1),
      kind: 'INSERT',
      data: { n: i + 1, name: `item ${i + 1}`, price: 9.99 },
      createdAt: new Date(),
    }));

  async function publishOurs(total) {
    const id = uid();
    const t = await createNatsTransport({
      servers: NATS_URL,
      stream: `BENCH_PUB_OURS_${id}`,
      subjectPrefix: `bench.pub.ours.${id}`,
      durable: `d_${id}`,
      publishConcurrency: PUBLISH_CONCURRENCY,
    });
    streams.push(t.stream);
    try {
      const evs = publishEvents(total, 0);
      const started = now();
      for (let i = 0; i < total; i += PUBLISH_BATCH) await t.publish(evs.slice(i, i + PUBLISH_BATCH));
      const rate = (total / (now() - started)) * 1000;
      const si = await t.jsm.streams.info(t.stream);
      if (si.state.messages !== total) throw new Error(`ours: stream holds ${si.state.messages} of ${total}`);
      return { events: rate };
    } finally {
      await t.jsm.streams.delete(t.stream).catch(() => undefined);
      await t.close();
    }
  }

  async function publishRaw(total) {
    const id = uid();
    const stream = `BENCH_PUB_RAW_${id}`;
    const prefix = `bench.pub.raw.${id}`;
    streams.push(stream);
    const nc = await connect({ servers: NATS_URL });
    try {
      const m = await jetstreamManager(nc);
      await m.streams.add({
        name: stream,
        subjects: [`${prefix}.>`],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(120_000),
      });
      await m.consumers.add(stream, {
        durable_name: `d_${id}`,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(30_000),
        max_deliver: 5,
      });
      const js = jetstream(nc, { timeout: 10_000 });
      const evs = publishEvents(total, 0);
      const started = now();
      for (let i = 0; i < total; i += PUBLISH_BATCH) {
        const batch = evs.slice(i, i + PUBLISH_BATCH);
        let next = 0;
        const worker = async () => {
          while (next < batch.length) {
            const e = batch[next++];
            const subject = `${prefix}.${e.source}.${e.entity}.${e.kind}`;
            const data = new TextEncoder().encode(
              JSON.stringify({
                id: e.id,
                source: e.source,
                entity: e.entity,
                entityId: e.entityId,
                kind: e.kind,
                data: e.data,
                createdAt: e.createdAt.toISOString(),
              }),
            );
            await js.publish(subject, data, { msgID: `${e.source}:${e.id}` });
          }
        };
        await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, batch.length) }, worker));
      }
      const rate = (total / (now() - started)) * 1000;
      const si = await m.streams.info(stream);
      if (si.state.messages !== total) throw new Error(`raw: stream holds ${si.state.messages} of ${total}`);
      await m.streams.delete(stream).catch(() => undefined);
      return { events: rate };
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.drain().catch(() => nc.close());
    }
  }

  /** Two 'all' processes (no transport), kill -9 of the leader, ms until the standby runs the next event. */
  async function failoverPass(s) {
    const schema = await freshSchema();
    const env = {
      DB_URL: url,
      SCHEMA: schema,
      CHANGE_LOG: `${schema}.change_log`,
      GROUP: 'bench',
      ROLE: 'all',
      EVENT_LINES: '1',
      MAX_PARALLELISM: '10',
      HC_MS: String(s.hc),
      THRESHOLD_MS: String(s.threshold),
    };
    const mine = [];
    try {
      const a = spawnChild(env);
      mine.push(a);
      await a.ready;
      if (a.role !== 'leader') throw new Error(`first process is ${a.role}, not leader`);
      const b = spawnChild(env);
      mine.push(b);
      await b.ready;
      if (b.role !== 'standby') throw new Error(`second process is ${b.role}, not standby`);
      // One event through the leader, so its cursor is saved and the standby starts after it.
      await insertEvents(schema, 1);
      await waitFor(() => a.count >= 1, 10_000, 'the leader to run the first event');
      await sleep(Math.min(s.hc, 500));
      const ran = deferred();
      let base = 0;
      b.onLine = (line, at) => {
        if (line.startsWith('event ') && Number(line.slice(6)) > base) ran.resolve(at);
      };
      const { rows } = await sql.query(`SELECT max(id)::text AS id FROM "${schema}".change_log`);
      base = Number(rows[0].id);
      const t = now();
      a.proc.kill('SIGKILL');
      await sql.query(
        `INSERT INTO "${schema}".change_log (object_type, object_id, modification_type, object_data)
         VALUES ('Item', 'after-kill', 'INSERT', '{}'::jsonb)`,
      );
      const limit = s.threshold + 4 * s.hc + 15_000;
      const at = await Promise.race([
        ran.promise,
        sleep(limit).then(() => Promise.reject(new Error(`no takeover within ${limit} ms`))),
      ]);
      return at - t;
    } finally {
      await Promise.all(mine.map((c) => c.kill('SIGKILL')));
      await dropSchema(schema);
    }
  }

  const rows = [];
  try {
    // 1. worker scaling
    const rates = Object.fromEntries(workerCounts.map((w) => [w, []]));
    await scalePass(1, Math.min(events, 1000)); // warm-up pass (PostgreSQL plans, nats-server)
    for (let r = 0; r < scaleRounds; r++) {
      const line = [];
      for (const w of workerCounts) {
        collectGarbage();
        const got = await scalePass(w, events);
        rates[w].push(got.rate);
        line.push(`${w} worker${w > 1 ? 's' : ''} ${got.rate.toFixed(0)} events/s (split ${got.spread})`);
      }
      ctx.log(`    scaling round ${r + 1}/${scaleRounds}: ${line.join(', ')}`);
    }
    const base = summarize(rates[1]).median;
    const ceiling = ((1000 / IO_MS) * WORKER_PARALLELISM).toFixed(0);
    for (const w of workerCounts)
      rows.push(
        makeRow({
          benchmark: scaleBench(w),
          unit: 'events/s',
          values: rates[w],
          ...(w === 1 ? {} : { peer: base, peerName: '1 worker process (ratio = scaling factor)' }),
          note:
            w === 1
              ? `one bridge process (role listener) + 1 worker; the action alone allows ${ceiling} events/s per worker`
              : `scaling vs 1 worker; ${w} workers + bridge + PostgreSQL + nats-server share a 2-core machine, so CPU, not the ${w} × ${WORKER_PARALLELISM} action slots, bounds it`,
        }),
      );

    // 2. bridge publish vs raw JetStream
    rows.push(
      ...(await compare({
        peerName: publishPeer,
        rounds: publishRounds,
        log: ctx.log,
        metrics: [{ key: 'events', benchmark: publishBench, unit: 'events/s', aim: 0.8 }],
        ours: () => publishOurs(publishTotal),
        peer: () => publishRaw(publishTotal),
      })),
    );

    // 3. failover
    const fo = [];
    for (let r = 0; r < failoverRounds; r++) {
      fo.push(await failoverPass(TEST_FAILOVER));
      ctx.log(`    failover (test settings) round ${r + 1}/${failoverRounds}: ${fo.at(-1).toFixed(0)} ms`);
    }
    rows.push(
      makeRow({
        benchmark: foBench(TEST_FAILOVER),
        unit: 'ms',
        values: fo,
        higherIsBetter: false,
        note: 'two processes with role all and no transport (the PostgreSQL leader lease); row inserted right after the kill',
      }),
    );
    if (quick) {
      rows.push(
        unmeasured(
          { benchmark: foBench(DEFAULT_FAILOVER), unit: 'ms', peerName: '—', higherIsBetter: false },
          'skipped in --quick (takes about a minute); run without --quick',
        ),
      );
    } else {
      const ms = await failoverPass(DEFAULT_FAILOVER);
      ctx.log(`    failover (default settings): ${ms.toFixed(0)} ms`);
      rows.push(
        makeRow({
          benchmark: foBench(DEFAULT_FAILOVER),
          unit: 'ms',
          values: [ms],
          higherIsBetter: false,
          note: 'the defaults; one run; the standby takes over once the lease is older than the threshold, checked every healthCheckIntervalMs',
        }),
      );
    }
  } finally {
    for (const c of [...children]) await c.kill('SIGKILL');
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    for (const s of schemas) await dropSchema(s);
    await admin.drain().catch(() => admin.close());
    await sql.close();
  }
  return rows;
}
