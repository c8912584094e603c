import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { queueNames } from '../src/index';
import { Tracker } from './helpers';

const service = await checkService('rabbitmq');
const tracker = new Tracker(service.url);
afterAll(() => tracker.cleanup(), 60_000);

describe.skipIf(!service.available)('rabbitmq worker: stalled event', () => {
  it("emits 'stalled' once with the job id when a consumer died holding the job", async () => {
    const p = await tracker.create();
    const q = uniqueName('stalled');
    const lost = await p.enqueue(q, { n: 1 });

    // Consumer A takes the job and its connection closes without an ack.
    const conn = await connect(service.url);
    const ch = await conn.createChannel();
    await ch.prefetch(1);
    const taken = new Promise<string | undefined>((resolve) => {
      void ch.consume(queueNames(tracker.prefix, q).jobs, (msg) => resolve(msg?.properties.messageId), {
        noAck: false,
      });
    });
    expect(await taken).toBe(lost);
    await conn.close();

    // Consumer B gets it redelivered.
    const stalled: string[] = [];
    const completed: string[] = [];
    const runs: string[] = [];
    const worker = p.process(q, async (job) => {
      runs.push(job.id);
    });
    worker.on('stalled', (id: string) => stalled.push(id));
    worker.on('completed', (job: { id: string }) => completed.push(job.id));
    try {
      await waitFor(() => completed.length === 1, 10_000, 'the lost job to complete');
      // A job that was never lost does not count as stalled.
      const fresh = await p.enqueue(q, { n: 2 });
      await waitFor(() => completed.length === 2, 10_000, 'the fresh job to complete');
      expect(stalled).toEqual([lost]);
      expect(completed).toEqual([lost, fresh]);
      expect(runs).toEqual([lost, fresh]);
    } finally {
      await worker.close();
    }
  });
});
