// queue-redis (our contract over BullMQ) against BullMQ used directly, on the same Redis, with
// the same BullMQ version, worker concurrency and job options that cost something in Redis
// (attempts + backoff, completed/failed retention), so the difference is our layer. The aim rows
// pair like with like, as issue 21 puts it ("with the options we set"): our queue with
// `priorities: false` (every job on BullMQ's plain wait list) against BullMQ given the one option
// the contract makes us set on every job, a UUID `jobId` (BullMQ's own ids are counters; a custom
// id costs an EXISTS per add and ~0.9 µs of client CPU). The report rows: our default (every job
// prioritised) against BullMQ given the jobId + priority our provider then sets.
import { randomBytes, randomUUID } from 'node:crypto';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { compare, unmeasured } from '../lib/harness.mjs';
import { latencyMetrics, latencyPass, queueMetrics, throughputPass } from '../lib/queue-passes.mjs';
import { dropRedisPrefix } from '../lib/redis.mjs';

export const name = 'queue-redis';

const CONCURRENCY = 16;
/** What our provider gives every job by default (maxRetries 3 → attempts 4, keep 1 day / 10k completed). */
const JOB_OPTS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400, count: 10_000 },
  removeOnFail: { age: 7 * 86_400, count: 100_000 },
};
/**
 * What our provider additionally sends for every job: its own UUID as jobId, and a BullMQ priority
 * (2^20 − ours, so negative priorities can sit below the default) — which puts every job on
 * BullMQ's prioritized path instead of its plain wait list.
 */
const SAME_AS_OURS = () => ({ ...JOB_OPTS, jobId: randomUUID(), priority: 2 ** 20 });
/** Our job options with `priorities: false`: the UUID jobId only. */
const WITH_UUID = () => ({ ...JOB_OPTS, jobId: randomUUID() });

export async function run(ctx) {
  const total = ctx.quick ? 3000 : 10_000;
  const single = ctx.quick ? 300 : 1000;
  const rounds = ctx.quick ? 2 : 5;
  const samples = ctx.quick ? 100 : 300;
  const metrics = queueMetrics('queue-redis', {
    total,
    concurrency: CONCURRENCY,
    aimProcess: 0.9,
    aimEnqueue: 0.9,
  });
  const latency = latencyMetrics('queue-redis', 0.9);
  const peerName =
    'BullMQ directly (Queue.add / addBulk / Worker) with a UUID jobId, as ours; ours with priorities: false';
  if (!ctx.services.redis.up) {
    return [...metrics, ...latency].map((m) => unmeasured({ ...m, peerName }, 'Redis unreachable'));
  }
  const url = ctx.services.redis.url;
  const tag = `bench_${randomBytes(4).toString('hex')}`;
  const oursPrefix = `{${tag}_ours}`;
  const bullPrefix = `{${tag}_bull}`;

  const oursPrioritized = await createRedisQueue({ url, prefix: oursPrefix, concurrency: CONCURRENCY });
  const ours = await createRedisQueue({
    url,
    prefix: oursPrefix,
    concurrency: CONCURRENCY,
    queueDefaults: { priorities: false },
  });
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const bullQueues = new Map();
  const bullQueue = (q) => {
    let queue = bullQueues.get(q);
    if (!queue) {
      queue = new Queue(q, { connection, prefix: bullPrefix });
      queue.on('error', () => {});
      bullQueues.set(q, queue);
    }
    return queue;
  };
  let n = 0;
  const oursWorker =
    (q, p = ours) =>
    async (onJob) => {
      const w = p.process(q, async () => onJob(), { concurrency: CONCURRENCY });
      return { stop: () => w.close() };
    };
  const bullWorker = (q) => async (onJob) => {
    const w = new Worker(q, async () => onJob(), {
      connection: connection.duplicate(),
      prefix: bullPrefix,
      concurrency: CONCURRENCY,
    });
    w.on('error', () => {});
    return { stop: () => w.close() };
  };
  const oursThroughput =
    (p) =>
    ({ single, total }) => {
      const q = `bench-${n++}`;
      return throughputPass({
        single,
        total,
        enqueueOne: (i) => p.enqueue(q, { i }),
        enqueueBatch: (from, count) =>
          p.enqueueMany(
            q,
            Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
          ),
        startWorker: oursWorker(q, p),
      });
    };
  const a = {
    throughput: oursThroughput(ours),
    latency: (samples) => {
      const q = `lat-${n++}`;
      return latencyPass({ samples, enqueue: () => ours.enqueue(q, {}), startWorker: oursWorker(q) });
    },
  };
  const bullThroughput =
    (opts) =>
    ({ single, total }) => {
      const q = `bench-${n++}`;
      const queue = bullQueue(q);
      return throughputPass({
        single,
        total,
        enqueueOne: (i) => queue.add(q, { i }, opts()),
        enqueueBatch: (from, count) =>
          queue.addBulk(
            Array.from({ length: count }, (_, k) => ({ name: q, data: { i: from + k }, opts: opts() })),
          ),
        startWorker: bullWorker(q),
      });
    };
  const b = {
    throughput: bullThroughput(WITH_UUID),
    latency: (samples) => {
      const q = `lat-${n++}`;
      const queue = bullQueue(q);
      return latencyPass({
        samples,
        enqueue: () => queue.add(q, {}, WITH_UUID()),
        startWorker: bullWorker(q),
      });
    },
  };
  const rows = [];
  try {
    rows.push(
      ...(await compare({
        peerName,
        rounds,
        log: ctx.log,
        metrics,
        ours: () => a.throughput({ single, total }),
        peer: () => b.throughput({ single, total }),
      })),
    );
    // The same comparison against BullMQ given the job options our provider sets: what is left
    // is the cost of our layer; the difference to the row above is the cost of those options.
    rows.push(
      ...(await compare({
        peerName: 'BullMQ directly, with the jobId + priority our provider sets; ours by default (report)',
        rounds,
        log: ctx.log,
        metrics: metrics.filter((m) => m.key !== 'single').map((m) => ({ ...m, aim: null })),
        ours: () => oursThroughput(oursPrioritized)({ single, total }),
        peer: () => bullThroughput(SAME_AS_OURS)({ single, total }),
      })),
    );
    rows.push(
      ...(await compare({
        peerName,
        rounds,
        log: ctx.log,
        metrics: latency,
        ours: () => a.latency(samples),
        peer: () => b.latency(samples),
      })),
    );
  } finally {
    await ours.close();
    await oursPrioritized.close();
    for (const q of bullQueues.values()) await q.close().catch(() => {});
    // Every key of this run, both sides, goes.
    for (const prefix of [oursPrefix, bullPrefix]) await dropRedisPrefix(connection, prefix);
    connection.disconnect();
  }
  return rows;
}
