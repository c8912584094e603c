// cache-redis against raw ioredis (same ioredis version, auto-pipelining on both), against
// Keyv + @keyv/redis (as `createKeyv(url)` sets it up), and our provider bare against the same
// provider wrapped by `createIntegrations` (SLO timing, metrics, timeout, breaker, retries).
import { createRedisCache } from '@fraiseql/cache-redis';
import { createIntegrations } from '@fraiseql/core';
import { createKeyv } from '@keyv/redis';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { compareOne, throughput, unmeasured } from '../lib/harness.mjs';

const KEYS = 1000;
const TTL_MS = 3_600_000;
const IN_FLIGHT = 64;

export const name = 'cache-redis';

const PLANNED = [
  ['get, 64 in flight', 'raw ioredis (auto-pipelining)', 0.9],
  ['set, 64 in flight', 'raw ioredis (auto-pipelining)', 0.9],
  ['get, 64 in flight', 'Keyv + @keyv/redis', 1.2],
  ['set, 64 in flight', 'Keyv + @keyv/redis', 1.2],
  ['get, 64 in flight, through createIntegrations (SLO + breaker)', 'the bare provider', 0.8],
];

export async function run(ctx) {
  if (!ctx.services.redis.up) {
    return PLANNED.map(([what, peerName, aim]) =>
      unmeasured({ benchmark: `cache-redis: ${what}`, unit: 'ops/s', peerName, aim }, 'Redis unreachable'),
    );
  }
  const url = ctx.services.redis.url;
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 350 : 900;
  const value = Buffer.alloc(100, 7);
  const tag = `bench:${process.pid}:${Date.now().toString(36)}`;
  const prefix = `${tag}:ours:`;
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const fullKeys = keys.map((k) => prefix + k);

  const ours = await createRedisCache({ url, prefix });
  const raw = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 0 });
  const keyv = createKeyv(url, { namespace: `${tag}:keyv` });
  keyv.on('error', () => {});
  const registry = new Registry();
  const integrations = await createIntegrations(
    { cache: { backend: 'redis', urlEnv: 'BENCH_REDIS_URL', prefix } },
    { registry, env: { BENCH_REDIS_URL: url }, cwd: new URL('..', import.meta.url).pathname },
  );
  const wrapped = integrations.cache;

  const sample = (op) => () => throughput(op, { inFlight: IN_FLIGHT, ms });
  const rows = [];
  try {
    await Promise.all(keys.map((k) => ours.set(k, value, TTL_MS)));
    await Promise.all(keys.map((k) => keyv.set(k, value, TTL_MS)));
    // The same bytes come back from every client before anything is timed.
    const check = [await ours.get('k1'), await raw.getBuffer(fullKeys[1]), await keyv.get('k1')];
    const check2 = await wrapped.get('k1');
    for (const got of [...check, check2]) {
      if (!got || Buffer.compare(Buffer.from(got), value) !== 0)
        throw new Error('cache-redis: sanity check failed');
    }

    rows.push(
      await compareOne({
        benchmark: 'cache-redis: get, 64 in flight',
        unit: 'ops/s',
        aim: 0.9,
        peerName: 'raw ioredis getBuffer (auto-pipelining)',
        rounds,
        log: ctx.log,
        ours: sample((i) => ours.get(keys[i % KEYS])),
        peer: sample((i) => raw.getBuffer(fullKeys[i % KEYS])),
      }),
    );
    rows.push(
      await compareOne({
        benchmark: 'cache-redis: set, 64 in flight',
        unit: 'ops/s',
        aim: 0.9,
        peerName: 'raw ioredis SET PX (auto-pipelining)',
        rounds,
        log: ctx.log,
        ours: sample((i) => ours.set(keys[i % KEYS], value, TTL_MS)),
        peer: sample((i) => raw.set(fullKeys[i % KEYS], value, 'PX', TTL_MS)),
      }),
    );
    rows.push(
      await compareOne({
        benchmark: 'cache-redis: get, 64 in flight',
        unit: 'ops/s',
        aim: 1.2,
        peerName: 'Keyv + @keyv/redis',
        rounds,
        log: ctx.log,
        ours: sample((i) => ours.get(keys[i % KEYS])),
        peer: sample((i) => keyv.get(keys[i % KEYS])),
      }),
    );
    rows.push(
      await compareOne({
        benchmark: 'cache-redis: set, 64 in flight',
        unit: 'ops/s',
        aim: 1.2,
        peerName: 'Keyv + @keyv/redis',
        rounds,
        log: ctx.log,
        ours: sample((i) => ours.set(keys[i % KEYS], value, TTL_MS)),
        peer: sample((i) => keyv.set(keys[i % KEYS], value, TTL_MS)),
      }),
    );
    rows.push(
      await compareOne({
        benchmark: 'cache-redis: get, 64 in flight, through createIntegrations (SLO + breaker)',
        unit: 'ops/s',
        aim: 0.8,
        peerName: 'the bare provider (createRedisCache)',
        rounds,
        log: ctx.log,
        ours: sample((i) => wrapped.get(keys[i % KEYS])),
        peer: sample((i) => ours.get(keys[i % KEYS])),
      }),
    );
  } finally {
    await ours.deletePattern('*').catch(() => {});
    await keyv.clear().catch(() => {});
    await integrations.close();
    await ours.close();
    await keyv.disconnect().catch(() => {});
    raw.disconnect();
  }
  return rows;
}
