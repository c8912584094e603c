// cache-tiered (memory L1 + shared L2 + invalidation bus) against cache-redis alone (what an L1
// hit saves) and against bentocache with the same three layers (memory + Redis + Redis bus) on
// the same mixed workload; then the bus's invalidation lag (a write in one instance → the other
// instance told), Redis and PostgreSQL, next to bentocache's Redis bus.
import { EventEmitter } from 'node:events';
import { createMemoryCache } from '@fraiseql/cache-memory';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createRedisCache } from '@fraiseql/cache-redis';
import { createTieredCache } from '@fraiseql/cache-tiered';
import { createSqlClient } from '@fraiseql/postgres';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { Redis } from 'ioredis';
import { compare, compareOne, percentile, throughput, unmeasured } from '../lib/harness.mjs';
import { dropRedisPrefix } from '../lib/redis.mjs';

export const name = 'cache-tiered';

const KEYS = 1000;
const TTL_MS = 3_600_000;
const IN_FLIGHT = 64;
const BENTO = 'bentocache (memory + Redis + Redis bus)';

const PLANNED = [
  ['get, L1 hit, 64 in flight', 'cache-redis get (no L1)', 10, 'ops/s', true],
  ['mixed 90% getOrSet / 10% set, 64 in flight', BENTO, 1.2, 'ops/s', true],
  ['bus invalidation lag p50 (Redis bus)', BENTO, null, 'ms', false],
  ['bus invalidation lag p99 (Redis bus)', BENTO, null, 'ms', false],
  ['bus invalidation lag p50 (PostgreSQL bus)', BENTO, null, 'ms', false],
  ['bus invalidation lag p99 (PostgreSQL bus)', BENTO, null, 'ms', false],
];

const planned = (what) => {
  const [benchmark, peerName, aim, unit, higherIsBetter] = PLANNED.find((p) => p[0] === what);
  return { benchmark: `cache-tiered: ${benchmark}`, peerName, aim, unit, higherIsBetter };
};

async function tieredRedis(url, prefix, channel, onBusMessage) {
  return createTieredCache({
    l1: await createMemoryCache({ prefix, maxEntries: 10_000 }),
    l2: await createRedisCache({ url, prefix }),
    bus: 'redis',
    channel,
    defaultTtlMs: TTL_MS,
    ...(onBusMessage ? { onBusMessage } : {}),
  });
}

function bento(url, prefix, emitter) {
  return new BentoCache({
    default: 'tiered',
    prefix,
    ttl: TTL_MS,
    ...(emitter ? { emitter } : {}),
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection: new Redis(url) }))
        .useBus(
          redisBusDriver({
            connection: { host: new URL(url).hostname, port: Number(new URL(url).port || 6379) },
          }),
        ),
    },
  });
}

/** Write in A → B told by its bus, `samples` times, one at a time; p50/p99 in ms. */
async function lagPass(samples, write, told) {
  const lags = [];
  for (let i = 0; i < samples; i++) {
    const arrived = told();
    const t0 = performance.now();
    await write(`lag:${i % 50}`, { i });
    const t1 = await arrived;
    lags.push(t1 - t0);
    await new Promise((r) => setTimeout(r, 2));
  }
  return { p50: percentile(lags, 50), p99: percentile(lags, 99) };
}

/** A promise of the next message's arrival time, and the callback that resolves it. */
function arrivals() {
  let resolve;
  let timer;
  return {
    next() {
      return new Promise((r, reject) => {
        resolve = r;
        timer = setTimeout(() => reject(new Error('no bus message within 5 s')), 5_000);
      });
    },
    arrived() {
      const at = performance.now();
      clearTimeout(timer);
      resolve?.(at);
      resolve = undefined;
    },
  };
}

