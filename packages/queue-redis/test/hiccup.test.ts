import { sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { createRedisQueue } from '../src/index';

/**
 * A Redis of our own (AOF with fsync on every write, so an acknowledged write survives a crash)
 * that is SIGKILLed and restarted while jobs are being enqueued and processed.
 */
describe.skipIf(!redisServerInstalled())('queue-redis through a Redis crash and restart', () => {
  let server: RedisServer | undefined;

  afterAll(async () => {
    await server?.stop();
  });

  it('every acknowledged job is processed at least once; health is false while Redis is down', async () => {
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    expect(await admin.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    admin.disconnect();

    const p = await createRedisQueue({
      url: server.url,
      prefix: '{hiccup}',
      visibilityTimeoutMs: 2000,
      healthCheckTimeoutMs: 500,
    });
    const q = uniqueName('hiccup');
    const processed = new Map<string, number>();
    const worker = p.process(
      q,
      async (job) => {
        processed.set(job.id, (processed.get(job.id) ?? 0) + 1);
        await sleep(2);
      },
      { concurrency: 4 },
    );
    worker.on('error', () => {});

    const acked: string[] = [];
    let refused = 0;
    const producer = (async () => {
      for (let i = 0; i < 400; i++) {
        try {
          acked.push(await p.enqueue(q, { i }));
        } catch {
          // Not acknowledged, so not owed: the caller saw the failure.
          refused++;
        }
      }
    })();

    for (const at of [100, 250]) {
      await waitFor(() => acked.length >= at, 30_000, `${at} acknowledged enqueues`);
      await server.kill();
      expect(await p.healthCheck()).toBe(false);
      await sleep(300);
      await server.start();
    }
    await producer;
    await waitFor(
      () => acked.every((id) => processed.has(id)),
      40_000,
      'every acknowledged job to be processed',
    );
    expect(acked.length + refused).toBe(400);
    expect(acked.length).toBeGreaterThan(250);
    expect(new Set(acked).size).toBe(acked.length);
    expect(acked.filter((id) => processed.has(id)).length).toBe(acked.length);
    expect(await p.healthCheck()).toBe(true);
    await waitFor(async () => (await p.queueLength(q)) === 0, 20_000, 'the queue to drain');
    await worker.close({ timeoutMs: 2000 });
    await p.close();
  }, 90_000);
});
