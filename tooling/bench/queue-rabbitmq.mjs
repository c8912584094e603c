// Throughput and latency of @fraiseql/queue-rabbitmq against a real broker.
//
//   pnpm --filter @fraiseql/queue-rabbitmq build
//   node tooling/bench/queue-rabbitmq.mjs            # AMQP_URL, BENCH_JOBS (10000), BENCH_CONCURRENCY (50)
//
// Prints one JSON object: jobs/s for one-by-one enqueue (sequential and 50 callers), bulk
// enqueueMany, processing with a no-op handler, and enqueue→start latency p50/p99 on an idle worker.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createRabbitQueue } from '../../packages/queue-rabbitmq/dist/index.js';

// amqplib as the package resolves it, only to delete the bench's control exchange at the end.
const amqplib = createRequire(new URL('../../packages/queue-rabbitmq/package.json', import.meta.url))(
  'amqplib',
);

const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.env.BENCH_JOBS || 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 50);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES || 1000);
const tag = `bench_${randomBytes(4).toString('hex')}`;
// A prefix of its own, so the bench leaves nothing behind on the broker.
const prefix = `fraiseql_${tag}`;
const queues = [];
const name = (what) => {
  const q = `${tag}_${what}`;
  queues.push(q);
  return q;
};
const rate = (n, ms) => Math.round((n / ms) * 1000);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x) => Math.round(x * 100) / 100;

const provider = await createRabbitQueue({ url, prefix });
const results = { backend: 'rabbitmq', jobs: N, concurrency: CONCURRENCY };
try {
  // 1. one-by-one, each enqueue awaited (publisher confirm round trip per job)
  {
    const q = name('seq');
    const t = performance.now();
    for (let i = 0; i < N; i++) await provider.enqueue(q, { i });
    results.enqueueSequentialPerSec = rate(N, performance.now() - t);
  }
  // 2. one-by-one from 50 concurrent callers (confirms pipeline on the shared channel)
  {
    const q = name('par');
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < N) {
          next++;
          await provider.enqueue(q, { i: next });
        }
      }),
    );
    results.enqueue50CallersPerSec = rate(N, performance.now() - t);
  }
  // 3. bulk
  {
    const q = name('bulk');
    const items = Array.from({ length: N }, (_, i) => ({ data: { i } }));
    const t = performance.now();
    for (let i = 0; i < N; i += 1000) await provider.enqueueMany(q, items.slice(i, i + 1000));
    results.enqueueManyPerSec = rate(N, performance.now() - t);
  }
  // 4. processing the bulk queue with a no-op handler
  for (const concurrency of [1, CONCURRENCY]) {
    const q = concurrency === 1 ? queues[2] : name('proc');
    const count = concurrency === 1 ? Math.min(N, 5000) : N;
    if (concurrency !== 1) {
      await provider.enqueueMany(
        q,
        Array.from({ length: N }, (_, i) => ({ data: { i } })),
      );
    }
    let done = 0;
    let resolveDone;
    const finished = new Promise((r) => {
      resolveDone = r;
    });
    const t = performance.now();
    const worker = provider.process(
      q,
      async () => {
        if (++done === count) resolveDone();
      },
      { concurrency },
    );
    await finished;
    const ms = performance.now() - t;
    await worker.close();
    results[`processPerSecConcurrency${concurrency}`] = rate(count, ms);
  }
  // 5. enqueue → handler start latency on an idle worker
  {
    const q = name('lat');
    const samples = [];
    let waiting;
    const worker = provider.process(
      q,
      async (job) => {
        samples.push(performance.now() - job.data.t);
        waiting?.();
      },
      { concurrency: 1 },
    );
    await new Promise((r) => worker.once('ready', r));
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const started = new Promise((r) => {
        waiting = r;
      });
      await provider.enqueue(q, { t: performance.now() });
      await started;
    }
    await worker.close();
    samples.sort((a, b) => a - b);
    results.latencyMs = {
      samples: samples.length,
      p50: round(pct(samples, 50)),
      p99: round(pct(samples, 99)),
    };
  }
  // 6. a delayed job: how late (never early) with a 1 s delay
  {
    const q = name('delay');
    const lateness = [];
    let waiting;
    const worker = provider.process(q, async (job) => {
      lateness.push(performance.now() - job.data.due);
      waiting?.();
    });
    for (let i = 0; i < 10; i++) {
      const started = new Promise((r) => {
        waiting = r;
      });
      await provider.enqueueDelayed(q, { due: performance.now() + 1000 }, 1000);
      await started;
    }
    await worker.close();
    lateness.sort((a, b) => a - b);
    results.delayed1sLatenessMs = { min: round(lateness[0]), max: round(lateness.at(-1)) };
  }
} finally {
  for (const q of queues) await provider.deleteQueue(q).catch(() => {});
  await provider.close();
  const conn = await amqplib.connect(url);
  await (await conn.createChannel()).deleteExchange(`${prefix}.control`).catch(() => {});
  await conn.close();
}
console.log(JSON.stringify(results, null, 2));
