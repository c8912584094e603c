import { ErrorCode, isIntegrationError } from '@fraiseql/core';
import { checkService, describeQueueProvider, sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitQueue, priorityLevel, queueNames, RUNGS_MS } from '../src/index';
import { Tracker } from './helpers';

const service = await checkService('rabbitmq');
const tracker = new Tracker(service.url);
afterAll(() => tracker.cleanup(), 60_000);

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(isIntegrationError(err), String(err)).toBe(true);
    return (err as { code: string }).code;
  }
  throw new Error('expected an IntegrationError');
}

describeQueueProvider('rabbitmq', (opts) => tracker.create(opts), {
  skip: !service.available,
  additionalTests: (ctx) => {
    it('declares honestly what RabbitMQ cannot do, and says so when asked', async () => {
      const p = await ctx.setup();
      expect(p.capabilities).toEqual({
        priority: true,
        delay: true,
        dedup: false,
        inspect: false,
        retryById: false,
        pause: true,
      });
      const q = ctx.queueName();
      const err = await p.getJob(q, 'x').catch((e) => e);
      expect(err.code).toBe(ErrorCode.UnsupportedOperation);
      expect(err.message).toMatch(/cannot find a message by id/);
      expect(err.message).toMatch(/retryFailed/);
      const dedup = await p.enqueue(q, 1, { dedupKey: 'k' }).catch((e) => e);
      expect(dedup.code).toBe('IN005');
      expect(dedup.message).toMatch(/dedupKey/);
    });

    it('enqueueMany of more than one publish batch resolves only once all are in the queue, in order, priorities kept', async () => {
      const p = (await ctx.setup()) as Awaited<ReturnType<typeof createRabbitQueue>>;
      const q = ctx.queueName('bulk');
      const items = Array.from({ length: 2500 }, (_, i) => ({
        data: { i },
        opts: i === 1700 ? { priority: 5 } : i === 2400 ? { priority: -3 } : undefined,
      }));
      const ids = await p.enqueueMany(q, items);
      expect(ids).toHaveLength(2500);
      expect(new Set(ids).size).toBe(2500);
      // Resolved = confirmed: every job is already countable, nothing still in flight.
      expect(await p.queueLength(q)).toBe(2500);
      const seen: number[] = [];
      const w = ctx.track(
        p.process<{ i: number }>(
          q,
          async (job) => {
            seen.push(job.data.i);
          },
          { concurrency: 1 },
        ),
      );
      await waitFor(() => seen.length === 2500, 30_000, 'all 2500 jobs');
      await w.close();
      const rest = Array.from({ length: 2500 }, (_, i) => i).filter((i) => i !== 1700 && i !== 2400);
      expect(seen).toEqual([1700, ...rest, 2400]);
    });

    it('failed jobs land in the dead-letter queue; peekFailed shows them, retryFailed brings them back', async () => {
      const p = (await ctx.setup()) as Awaited<ReturnType<typeof createRabbitQueue>>;
      const q = ctx.queueName('dlq');
      const ids = await p.enqueueMany(
        q,
        [1, 2, 3].map((n) => ({ data: { n }, opts: { maxRetries: 0 } })),
      );
      let healthy = false;
      const runs: { id: string; attempts: number }[] = [];
      const failed: string[] = [];
      const w = ctx.track(
        p.process(q, async (job) => {
          runs.push({ id: job.id, attempts: job.attempts });
          if (!healthy) throw new Error(`downstream down for ${job.id}`);
        }),
      );
      w.on('failed', (job: { id: string }) => failed.push(job.id));
      await ctx.waitFor(() => failed.length === 3, 'three failed jobs');
      expect(await p.failedCount(q)).toBe(3);
      expect(await p.queueLength(q)).toBe(0);

      const peeked = await p.peekFailed(q, 10);
      expect(peeked.map((j) => j.id)).toEqual(ids);
      expect(peeked[0]).toMatchObject({
        queue: q,
        data: { n: 1 },
        state: 'failed',
        attempts: 1,
        maxRetries: 0,
      });
      expect(peeked[0]!.lastError).toContain(`downstream down for ${ids[0]}`);
      expect(peeked[0]!.failedAt).toBeInstanceOf(Date);
      // Peeking leaves them where they were.
      expect(await p.failedCount(q)).toBe(3);
      expect((await p.peekFailed(q, 2)).map((j) => j.id)).toEqual(ids.slice(0, 2));

      healthy = true;
      expect(await p.retryFailed(q, 1)).toBe(1);
      expect(await p.retryFailed(q)).toBe(2);
      expect(await p.failedCount(q)).toBe(0);
      await ctx.waitFor(() => runs.length === 6, 'the three retried jobs to run');
      // attempts start again from 1
      expect(runs.slice(3).map((r) => r.attempts)).toEqual([1, 1, 1]);
      expect(
        runs
          .slice(3)
          .map((r) => r.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect(await p.retryFailed(q)).toBe(0);
      expect(await p.peekFailed(q)).toEqual([]);
    });

    it('a message that is not a job is kept in the dead-letter queue as it was, not retried or lost', async () => {
      const p = (await ctx.setup()) as Awaited<ReturnType<typeof createRabbitQueue>>;
      const q = ctx.queueName('alien');
      const good = await p.enqueue(q, { n: 1 });
      const conn = await connect(service.url);
      try {
        const ch = await conn.createConfirmChannel();
        ch.sendToQueue(queueNames(tracker.prefix, q).jobs, Buffer.from('not json'), { messageId: 'alien-1' });
        await ch.waitForConfirms();
      } finally {
        await conn.close();
      }
      const ran: string[] = [];
      ctx.track(
        p.process(q, async (job) => {
          ran.push(job.id);
        }),
      );
      await ctx.waitFor(
        async () => (await p.failedCount(q)) === 1 && ran.length === 1,
        'the alien message in the DLQ',
      );
      expect(ran).toEqual([good]);
      const [alien] = await p.peekFailed(q);
      expect(alien).toMatchObject({ id: 'alien-1', data: 'not json', state: 'failed' });
      expect(alien!.lastError).toMatch(/not JSON/);
    });

    it('purgeFailed empties the dead-letter queue; DLQ calls on an unknown queue are empty', async () => {
      const p = (await ctx.setup()) as Awaited<ReturnType<typeof createRabbitQueue>>;
      const q = ctx.queueName('purge');
      await p.enqueue(q, { n: 1 }, { maxRetries: 0 });
      await p.enqueue(q, { n: 2 }, { maxRetries: 0 });
      const failed: string[] = [];
      const w = ctx.track(p.process(q, async () => ({ status: 'failed' as const, reason: 'nope' })));
      w.on('failed', (job: { id: string }) => failed.push(job.id));
      await ctx.waitFor(() => failed.length === 2, 'two failed jobs');
      expect(await p.purgeFailed(q)).toBe(2);
      expect(await p.failedCount(q)).toBe(0);
      const unknown = ctx.queueName('never');
      expect(await p.peekFailed(unknown)).toEqual([]);
      expect(await p.retryFailed(unknown)).toBe(0);
      expect(await p.purgeFailed(unknown)).toBe(0);
      expect(await p.isPaused(unknown)).toBe(false);
      expect(await codeOf(() => p.peekFailed(q, 0))).toBe('IN309');
      expect(await codeOf(() => p.retryFailed(q, -1))).toBe('IN309');
    });

    it('a delay that needs several trips through the TTL rungs is still never early', async () => {
      const p = await ctx.setup();
      const q = ctx.queueName('hops');
      // 1200 ms is not a rung: it is parked 1024 ms, then 128 ms, then 64 ms (see nextRung).
      const delay = 1200;
      const started: number[] = [];
      ctx.track(
        p.process(q, async () => {
          started.push(Date.now());
        }),
      );
      const t0 = Date.now();
      await p.enqueueDelayed(q, { n: 1 }, delay);
      expect(await p.queueLength(q)).toBe(1);
      await ctx.waitFor(() => started.length === 1, 'the delayed job');
      expect(started[0]! - t0).toBeGreaterThanOrEqual(delay);
      expect(await p.queueLength(q)).toBe(0);
    });

    it('priorities map onto 10 levels by magnitude; within a level jobs run oldest first', async () => {
      expect([-16, -5, -1, 0, 1, 5, 6, 2 ** 31 - 1].map((p) => priorityLevel(p))).toEqual([
        0, 2, 4, 5, 6, 8, 8, 10,
      ]);
      const p = await ctx.setup();
      const q = ctx.queueName('prio');
      const low = await p.enqueue(q, { n: 'low' }, { priority: -5 });
      const top1 = await p.enqueue(q, { n: 'top1' }, { priority: 1000 });
      const mid = await p.enqueue(q, { n: 'mid' }, { priority: 3 });
      const top2 = await p.enqueue(q, { n: 'top2' }, { priority: 16 });
      const order: string[] = [];
      ctx.track(
        p.process(q, async (job) => {
          order.push(job.id);
        }),
      );
      await ctx.waitFor(() => order.length === 4, 'four jobs');
      // 1000 and 16 share level 10, so they run oldest first.
      expect(order).toEqual([top1, top2, mid, low]);
    });

    it('a worker never runs more than `concurrency` handlers at once (prefetch = concurrency)', async () => {
      const p = await ctx.setup();
      const q = ctx.queueName('prefetch');
      await p.enqueueMany(
        q,
        Array.from({ length: 40 }, (_, i) => ({ data: { i } })),
      );
      let now = 0;
      let peak = 0;
      let done = 0;
      const body = async () => {
        now++;
        peak = Math.max(peak, now);
        await sleep(5 + Math.floor(Math.random() * 10));
        now--;
        done++;
      };
      ctx.track(p.process(q, body, { concurrency: 4 }));
      await ctx.waitFor(() => done === 40, 'forty jobs');
      expect(peak).toBeLessThanOrEqual(4);
      expect(peak).toBeGreaterThan(1);
    });

    it('oversized payloads and a tighter maxJobBytes are refused with IN308 naming the limit', async () => {
      const p = await tracker.create({ maxJobBytes: 1000 });
      {
        const q = uniqueName('big');
        const err = await p.enqueue(q, { blob: 'x'.repeat(2000) }).catch((e) => e);
        expect(err.code).toBe('IN308');
        expect(err.message).toMatch(/limit is 1000/);
        const huge = await p.enqueue(q, 'x'.repeat(1024 * 1024)).catch((e) => e);
        expect(huge.code).toBe('IN308');
        expect(await p.queueLength(q)).toBe(0);
        expect(await p.enqueue(q, { small: true })).toMatch(/^[0-9a-f-]{36}$/);
      }
    });

    it('bad factory options are coded errors, and no error leaks the password', async () => {
      expect(await codeOf(() => createRabbitQueue({ url: '' }))).toBe('IN001');
      expect(await codeOf(() => createRabbitQueue({ url: 'http://localhost' }))).toBe('IN002');
      expect(await codeOf(() => createRabbitQueue({ url: service.url, prefix: 'amq.x' }))).toBe('IN002');
      expect(await codeOf(() => createRabbitQueue({ url: service.url, concurrency: 0 }))).toBe('IN002');
      const rate = await createRabbitQueue({
        url: service.url,
        queues: { mail: { rateLimit: { max: 1, perSeconds: 1 } } },
      }).catch((e) => e);
      expect(rate.code).toBe('IN005');
      expect(rate.message).toMatch(/rateLimit/);

      const refused = await createRabbitQueue({ url: 'amqp://u:s3cretpw@127.0.0.1:1' }).catch((e) => e);
      expect(refused.code).toBe('IN501');
      expect(JSON.stringify({ m: refused.message, j: refused.toJSON() })).not.toContain('s3cretpw');

      const u = new URL(service.url);
      u.password = 'wrong-s3cret';
      const denied = await createRabbitQueue({ url: u.toString() }).catch((e) => e);
      expect(isIntegrationError(denied)).toBe(true);
      expect(denied.code).toBe('IN404');
      expect(denied.message).not.toContain('wrong-s3cret');
    });

    it('every rung is declared with a TTL that dead-letters back to the jobs queue', async () => {
      // Guards the ladder the delay tests rely on: 32 ms … 2^22 ms, doubling.
      expect(RUNGS_MS[0]).toBe(32);
      expect(RUNGS_MS.at(-1)).toBe(2 ** 22);
      const p = await ctx.setup();
      const q = ctx.queueName('rung');
      await p.enqueueDelayed(q, { n: 1 }, 5_000);
      await waitFor(async () => (await p.queueLength(q)) === 1, 5_000, 'the parked job to be counted');
    });
  },
});

describe.skipIf(!service.available)('rabbitmq provider lifecycle', () => {
  it('health check is true while connected and false after close; calls after close are IN502', async () => {
    const p = await createRabbitQueue({ url: service.url });
    expect(await p.healthCheck()).toBe(true);
    await p.close();
    expect(await p.healthCheck()).toBe(false);
    expect(await codeOf(() => p.enqueue('q', 1))).toBe('IN502');
    expect(() => p.process('q', async () => {})).toThrow(/closed/);
  });
});
