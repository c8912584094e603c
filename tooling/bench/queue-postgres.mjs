// Throughput and latency of @fraiseql/queue-postgres on a Postgres server (DATABASE_URL) or PGlite (--pglite).
//   node tooling/bench/queue-postgres.mjs [--pglite] [--jobs 10000] [--concurrency 16]
// Build first (pnpm build). Prints enqueue one-by-one / bulk jobs/s, process jobs/s (no-op
// handler), and enqueue→handler-start latency p50/p99 for jobs enqueued one at a time into an idle worker.
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const pglite = args.includes('--pglite');
const jobs = flag('jobs', 10_000);
const concurrency = flag('concurrency', 16);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${process.pid}`;

const sql = pglite ? await createSqlClient({}) : await createSqlClient({ url });
const queue = await createPostgresQueue({ sql, schema, completedRetentionMs: 0 });
const rate = (n, ms) => Math.round((n / ms) * 1000);
const pct = (xs, p) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

try {
  const oneByOne = Math.min(jobs, pglite ? 2000 : 5000);
  let t = performance.now();
  for (let i = 0; i < oneByOne; i++) await queue.enqueue('single', { i });
  const single = rate(oneByOne, performance.now() - t);

  t = performance.now();
  for (let i = 0; i < jobs; i += 1000) {
    await queue.enqueueMany(
      'bulk',
      Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ data: { i: i + k } })),
    );
  }
  const bulk = rate(jobs, performance.now() - t);

  let done = 0;
  let finish;
  const finished = new Promise((r) => {
    finish = r;
  });
  t = performance.now();
  const worker = queue.process(
    'bulk',
    async () => {
      if (++done === jobs) finish();
    },
    { concurrency },
  );
  await finished;
  const processed = rate(jobs, performance.now() - t);
  await worker.close();

  const latencies = [];
  const samples = pglite ? 200 : 500;
  let started;
  const lw = queue.process('latency', async (job) => {
    started?.(performance.now() - job.data.t);
  });
  for (let i = 0; i < samples; i++) {
    const p = new Promise((r) => {
      started = r;
    });
    await queue.enqueue('latency', { t: performance.now() });
    latencies.push(await p);
  }
  await lw.close();
  console.log(
    JSON.stringify({
      backend: pglite ? 'pglite' : 'postgres',
      jobs,
      concurrency,
      enqueueOneByOnePerSec: single,
      enqueueBulkPerSec: bulk,
      processPerSec: processed,
      enqueueToStartMs: { p50: +pct(latencies, 50).toFixed(2), p99: +pct(latencies, 99).toFixed(2) },
    }),
  );
} finally {
  await queue.close();
  if (!pglite) await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.close();
}
