// flows: a 4-step flow (transform → validate → route → deliver) fed by a queue source, against the
// same logic written by hand as a plain `queue.process` handler calling jsonpath-plus and ajv
// directly. Both sides run on @fraiseql/queue-postgres (a fresh schema per pass, dropped after it),
// with the same worker concurrency, and enqueue to the same destination queues: the routed one
// (high / regular) then `out`. A message counts as delivered once its enqueue on `out` resolves
// (seen through a thin wrapper around the queue provider, the same on both sides). The transform
// step alone is compared with calling JSONPath from jsonpath-plus for the same mapping.
import { applyMapping, createFlowEngine } from '@fraiseql/flows';
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { JSONPath } from 'jsonpath-plus';
import {
  compare,
  compareOne,
  deferred,
  microThroughputSync,
  now,
  percentile,
  unmeasured,
} from '../lib/harness.mjs';

export const name = 'flows';

const CONCURRENCY = 16;
const BATCH = 1000;
const IN = 'orders';
const OUT = 'out';

const MAPPING = {
  id: '$.order.id',
  customer: '$.order.customer.name',
  email: '$.order.customer.email',
  total: '$.order.total',
  skus: '$.order.items[*].sku',
  source: 'bench',
};

const SCHEMA = {
  type: 'object',
  required: ['id', 'customer', 'total', 'skus'],
  properties: {
    id: { type: 'string' },
    customer: { type: 'string' },
    email: { type: 'string' },
    total: { type: 'number', minimum: 0 },
    skus: { type: 'array', items: { type: 'string' } },
    source: { type: 'string' },
  },
};

function order(i) {
  return {
    order: {
      id: `o-${i}`,
      customer: { name: `Customer ${i}`, email: `c${i}@example.com` },
      items: [
        { sku: `A-${i % 97}`, qty: 1, price: 12.5 },
        { sku: `B-${i % 89}`, qty: 2, price: 250 },
        { sku: `C-${i % 83}`, qty: 3, price: 100 * (i % 7) },
      ],
      total: (i % 4) * 600 + 12.5,
    },
  };
}

/**
 * The transform written by hand with jsonpath-plus (one call per JSONPath leaf). `wrap: true` and
 * `[0]` for single values: jsonpath-plus 11 is several times slower with `wrap: false`, and the
 * engine uses `wrap: true`, so the two sides do the same work.
 */
function handTransform(json) {
  return {
    id: JSONPath({ path: MAPPING.id, json, wrap: true })[0],
    customer: JSONPath({ path: MAPPING.customer, json, wrap: true })[0],
    email: JSONPath({ path: MAPPING.email, json, wrap: true })[0],
    total: JSONPath({ path: MAPPING.total, json, wrap: true })[0],
    skus: JSONPath({ path: MAPPING.skus, json, wrap: true }),
    source: MAPPING.source,
  };
}

