import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../src/envelope';
import { JOB_TYPE, queueNames, type RabbitQueueProvider } from '../src/index';
import { Tracker } from './helpers';

const service = await checkService('rabbitmq');
const tracker = new Tracker(service.url);
let conn: ChannelModel;
let ch: ConfirmChannel;

beforeAll(async () => {
  conn = await connect(service.url);
  ch = await conn.createConfirmChannel();
});
afterAll(async () => {
  await conn?.close().catch(() => {});
  await tracker.cleanup();
}, 60_000);

/** Takes one message off a broker queue, acking it. */
async function take(queue: string) {
  for (let i = 0; i < 100; i++) {
    const msg = await ch.get(queue, { noAck: true });
    if (msg) return msg;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no message in ${queue}`);
}

describe.skipIf(!service.available)('rabbitmq message format', () => {
  it('a job is its data as the body; id (carrying its creation time) in properties, the rest in headers', async () => {
    const p = await tracker.create({ queueDefaults: { maxRetries: 7 } });
    const q = uniqueName('lean');
    const before = Date.now();
    const id = await p.enqueue(q, { a: [1, 'x'] }, { priority: 2, timeoutMs: 900 });
    const after = Date.now();
    const msg = await take(queueNames(tracker.prefix, q).jobs);
    expect(msg.content.toString('utf8')).toBe('{"a":[1,"x"]}');
    expect(msg.properties).toMatchObject({
      messageId: id,
      type: JOB_TYPE,
      deliveryMode: 2,
      priority: 7, // priority 2: level 7 of the default 10 (0 is level 5, 1 is 6, 2-3 are 7)
    });
    // A version 7 UUID: its first 48 bits are the creation time in ms.
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const created = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(created).toBeGreaterThanOrEqual(before);
    expect(created).toBeLessThanOrEqual(after);
    expect(msg.properties.headers).toMatchObject({
      'fraiseql-max-retries': 7,
      'fraiseql-priority': 2,
      'fraiseql-timeout': 900,
    });
    // A fresh job carries no counters, no run-at of its own, no error, no creation header.
    for (const h of [
      'fraiseql-created',
      'fraiseql-attempts',
      'fraiseql-failures',
      'fraiseql-run-at',
      'fraiseql-last-error',
    ])
      expect(msg.properties.headers).not.toHaveProperty(h);
  });

  it('a default job has no headers: its properties fit the 64 bytes RabbitMQ handles fastest', async () => {
    const p = await tracker.create();
    const q = uniqueName('small');
    const [id] = await p.enqueueMany(q, [{ data: { n: 1 } }]);
    const msg = await take(queueNames(tracker.prefix, q).jobs);
    expect(msg.properties.messageId).toBe(id);
    expect(msg.properties.headers ?? {}).toEqual({});
    expect(msg.properties.contentType).toBeUndefined();
    expect(msg.properties.timestamp).toBeUndefined();
    // flags 2 + deliveryMode 1 + priority 1 + empty headers table 4 + messageId 1+36 + type 1+15
    expect(2 + 1 + 1 + 4 + 1 + id!.length + 1 + JOB_TYPE.length).toBeLessThanOrEqual(64);
    // Read back with the default retry budget and the creation time from the id.
    await p.enqueue(q, { n: 2 });
    const before = Date.now();
    const seen: { maxRetries: number; createdAt: Date }[] = [];
    const w = p.process(q, async (job) => {
      seen.push({ maxRetries: job.maxRetries, createdAt: job.createdAt });
    });
    await waitFor(() => seen.length === 1, 10_000, 'the job');
    await w.close();
    expect(seen[0]!.maxRetries).toBe(3);
    expect(seen[0]!.createdAt.getTime()).toBeLessThanOrEqual(before);
    expect(seen[0]!.createdAt.getTime()).toBeGreaterThan(before - 60_000);
  });

  it('a message of version 2 (type fraiseql.job.v2, creation and retries in headers) still runs', async () => {
    const p = await tracker.create();
    const q = uniqueName('v2');
    await p.enqueue(q, 'declare');
    const created = Date.now() - 5000;
    ch.sendToQueue(queueNames(tracker.prefix, q).jobs, Buffer.from('{"v":2}'), {
      persistent: true,
      messageId: '0b7e0f64-3c1a-4e4f-9d55-2f1f3f4c5a6b',
      contentType: 'application/json',
      timestamp: Math.floor(created / 1000),
      type: 'fraiseql.job.v2',
      priority: 5,
      headers: { 'fraiseql-created': created, 'fraiseql-max-retries': 5, 'fraiseql-attempts': 1 },
    });
    await ch.waitForConfirms();
    const runs: { id: string; data: unknown; attempts: number; maxRetries: number; createdAt: Date }[] = [];
    const w = p.process(q, async (job) => {
      runs.push({ ...job });
    });
    await waitFor(() => runs.length === 2, 10_000, 'both jobs');
    await w.close();
    const old = runs.find((r) => r.id === '0b7e0f64-3c1a-4e4f-9d55-2f1f3f4c5a6b');
    expect(old).toMatchObject({ data: { v: 2 }, attempts: 2, maxRetries: 5 });
    expect(old!.createdAt.getTime()).toBe(created);
  });

  it('a message of the first format (a JSON envelope as the body) still runs, counters and all', async () => {
    const p: RabbitQueueProvider = await tracker.create({ queueDefaults: { retryDelayMs: 1 } });
    const q = uniqueName('v1');
    const n = queueNames(tracker.prefix, q);
    await p.queueLength(q); // nothing declared yet
    await p.enqueue(q, { warm: true }); // declares the queue
    const now = Date.now();
    const old = {
      v: 1 as const,
      id: 'old-format-1',
      queue: 'whatever-the-body-says',
      data: { hello: 'old' },
      attempts: 2,
      failures: 1,
      lost: 0,
      maxRetries: 2,
      priority: 0,
      createdAt: now - 5000,
      runAt: now - 1000,
      lastError: 'earlier failure',
    };
    ch.sendToQueue(n.jobs, encodeEnvelope(old), {
      persistent: true,
      messageId: old.id,
      priority: 5,
      contentType: 'application/json',
      type: 'fraiseql.job',
    });
    await ch.waitForConfirms();
    const runs: {
      id: string;
      queue: string;
      data: unknown;
      attempts: number;
      maxRetries: number;
      createdAt: Date;
    }[] = [];
    const w = p.process(q, async (job) => {
      runs.push({ ...job });
      // The old job fails once more: its retry is published in the new format and runs again.
      if (job.id === old.id && job.attempts === 3) throw new Error('once more');
    });
    await waitFor(() => runs.filter((r) => r.id === old.id).length === 2, 10_000, 'the old job, twice');
    await w.close();
    const mine = runs.filter((r) => r.id === old.id);
    expect(mine.map((r) => r.attempts)).toEqual([3, 4]);
    for (const r of mine) {
      expect(r).toMatchObject({ queue: q, data: { hello: 'old' }, maxRetries: 2 });
      expect(r.createdAt.getTime()).toBe(old.createdAt);
    }
    expect(await p.failedCount(q)).toBe(0);
  });

  it('a new-format job quarantined by a 0.x worker (its type dropped) comes back with retryFailed', async () => {
    const p = await tracker.create();
    const q = uniqueName('upgrade');
    await p.enqueue(q, 'declare'); // declares the queue; this job stays pending
    // What a 0.x worker's quarantine publishes: body and headers kept, `type` not.
    ch.sendToQueue(queueNames(tracker.prefix, q).dlq, Buffer.from('{"n":42}'), {
      persistent: true,
      messageId: 'upgraded-1',
      contentType: 'application/json',
      headers: {
        'fraiseql-created': Date.now(),
        'fraiseql-max-retries': 1,
        'x-fraiseql-error': 'message body is not a fraiseql job envelope',
      },
    });
    await ch.waitForConfirms();
    const [failed] = await p.peekFailed(q);
    expect(failed).toMatchObject({ id: 'upgraded-1', data: { n: 42 }, maxRetries: 1 });
    expect(await p.retryFailed(q)).toBe(1);
    const seen: unknown[] = [];
    const w = p.process(q, async (job) => {
      seen.push(job.data);
    });
    await waitFor(() => seen.length === 2, 10_000, 'both jobs');
    await w.close();
    expect(seen).toContainEqual({ n: 42 });
  });

  it('maxPriority 0 declares a plain queue; a priority there is IN005, never ignored', async () => {
    const plainQ = uniqueName('plain');
    const p = await tracker.create({ queues: { [plainQ]: { maxPriority: 0 } } });
    expect(p.capabilities.priority).toBe(true); // the default queue has levels
    await expect(p.enqueue(plainQ, 1, { priority: 3 })).rejects.toMatchObject({
      code: 'IN005',
      message: expect.stringMatching(/maxPriority 0/),
    });
    await p.enqueue(plainQ, 1, { priority: 0 });
    const ids = await p.enqueueMany(plainQ, [{ data: 2 }, { data: 3 }]);
    expect(ids).toHaveLength(2);
    // A declare without x-max-priority is accepted: the queue has no priority levels.
    const probe = await conn.createChannel();
    probe.on('error', () => {});
    const reply = await probe.assertQueue(queueNames(tracker.prefix, plainQ).jobs, { durable: true });
    expect(reply.messageCount).toBe(3);
    await probe.close();
    const msg = await take(queueNames(tracker.prefix, plainQ).jobs);
    expect(msg.properties.priority).toBeUndefined();

    const off = await tracker.create({ queueDefaults: { maxPriority: 0 } });
    expect(off.capabilities.priority).toBe(false);
    await expect(tracker.create({ queueDefaults: { maxPriority: 256 } })).rejects.toMatchObject({
      code: 'IN002',
    });
  });

  it('a jobs queue declared by 0.x (x-max-priority 20) is used as it is', async () => {
    const q = uniqueName('legacy');
    const jobs = queueNames(tracker.prefix, q).jobs;
    tracker.queues.add(q);
    await ch.assertQueue(jobs, { durable: true, arguments: { 'x-max-priority': 20 } });
    const p = await tracker.create();
    const low = await p.enqueue(q, 'low', { priority: -1 });
    const high = await p.enqueue(q, 'high', { priority: 4 });
    expect(await p.queueLength(q)).toBe(2);
    const order: string[] = [];
    const w = p.process(
      q,
      async (job) => {
        order.push(job.id);
      },
      { concurrency: 1 },
    );
    await waitFor(() => order.length === 2, 10_000, 'both jobs');
    await w.close();
    expect(order).toEqual([high, low]);
  });
});
