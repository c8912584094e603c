/**
 * get/set throughput of @fraiseql/cache-redis against a local Redis, sequential and with 64
 * operations in flight (where auto-pipelining pays off). Uses the built dist, so run
 * `pnpm --filter @fraiseql/cache-redis build` first, then:
 *
 *   node --experimental-strip-types tooling/bench/cache-redis-ops.ts [redis-url] [seconds-per-case]
 */
import { randomBytes } from 'node:crypto';
import { createRedisCache } from '../../packages/cache-redis/dist/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const seconds = Number(process.argv[3] ?? 3);
const KEYS = 1000;
const value = randomBytes(100);
const prefix = `bench:${process.pid}:${Date.now().toString(36)}:`;
const cache = await createRedisCache({ url, prefix });

async function run(label: string, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      let i = w;
      while (performance.now() < deadline) {
        await op(i % KEYS);
        i += inFlight;
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(26)} ${Math.round(done / elapsed)
      .toLocaleString('en-US')
      .padStart(9)} ops/s  (${done} ops in ${elapsed.toFixed(1)} s)`,
  );
}

try {
  // Warm up the connection and fill the key space so gets are hits.
  await Promise.all(Array.from({ length: KEYS }, (_, i) => cache.set(`k${i}`, value)));
  await run('set, sequential', 1, (i) => cache.set(`k${i}`, value));
  await run('get, sequential', 1, (i) => cache.get(`k${i}`));
  await run('set, 64 in flight', 64, (i) => cache.set(`k${i}`, value));
  await run('get, 64 in flight', 64, (i) => cache.get(`k${i}`));
} finally {
  await cache.deletePattern('*');
  await cache.close();
}