/** The queue provider, with a hook called after each enqueue on OUT resolves. */
function watched(queue, onDelivered) {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === 'enqueue')
        return async (q, data, opts) => {
          const r = await target.enqueue(q, data, opts);
          if (q === OUT) onDelivered(data);
          return r;
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

let passes = 0;

/** Sets up one side on a fresh schema; `kind` is 'flow' or 'hand'. */
async function side(url, kind, onDelivered) {
  const schema = `bench_flows_${process.pid}_${passes++}`;
  const sql = await createSqlClient({ url });
  const raw = await createPostgresQueue({ sql, schema });
  const queue = watched(raw, onDelivered);
  let stop;
  async function start() {
    if (kind === 'flow') {
      const manager = await createFlowEngine({ providers: { queue } });
      await manager.createFlow({
        name: 'bench',
        source: { type: 'queue', queue: IN, concurrency: CONCURRENCY },
        steps: [
          { type: 'transform', name: 'shape', mapping: MAPPING },
          { type: 'validate', name: 'check', schema: SCHEMA },
          {
            type: 'route',
            name: 'split',
            routes: [{ when: 'total >= 1000', to: { queue: 'high' } }, { to: { queue: 'regular' } }],
          },
          { type: 'deliver', name: 'out', to: { queue: OUT } },
        ],
      });
      await manager.startFlow('bench');
      stop = () => manager.close();
    } else {
      const ajv = new Ajv2020({ allErrors: true, strict: false });
      const validate = ajv.compile(SCHEMA);
      const w = queue.process(
        IN,
        async (job) => {
          const body = handTransform(job.data);
          if (!validate(body)) throw new Error(`validation failed: ${ajv.errorsText(validate.errors)}`);
          await queue.enqueue(body.total >= 1000 ? 'high' : 'regular', body);
          await queue.enqueue(OUT, body);
          return { status: 'complete' };
        },
        { concurrency: CONCURRENCY },
      );
      stop = () => w.close();
    }
  }
  return {
    raw,
    start,
    async close() {
      await stop?.();
      await raw.close();
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await sql.close();
    },
  };
}

async function throughputPass(url, kind, total) {
  let seen = 0;
  const done = deferred();
  const s = await side(url, kind, () => {
    if (++seen === total) done.resolve();
  });
  try {
    for (let i = 0; i < total; i += BATCH)
      await s.raw.enqueueMany(
        IN,
        Array.from({ length: Math.min(BATCH, total - i) }, (_, k) => ({ data: order(i + k) })),
      );
    const t = now();
    await s.start();
    await done.promise;
    return { process: (total / (now() - t)) * 1000 };
  } finally {
    await s.close();
  }
}

async function latencyPass(url, kind, samples) {
  let delivered = deferred();
  const s = await side(url, kind, () => delivered.resolve(now()));
  try {
    await s.start();
    const ms = [];
    // The first few messages warm the path (connections, plans, compiled validators): not counted.
    for (let i = -5; i < samples; i++) {
      delivered = deferred();
      const t0 = now();
      await s.raw.enqueue(IN, order(i + 5));
      const t1 = await delivered.promise;
      if (i >= 0) ms.push(t1 - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
  } finally {
    await s.close();
  }
}

export async function run(ctx) {
  const total = ctx.quick ? 1000 : 5000;
  const samples = ctx.quick ? 100 : 200;
  const rounds = ctx.quick ? 2 : 3;
  const label = total % 1000 === 0 ? `${total / 1000}k` : String(total);
  const hand = 'hand-written queue.process handler (jsonpath-plus + ajv)';
  const flowMetrics = [
    {
      key: 'process',
      benchmark: `flows: 4-step flow from a queue, ${label} messages, concurrency ${CONCURRENCY}`,
      unit: 'msg/s',
      aim: 0.8,
    },
  ];
  const latMetrics = [
    {
      key: 'p50',
      benchmark: `flows: latency enqueue → delivered p50 (${samples} msgs, 10 ms apart)`,
      unit: 'ms',
      higherIsBetter: false,
      aim: 0.8,
    },
    {
      key: 'p99',
      benchmark: `flows: latency enqueue → delivered p99 (${samples} msgs, 10 ms apart)`,
      unit: 'ms',
      higherIsBetter: false,
      aim: 0.8,
    },
  ];
  const rows = [];

  if (!ctx.services.postgres.up) {
    for (const m of [...flowMetrics, ...latMetrics])
      rows.push(unmeasured({ ...m, peerName: hand }, 'PostgreSQL unreachable'));
  } else {
    const url = ctx.services.postgres.url;
    rows.push(
      ...(await compare({
        peerName: hand,
        rounds,
        log: ctx.log,
        metrics: flowMetrics,
        ours: () => throughputPass(url, 'flow', total),
        peer: () => throughputPass(url, 'hand', total),
      })),
    );
    rows.push(
      ...(await compare({
        peerName: hand,
        rounds,
        log: ctx.log,
        metrics: latMetrics,
        ours: () => latencyPass(url, 'flow', samples),
        peer: () => latencyPass(url, 'hand', samples),
      })),
    );
  }

  const docs = Array.from({ length: 64 }, (_, i) => order(i));
  rows.push(
    await compareOne({
      benchmark: 'flows: transform step alone (6-field mapping, 5 JSONPath leaves)',
      unit: 'ops/s',
      aim: 0.8,
      peerName: 'JSONPath from jsonpath-plus, called directly',
      rounds: ctx.quick ? 3 : 5,
      log: ctx.log,
      ours: () =>
        microThroughputSync((i) => applyMapping(MAPPING, docs[i & 63]), {
          ms: ctx.quick ? 300 : 500,
          batch: 100,
        }),
      peer: () =>
        microThroughputSync((i) => handTransform(docs[i & 63]), { ms: ctx.quick ? 300 : 500, batch: 100 }),
    }),
  );
  return rows;
}
