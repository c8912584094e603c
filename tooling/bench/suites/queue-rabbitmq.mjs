// queue-rabbitmq against amqplib used directly the way a careful user would: durable queue,
// persistent messages, publisher confirms (awaited per message one-by-one, once per batch in bulk),
// manual acks, prefetch = concurrency. Same broker, same amqplib version, same payloads. The aim
// rows compare queues with the same arguments (our default 10 priority levels, `x-max-priority:
// 10`); the report rows compare plain queues (ours with `maxPriority: 0`).
import { randomBytes } from 'node:crypto';
import { createRabbitQueue } from '@fraiseql/queue-rabbitmq';
import amqp from 'amqplib';
import { compare, unmeasured } from '../lib/harness.mjs';
import { latencyMetrics, latencyPass, queueMetrics, throughputPass } from '../lib/queue-passes.mjs';

export const name = 'queue-rabbitmq';

const CONCURRENCY = 16;
/** Our default `maxPriority`, and the AMQP level our priority 0 gets on it. */
const LEVELS = 10;
const LEVEL_OF_0 = 5;

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
  const peerName = `raw amqplib (confirms + manual ack), same queue arguments (x-max-priority ${LEVELS})`;
  if (!ctx.services.rabbitmq.up) {
    return [...metrics, ...latency].map((m) => unmeasured({ ...m, peerName }, 'RabbitMQ unreachable'));
  }
  const url = ctx.services.rabbitmq.url;
  const tag = `bench_${randomBytes(4).toString('hex')}`;

  const ours = await createRabbitQueue({ url, prefix: `${tag}_ours` });
  const oursPlain = await createRabbitQueue({
    url,
    prefix: `${tag}_plain`,
    queueDefaults: { maxPriority: 0 },
  });
  // Nagle off, as a latency-minded user would have it (amqplib leaves it on): otherwise every
  // ~50th confirm waits ~40 ms for a delayed ACK and the peer's p99 says nothing about amqplib.
  const conn = await amqp.connect(url, { noDelay: true });
  conn.on('error', () => {});
  const pub = await conn.createConfirmChannel();
  const rawQueues = new Set();
  /** Plain durable queue, or (`prio`) the same `x-max-priority` queue our provider declares by default. */
  const declare = async (q, prio) => {
    if (!rawQueues.has(q)) {
      await pub.assertQueue(q, {
        durable: true,
        ...(prio ? { arguments: { 'x-max-priority': LEVELS } } : {}),
      });
      rawQueues.add(q);
    }
  };
  const props = (prio) => ({
    persistent: true,
    contentType: 'application/json',
    ...(prio ? { priority: LEVEL_OF_0 } : {}),
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
  const oursWorker = (p, q) => async (onJob) => {
    const w = p.process(q, async () => onJob(), { concurrency: CONCURRENCY });
    return { stop: () => w.close() };
  };
  let n = 0;
  const oursQueues = [];
  const oursThroughput = (p) => () => {
    const q = `bench-${n++}`;
    oursQueues.push([p, q]);
    return throughputPass({
      single,
      total,
      enqueueOne: (i) => p.enqueue(q, { i }),
      enqueueBatch: (from, count) =>
        p.enqueueMany(
          q,
          Array.from({ length: count }, (_, k) => ({ data: { i: from + k } })),
        ),
      startWorker: oursWorker(p, q),
    });
  };
  const a = {
    throughput: oursThroughput(ours),
    latency: () => {
      const q = `lat-${n++}`;
      oursQueues.push([ours, q]);
      return latencyPass({ samples, enqueue: () => ours.enqueue(q, {}), startWorker: oursWorker(ours, q) });
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
    throughput: rawThroughput(true),
    latency: async () => {
      const q = `${tag}_raw_lat-${n++}`;
      await declare(q, true);
      return latencyPass({ samples, enqueue: () => publish(q, {}, true), startWorker: rawWorker(q) });
    },
  };
  const rows = [];
  try {
    rows.push(
      ...(await compare({ peerName, rounds, log: ctx.log, metrics, ours: a.throughput, peer: b.throughput })),
    );
    // Plain queues on both sides (ours with `maxPriority: 0`): the broker's fast path; the gap to
    // the rows above is what priority levels cost in the broker.
    rows.push(
      ...(await compare({
        peerName: 'raw amqplib on a plain queue; ours with maxPriority 0 (report)',
        rounds,
        log: ctx.log,
        metrics: metrics.map((m) => ({ ...m, aim: null })),
        ours: oursThroughput(oursPlain),
        peer: rawThroughput(false),
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
    for (const [p, q] of oursQueues) await p.deleteQueue(q).catch(() => {});
    await ours.close();
    await oursPlain.close();
    for (const q of rawQueues) await pub.deleteQueue(q).catch(() => {});
    await conn.close().catch(() => {});
  }
  return rows;
}