export async function run(ctx) {
  if (!ctx.services.redis.up) return PLANNED.map(([w]) => unmeasured(planned(w), 'Redis unreachable'));
  const url = ctx.services.redis.url;
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 350 : 900;
  const samples = ctx.quick ? 200 : 500;
  const tag = `bench:${process.pid}:${Date.now().toString(36)}`;
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const value = Buffer.alloc(100, 7);
  const doc = { id: 1, name: 'widget', tags: ['a', 'b'], price: 9.99 };
  const sample = (op) => () => throughput(op, { inFlight: IN_FLIGHT, ms });
  const rows = [];
  const closers = [];

  try {
    // 1. What an L1 hit saves: the same get, answered in process vs by Redis.
    const ours = await tieredRedis(url, `${tag}:t:`, `${tag}:c1`);
    const redisOnly = await createRedisCache({ url, prefix: `${tag}:r:` });
    closers.push(
      () => ours.close(),
      () => redisOnly.close(),
    );
    await Promise.all(keys.map((k) => ours.set(k, value, TTL_MS)));
    await Promise.all(keys.map((k) => redisOnly.set(k, value, TTL_MS)));
    for (const c of [ours, redisOnly]) {
      const got = await c.get('k1');
      if (!got || Buffer.compare(Buffer.from(got), value) !== 0)
        throw new Error('cache-tiered: sanity check failed');
    }
    rows.push(
      await compareOne({
        ...planned('get, L1 hit, 64 in flight'),
        rounds,
        log: ctx.log,
        ours: sample((i) => ours.get(keys[i % KEYS])),
        peer: sample((i) => redisOnly.get(keys[i % KEYS])),
      }),
    );

    // 2. Same three layers on both sides, the same mixed workload of JSON documents.
    const b = bento(url, `${tag}:b`);
    closers.push(() => b.disconnect());
    const load = async () => doc;
    await Promise.all(keys.map((k) => ours.setJson(k, doc, TTL_MS)));
    await Promise.all(keys.map((k) => b.set({ key: k, value: doc, ttl: TTL_MS })));
    const oursGot = await ours.getOrSet('k2', load);
    const bentoGot = await b.getOrSet({ key: 'k2', factory: load });
    if (JSON.stringify(oursGot) !== JSON.stringify(doc) || JSON.stringify(bentoGot) !== JSON.stringify(doc))
      throw new Error('cache-tiered: mixed sanity check failed');
    rows.push(
      await compareOne({
        ...planned('mixed 90% getOrSet / 10% set, 64 in flight'),
        rounds,
        log: ctx.log,
        ours: sample((i) =>
          i % 10 === 0
            ? ours.setJson(keys[i % KEYS], doc, TTL_MS)
            : ours.getOrSet(keys[i % KEYS], load, { ttlMs: TTL_MS }),
        ),
        peer: sample((i) =>
          i % 10 === 0
            ? b.set({ key: keys[i % KEYS], value: doc, ttl: TTL_MS })
            : b.getOrSet({ key: keys[i % KEYS], factory: load, ttl: TTL_MS }),
        ),
      }),
    );

    // 3. Invalidation lag: a write in instance A until instance B's bus delivered it.
    const oursArrivals = arrivals();
    const bentoArrivals = arrivals();
    const lagChannel = `${tag}:lag`;
    const a1 = await tieredRedis(url, `${tag}:lag:`, lagChannel);
    const b1 = await tieredRedis(url, `${tag}:lag:`, lagChannel, () => oursArrivals.arrived());
    const emitter = new EventEmitter();
    emitter.on('bus:message:received', () => bentoArrivals.arrived());
    const ba = bento(url, `${tag}:blag`);
    const bb = bento(url, `${tag}:blag`, emitter);
    closers.push(
      () => a1.close(),
      () => b1.close(),
      () => ba.disconnect(),
      () => bb.disconnect(),
    );
    // Bus subscriptions settle before anything is timed.
    await ba.set({ key: 'warm', value: 1 });
    await bb.get({ key: 'warm' });
    const bentoLag = () =>
      lagPass(
        samples,
        (key, v) => ba.set({ key, value: v, ttl: TTL_MS }),
        () => bentoArrivals.next(),
      );
    const lagRows = (bus) => [
      { key: 'p50', ...planned(`bus invalidation lag p50 (${bus} bus)`) },
      { key: 'p99', ...planned(`bus invalidation lag p99 (${bus} bus)`) },
    ];
    rows.push(
      ...(await compare({
        peerName: BENTO,
        rounds: ctx.quick ? 2 : 3,
        log: ctx.log,
        metrics: lagRows('Redis'),
        ours: () =>
          lagPass(
            samples,
            (key, v) => a1.setJson(key, v, TTL_MS),
            () => oursArrivals.next(),
          ),
        peer: bentoLag,
      })),
    );

    if (!ctx.services.postgres.up) {
      for (const m of lagRows('PostgreSQL')) rows.push(unmeasured(m, 'PostgreSQL unreachable'));
    } else {
      const sql = await createSqlClient({ url: ctx.services.postgres.url });
      const schema = `bench_ct_${process.pid}`;
      closers.push(async () => {
        await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.close();
      });
      const pgArrivals = arrivals();
      const pgTiered = async (onBusMessage) =>
        createTieredCache({
          l1: await createMemoryCache({ prefix: 'lag:' }),
          l2: await createPostgresCache({
            sql,
            table: `${schema}.cache`,
            prefix: 'lag:',
            pruneIntervalMs: 0,
          }),
          bus: 'postgresql',
          sql,
          channel: schema,
          leaseTable: `${schema}.leases`,
          ...(onBusMessage ? { onBusMessage } : {}),
        });
      const pa = await pgTiered();
      // A second SqlClient: B must not share A's LISTEN connection (two app servers).
      const sqlB = await createSqlClient({ url: ctx.services.postgres.url });
      const pb = await createTieredCache({
        l1: await createMemoryCache({ prefix: 'lag:' }),
        l2: await createPostgresCache({
          sql: sqlB,
          table: `${schema}.cache`,
          prefix: 'lag:',
          pruneIntervalMs: 0,
        }),
        bus: 'postgresql',
        sql: sqlB,
        channel: schema,
        leaseTable: `${schema}.leases`,
        onBusMessage: () => pgArrivals.arrived(),
      });
      closers.push(async () => {
        await pa.close();
        await pb.close();
        await sqlB.close();
      });
      rows.push(
        ...(await compare({
          peerName: BENTO,
          rounds: ctx.quick ? 2 : 3,
          log: ctx.log,
          metrics: lagRows('PostgreSQL'),
          ours: () =>
            lagPass(
              samples,
              (key, v) => pa.setJson(key, v, TTL_MS),
              () => pgArrivals.next(),
            ),
          peer: bentoLag,
        })),
      );
    }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
    const r = new Redis(url);
    await dropRedisPrefix(r, tag);
    await r.quit();
  }
  return rows;
}
