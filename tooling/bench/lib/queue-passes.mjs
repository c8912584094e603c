// The shape shared by the queue suites: one "throughput pass" enqueues `single` jobs one by one,
// the rest of `total` in bulk batches, then times a worker draining all `total` no-op jobs (the
// clock starts at the call that starts the worker, so start-up counts); one "latency pass"
// measures enqueue → handler start on an idle worker, one job at a time.
import { deferred, now, percentile } from './harness.mjs';

export const BATCH = 1000;

/** Counts handler runs; `expect(n)` resolves once `n` have run since it was called. */
export function counter() {
  let seen = 0;
  let target = Number.POSITIVE_INFINITY;
  let done = deferred();
  return {
    hit() {
      if (++seen >= target) done.resolve();
    },
    expect(n) {
      seen = 0;
      target = n;
      done = deferred();
      return done.promise;
    },
  };
}

/**
 * @param {{
 *   single: number, total: number,
 *   enqueueOne: (i: number) => Promise<unknown>,
 *   enqueueBatch: (from: number, count: number) => Promise<unknown>,
 *   startWorker: (onJob: () => void) => Promise<{ stop(): Promise<void> }> | { stop(): Promise<void> },
 * }} p
 */
export async function throughputPass(p) {
  let t = now();
  for (let i = 0; i < p.single; i++) await p.enqueueOne(i);
  const single = (p.single / (now() - t)) * 1000;
  t = now();
  for (let i = p.single; i < p.total; i += BATCH) await p.enqueueBatch(i, Math.min(BATCH, p.total - i));
  const bulk = ((p.total - p.single) / (now() - t)) * 1000;
  const c = counter();
  const finished = c.expect(p.total);
  t = now();
  const worker = await p.startWorker(() => c.hit());
  await finished;
  const processed = (p.total / (now() - t)) * 1000;
  await worker.stop();
  return { single, bulk, process: processed };
}

/**
 * @param {{
 *   samples: number,
 *   enqueue: () => Promise<unknown>,
 *   startWorker: (onJob: () => void) => Promise<{ stop(): Promise<void> }> | { stop(): Promise<void> },
 * }} p
 */
export async function latencyPass(p) {
  let started = deferred();
  let t0 = 0;
  const worker = await p.startWorker(() => started.resolve(now() - t0));
  const ms = [];
  // The first few jobs warm the path (connections, plans) and are not counted.
  for (let i = -5; i < p.samples; i++) {
    started = deferred();
    t0 = now();
    await p.enqueue();
    const took = await started.promise;
    if (i >= 0) ms.push(took);
  }
  await worker.stop();
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

export function queueMetrics(prefix, { total, concurrency, aimProcess, aimEnqueue }) {
  const label = total % 1000 === 0 ? `${total / 1000}k` : String(total);
  return [
    {
      key: 'process',
      benchmark: `${prefix}: process ${label} no-op jobs, concurrency ${concurrency}`,
      unit: 'jobs/s',
      aim: aimProcess,
    },
    { key: 'single', benchmark: `${prefix}: enqueue one-by-one (awaited)`, unit: 'jobs/s', aim: aimEnqueue },
    {
      key: 'bulk',
      benchmark: `${prefix}: enqueue bulk (batches of ${BATCH})`,
      unit: 'jobs/s',
      aim: aimEnqueue,
    },
  ];
}

export function latencyMetrics(prefix, aim) {
  return [
    {
      key: 'p50',
      benchmark: `${prefix}: enqueue → handler start, p50 (idle worker)`,
      unit: 'ms',
      higherIsBetter: false,
      aim,
    },
    {
      key: 'p99',
      benchmark: `${prefix}: enqueue → handler start, p99 (idle worker)`,
      unit: 'ms',
      higherIsBetter: false,
      aim,
    },
  ];
}
