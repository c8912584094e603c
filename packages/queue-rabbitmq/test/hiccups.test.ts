import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { checkService, sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { closeConnections, connectionPids, hasRabbitmqctl, Tracker } from './helpers';

const service = await checkService('rabbitmq');
const tracker = new Tracker(service.url);
const canCtl = service.available && (await hasRabbitmqctl());
if (service.available && !canCtl)
  console.warn('\n!!! SKIPPING the rabbitmqctl hiccup test: rabbitmqctl is not usable here\n');
afterAll(() => tracker.cleanup(), 60_000);

/** A TCP proxy to the broker that can be cut (every socket destroyed, new ones refused) and restored. */
async function brokerProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 5672), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await start();
  const url = new URL(target.toString());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), start, stop };
}

describe.skipIf(!service.available)('rabbitmq connection loss', () => {
  it.skipIf(!canCtl)(
    'rabbitmqctl closing the connections mid-run: workers and publishers recover, every confirmed job runs',
    async () => {
      const marker = uniqueName('hiccup');
      const opts = { connectionName: `${marker} fraiseql-test`, reconnectMaxDelayMs: 300 };
      const publisher = await tracker.create(opts);
      const consumer = await tracker.create(opts);
      const q = uniqueName('hiccup');
      const processed = new Map<string, number>();
      const w = consumer.process(
        q,
        async (job) => {
          await sleep(2);
          processed.set(job.id, (processed.get(job.id) ?? 0) + 1);
        },
        { concurrency: 5 },
      );
      // Both providers' connections, looked up before the run (rabbitmqctl is slow to start).
      const pids = await connectionPids(marker);
      expect(pids.length).toBeGreaterThanOrEqual(2);
      const confirmed: string[] = [];
      const refused: unknown[] = [];
      let closing: Promise<void> | undefined;
      let closedDone = false;
      let n = 0;
      // Ten publishers in parallel, each enqueueing one job every few ms, until the connections
      // have been closed under them and at least 400 jobs went out.
      const lanes = Array.from({ length: 10 }, async () => {
        while (!(closedDone && n >= 400)) {
          n++;
          try {
            confirmed.push(await publisher.enqueue(q, { n }));
          } catch (err) {
            refused.push(err);
          }
          if (confirmed.length >= 100 && !closing) {
            closing = closeConnections(pids).finally(() => {
              closedDone = true;
            });
          }
          await sleep(10);
        }
      });
      await Promise.all(lanes);
      await closing;
      // Waiting for the reconnect is bounded by operationTimeoutMs (10 s): no enqueue was refused.
      expect(refused).toEqual([]);
      expect(confirmed).toHaveLength(n);
      await waitFor(
        () => confirmed.every((id) => processed.has(id)),
        30_000,
        'every confirmed job to be processed',
      );
      await waitFor(() => consumer.healthCheck(), 10_000, 'the consumer to be healthy again');
      // Both providers really lost their connections and came back on new ones.
      const after = await connectionPids(marker);
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(after.filter((pid) => pids.includes(pid))).toEqual([]);
      expect(await publisher.healthCheck()).toBe(true);
      // Duplicates (a confirm lost with the connection is published again) drain as well.
      await waitFor(async () => (await publisher.queueLength(q)) === 0, 10_000, 'the queue to drain');
      expect(await publisher.failedCount(q)).toBe(0);
      await w.close();
    },
    90_000,
  );

  it('a broker out of reach: calls fail with IN502 in bounded time, then everything resumes', async () => {
    const proxy = await brokerProxy(new URL(service.url));
    const p = await tracker.create({ url: proxy.url, operationTimeoutMs: 1_000, reconnectMaxDelayMs: 200 });
    const direct = await tracker.create();
    const q = uniqueName('outage');
    const seen: string[] = [];
    const w = p.process(q, async (job) => {
      seen.push(job.id);
    });
    const before = await p.enqueue(q, { n: 'before' });
    await waitFor(() => seen.includes(before), 10_000, 'a job before the outage');

    await proxy.stop();
    await waitFor(async () => !(await p.healthCheck()), 5_000, 'the health check to turn false');
    const t0 = Date.now();
    const err = await p.enqueue(q, { n: 'during' }).catch((e) => e);
    expect(err.code).toBe('IN502');
    expect(err.message).toMatch(/no connection/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await p.queueLength(q).catch((e) => e.code)).toBe('IN502');
    // Another client can still enqueue; the cut-off worker picks it up once it is back.
    const during = await direct.enqueue(q, { n: 'queued during the outage' });

    await proxy.start();
    await waitFor(() => seen.includes(during), 15_000, 'the worker to come back and run the queued job');
    expect(await p.healthCheck()).toBe(true);
    const after = await p.enqueue(q, { n: 'after' });
    await waitFor(() => seen.includes(after), 10_000, 'a job after the outage');
    await w.close();
    await p.close();
    await proxy.stop();
  }, 60_000);
});
