// queue-rabbitmq against amqplib used directly the way a careful user would: durable queue,
// persistent messages, publisher confirms (awaited per message one-by-one, once per batch in bulk),
// manual acks, prefetch = concurrency. Same broker, same amqplib version, same payloads.
import { randomBytes } from 'node:crypto';
import { createRabbitQueue } from '@fraiseql/queue-rabbitmq';
import amqp from 'amqplib';
import { compare, unmeasured } from '../lib/harness.mjs';
import { latencyMetrics, latencyPass, queueMetrics, throughputPass } from '../lib/queue-passes.mjs';

export const name = 'queue-rabbitmq';

const CONCURRENCY = 16;

export async function run(ctx) {
  const total = ctx.quick ? 3000 : 10_000;
  const single = ctx.quick ? 300 : 1000;
  const rounds = ctx.quick ? 2 : 5;
  const samples = ctx.quick ? 100 : 300;
  const metrics = queueMetrics('queue-rabbitmq', {
    total,
    concurrency: CONCURRENCY,
    aimProcess: 0.8,
    aimEnqueue: 0.8,
  });
  const latency = latencyMetrics('queue-rabbitmq', 0.8);
  const peerName = 'raw amqplib (confirms + manual ack)';
  if (!ctx.services.rabbitmq.up) {
    return [...metrics, ...latency].map((m) => unmeasured({ ...m, peerName }, 'RabbitMQ unreachable'));
  }
  const url = ctx.services.rabbitmq.url;
  const tag = `bench_${randomBytes(4).toString('hex')}`;

  const ours = await createRabbitQueue({ url, prefix: `${tag}_ours` });
  // Nagle off, as a latency-minded user would have it (amqplib leaves it on): otherwise every
  // ~50th confirm waits ~40 ms for a delayed ACK and the peer's p99 says nothing about amqplib.
  const conn = await amqp.connect(url, { noDelay: true });
  conn.on('error', () => {});
  const pub = await conn.createConfirmChannel();
  const rawQueues = new Set();
  /** Plain durable queue, or (`prio`) the same `x-max-priority: 20` queue our provider declares. */
  const declare = async (q, prio) => {
    if (!rawQueues.has(q)) {
      await pub.assertQueue(q, { durable: true, ...(prio ? { arguments: { 'x-max-priority': 20 } } : {}) });
      rawQueues.add(q);
    }
  };
  const props = (prio) => ({
    persistent: true,
    contentType: 'application/json',
    ...(prio ? { priority: 10 } : {}),
  });
  const publish = (q, data, prio) =>
    new Promise((resolve, reject) => {
      pub.sendToQueue(q, Buffer.from(JSON.stringify(data)), props(prio), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  const rawWorker = (q) => async (onJob) => {
    const ch = await conn.createChannel();
    await ch.prefetch(CONCURRENCY);
    const { consumerTag } = await ch.consume(
      q,
      async (msg) => {
        if (!msg) return;
        JSON.parse(msg.content.toString('utf8'));
        onJob();
        ch.ack(msg);
      },
      { noAck: false },
    );
    return {
      async stop() {
        await ch.cancel(consumerTag);
        await ch.close();
      },
    };
  };
  const oursWorker = (q) => async (onJob) => {
    const w = ours.process(q, async () => onJob(), { concurrency: CONCURRENCY });
    return { stop: () => w.close() };
  };
  let n = 0;
  const oursQueues = [];
  const a = {
    throughput: () => {
      const q = `bench-${n++}`;
      oursQueues.push(q);
      return throughputPass({
        single,
        total,
        enqueueOne: (i) => ours.enqueue(q, { i }),
        enqueueBatch: (from, count) =>
          ours.enqueueMany(
            q,
            Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
          ),
        startWorker: oursWorker(q),
      });
    },
    latency: () => {
      const q = `lat-${n++}`;
      oursQueues.push(q);
      return latencyPass({ samples, enqueue: () => ours.enqueue(q, {}), startWorker: oursWorker(q) });
    },
  };
  const rawThroughput = (prio) => async () => {
    const q = `${tag}_raw_bench-${n++}`;
    await declare(q, prio);
    return throughputPass({
      single,
      total,
      enqueueOne: (i) => publish(q, { i }, prio),
      enqueueBatch: async (from, count) => {
        for (let k = 0; k < count; k++)
          pub.sendToQueue(q, Buffer.from(JSON.stringify({ i: from + k })), props(prio));
        await pub.waitForConfirms();
      },
      startWorker: rawWorker(q),
    });
  };
  const b = {
    throughput: rawThroughput(false),
    latency: async () => {
      const q = `${tag}_raw_lat-${n++}`;
      await declare(q);
      return latencyPass({ samples, enqueue: () => publish(q, {}), startWorker: rawWorker(q) });
    },
  };
  const rows = [];
  try {
    rows.push(
      ...(await compare({ peerName, rounds, log: ctx.log, metrics, ours: a.throughput, peer: b.throughput })),
    );
    // Against the same queue arguments our provider declares (x-max-priority 20, for job
    // priorities): what is left is our layer; the gap to the row above is the priority queue.
    rows.push(
      ...(await compare({
        peerName: 'raw amqplib on an x-max-priority 20 queue, as ours declares (report)',
        rounds,
        log: ctx.log,
        metrics: metrics.filter((m) => m.key !== 'single').map((m) => ({ ...m, aim: null })),
        ours: a.throughput,
        peer: rawThroughput(true),
      })),
    );
    rows.push(
      ...(await compare({
        peerName,
        rounds,
        log: ctx.log,
        metrics: latency,
        ours: a.latency,
        peer: b.latency,
      })),
    );
  } finally {
    for (const q of oursQueues) await ours.deleteQueue(q).catch(() => {});
    await ours.close();
    for (const q of rawQueues) await pub.deleteQueue(q).catch(() => {});
    await conn.close().catch(() => {});
  }
  return rows;
}
