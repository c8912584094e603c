import { createSqlClient } from '@fraiseql/postgres';
import { checkService, servicesRequired, uniqueName } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { eventually, startWorkers, type Worker, type WorkerConfig } from './procs.ts';

/**
 * Separate processes (children running the built package) sharing one L2 and one bus: what one
 * writes, the others stop serving from L1; after random traffic every L1 agrees with L2; one
 * loader per key across processes.
 */
const pg = await checkService('postgres');

// Pattern deletes SCAN the whole keyspace: a Redis of our own keeps them independent of whatever
// else the shared server holds.
const ownRedis = redisServerInstalled();
if (!ownRedis && servicesRequired())
  throw new Error('FRAISEQL_REQUIRE_SERVICES=1 but redis-server is not installed');
let server: RedisServer | undefined;
beforeAll(async () => {
  if (ownRedis) server = await startRedisServer();
});

const backends: { name: 'redis' | 'postgresql'; available: boolean; url: () => string }[] = [
  { name: 'redis', available: ownRedis, url: () => server!.url },
  { name: 'postgresql', available: pg.available, url: () => pg.url },
];

const schemas: string[] = [];
afterAll(async () => {
  await server?.stop();
  if (schemas.length === 0) return;
  const sql = await createSqlClient({ url: pg.url });
  for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await sql.close();
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`tiered cache across processes (${backend.name} L2 + bus)`, () => {
    let workers: Worker[] = [];
    const config = (seed: number): WorkerConfig => {
      const name = uniqueName('tp');
      return { l2: backend.name, url: backend.url(), prefix: `${name}:`, channel: name, seed };
    };
    /** N workers on one prefix, channel (and schema). */
    const start = async (n: number) => {
      const base = config(0);
      if (backend.name === 'postgresql') {
        base.schema = base.channel;
        schemas.push(base.channel);
      }
      workers = await startWorkers(n, (i) => ({ ...base, seed: 7919 * (i + 1) }));
      return workers;
    };
    afterEach(async () => {
      await Promise.all(workers.map((w) => w.close()));
      workers = [];
    });

    it('a write in one process is gone from the others’ L1 once its bus message arrived', async () => {
      const [a, b] = await start(2);
      /** Waits until `w` received a bus message (the write's own message must not race the read). */
      const received = (w: Worker) =>
        eventually('the bus message arrived', async () => (await w.call<number[]>('lags')).length > 0);
      await a!.call('set', 'user:1', 'v1', 60_000);
      await received(b!);
      expect(await b!.call('get', 'user:1')).toBe('v1');
      expect(await b!.call('l1', ['user:1'])).toEqual(['v1']); // B now serves it from L1

      await a!.call('set', 'user:1', 'v2', 60_000);
      // Poll B's L1: the old value goes once the message arrived (no fixed wait).
      await eventually(
        'B dropped user:1 from L1',
        async () => (await b!.call<(string | null)[]>('l1', ['user:1']))[0] !== 'v1',
      );
      expect(await b!.call('get', 'user:1')).toBe('v2');

      // Deletes and pattern deletes travel the same way.
      await b!.call('set', 'user:2', 'x', 60_000);
      await received(a!);
      expect(await a!.call('get', 'user:2')).toBe('x');
      expect(await a!.call('l1', ['user:2'])).toEqual(['x']);
      await b!.call('deletePattern', 'user:*');
      await eventually('A dropped user:* from L1', async () =>
        (await a!.call<(string | null)[]>('l1', ['user:1', 'user:2'])).every((v) => v === null),
      );
      expect(await a!.call('get', 'user:2')).toBeNull();
      const lags = await a!.call<number[]>('lags');
      expect(lags.length).toBeGreaterThan(0);
      for (const lag of lags) expect(lag).toBeGreaterThanOrEqual(0);
    });

    it('3 processes × 1,000 random writes, deletes and pattern deletes: every L1 then agrees with L2', async () => {
      const procs = await start(3);
      const keys = Array.from({ length: 40 }, (_, i) => `k${Math.floor(i / 10)}${i % 10}`);
      await Promise.all(procs.map((w) => w.call('random', 1_000, keys, 8)));
      // Messages still in flight land within the bus lag; poll until they did.
      let disagreements: string[] = [];
      await eventually(
        'every L1 agrees with L2',
        async () => {
          const l2 = await procs[0]!.call<(string | null)[]>('l2', keys);
          const l1s = await Promise.all(procs.map((w) => w.call<(string | null)[]>('l1', keys)));
          disagreements = l1s.flatMap((l1, p) =>
            l1.flatMap((v, i) =>
              v === null || v === l2[i] ? [] : [`process ${p} ${keys[i]}: L1 ${v}, L2 ${l2[i]}`],
            ),
          );
          return disagreements.length === 0;
        },
        10_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${disagreements.join('; ')}`);
      });
      // And L1 was really in use: some process holds some key.
      const held = (await Promise.all(procs.map((w) => w.call<(string | null)[]>('l1', keys)))).flat();
      expect(held.some((v) => v !== null)).toBe(true);
    }, 60_000);

    it('a loader stampede across 3 processes runs each key’s loader once', async () => {
      const procs = await start(3);
      const keys = Array.from({ length: 10 }, (_, i) => `load:${i}`);
      const results = await Promise.all(procs.map((w) => w.call<string[]>('getOrSet', keys, 150)));
      const loads = await Promise.all(procs.map((w) => w.call<Record<string, number>>('loads')));
      for (const [i, key] of keys.entries()) {
        const total = loads.reduce((sum, l) => sum + (l[key] ?? 0), 0);
        expect(total, key).toBe(1);
        // Everyone got the one loaded value.
        expect(new Set(results.map((r) => r[i])).size, key).toBe(1);
      }
    });
  });
}
