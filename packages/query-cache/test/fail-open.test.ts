import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { createRedisCache } from '@fraiseql/cache-redis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb, qcOn, until } from './helpers';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const sock = new Socket();
        sock.once('connect', () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => resolve(false));
        sock.connect(port, '127.0.0.1');
      }),
    10_000,
    'redis-server up',
  );
  return proc;
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

describe.each(['postgres', 'pglite'] as const)('fail open on %s', (name) => {
  let db: Db;
  let redis: ChildProcess | undefined;
  beforeAll(async () => {
    db = await openDb(name);
  });
  afterAll(async () => {
    if (redis) await stop(redis);
    await db?.close();
  });

  it('a dead cache never fails a query; caching resumes when it is back', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    const cache = await createRedisCache({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
    });
    const registry = new Registry();
    const { qc, storage } = await qcOn(db.sql, { cache, registry, cacheRetryMs: 100 });
    const q = `SELECT id, total FROM ${db.t('orders')} ORDER BY id`;
    const expected = (await qc.query(q)).rows;
    await qc.query(q);
    expect(qc.stats().hits).toBe(1);

    await stop(redis);
    const before = storage.count;
    for (let i = 0; i < 10; i++) {
      expect((await qc.query(q)).rows).toEqual(expected);
      await qc.query(`UPDATE ${db.t('orders')} SET total = total WHERE id = 1`);
    }
    expect(storage.count - before).toBe(20);
    expect(qc.stats().fallbacks).toBeGreaterThanOrEqual(10);
    const fb = await registry.getSingleMetric('fraiseql_query_cache_fallbacks_total')?.get();
    expect(fb?.values[0]?.value).toBeGreaterThanOrEqual(10);

    redis = await startRedis(port);
    await until(
      async () => {
        const hits = qc.stats().hits;
        await qc.query(q);
        await qc.query(q);
        return qc.stats().hits > hits;
      },
      15_000,
      'caching resumes',
    );
    expect((await qc.query(q)).rows).toEqual(expected);
    await cache.close();
  });
});
