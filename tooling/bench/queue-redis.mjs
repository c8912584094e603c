#!/usr/bin/env node
// Throughput and latency of @fraiseql/queue-redis (BullMQ) against a real Redis.
//
//   pnpm --filter @fraiseql/queue-redis build
//   node tooling/bench/queue-redis.mjs [--jobs 10000] [--concurrency 50] [--samples 1000]
//
// REDIS_URL (default redis://127.0.0.1:6379) selects the server. Every run uses its own key
// prefix and deletes its keys afterwards. Measured:
//   enqueue one-by-one   N sequential `enqueue` calls (each awaits its round trip)
//   enqueue bulk         N jobs through `enqueueMany` in batches of 1,000
//   process              N no-op jobs drained by one worker with --concurrency
//   enqueue→start        latency from just before `enqueue` to the handler starting, one job
//                        at a time on an idle worker (p50 / p99 over --samples jobs)
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createRedisQueue } from '../../packages/queue-redis/dist/index.js';
import { dropRedisPrefix } from './lib/redis.mjs';

// ioredis is a dependency of the package, not of the repository root.
const { Redis } = createRequire(new URL('../../packages/queue-redis/package.json', import.meta.url))(
  'ioredis',
);

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '50' },
    samples: { type: 'string', default: '1000' },
  },
});
const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const SAMPLES = Number(values.samples);
const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `{bench_${randomBytes(4).toString('hex')}}`;

const now = () => performance.now();
const rate = (n, ms) => Math.round((n / ms) * 1000);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Resolves once `count()` reaches `target`, polling every 5 ms. */
function until(count, target) {
  return new Promise((resolve) => {
    const tick = () => (count() >= target ? resolve() : setTimeout(tick, 5));
    tick();
  });
}

const queue = await createRedisQueue({ url, prefix, concurrency: CONCURRENCY });
const results = {};
try {
  // enqueue one-by-one
  {
    const q = 'bench-single';
    const t0 = now();
    for (let i = 0; i < JOBS; i++) await queue.enqueue(q, { i });
    results.enqueueOneByOne = rate(JOBS, now() - t0);
  }

  // enqueue bulk (batches of 1,000)
  {
    const q = 'bench-bulk';
    const t0 = now();
    for (let i = 0; i < JOBS; i += 1000) {
      const n = Math.min(1000, JOBS - i);
      await queue.enqueueMany(
        q,
        Array.from({ length: n }, (_, k) => ({ data: { i: i + k } })),
      );
    }
    results.enqueueBulk = rate(JOBS, now() - t0);
  }

  // process the bulk queue with a no-op handler
  {
    let done = 0;
    const t0 = now();
    const worker = queue.process('bench-bulk', async () => {}, { concurrency: CONCURRENCY });
    worker.on('completed', () => done++);
    await until(() => done, JOBS);
    results.process = rate(JOBS, now() - t0);
    await worker.close();
  }

  // enqueue → handler start latency, one job at a time on an idle worker
  {
    const q = 'bench-latency';
    const latencies = [];
    let started;
    const worker = queue.process(q, async (job) => {
      latencies.push(performance.timeOrigin + now() - job.data.at);
      started?.();
    });
    await worker.ready();
    for (let i = 0; i < SAMPLES; i++) {
      const seen = new Promise((resolve) => {
        started = resolve;
      });
      await queue.enqueue(q, { at: performance.timeOrigin + now() });
      await seen;
    }
    await worker.close();
    latencies.sort((a, b) => a - b);
    results.latencyP50Ms = Number(pct(latencies, 50).toFixed(2));
    results.latencyP99Ms = Number(pct(latencies, 99).toFixed(2));
  }
} finally {
  await queue.close();
  const client = new Redis(url);
  await dropRedisPrefix(client, prefix);
  client.disconnect();
}

console.log(`@fraiseql/queue-redis (BullMQ) on ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
console.log(`  enqueue one-by-one   ${results.enqueueOneByOne} jobs/s   (${JOBS} jobs)`);
console.log(`  enqueue bulk         ${results.enqueueBulk} jobs/s   (${JOBS} jobs, batches of 1,000)`);
console.log(`  process (no-op)      ${results.process} jobs/s   (${JOBS} jobs, concurrency ${CONCURRENCY})`);
console.log(
  `  enqueue→start        p50 ${results.latencyP50Ms} ms, p99 ${results.latencyP99Ms} ms   (${SAMPLES} jobs)`,
);
console.log(JSON.stringify({ backend: 'redis', jobs: JOBS, concurrency: CONCURRENCY, ...results }));
