import { setTimeout as sleep } from 'node:timers/promises';
import { quoteIdent } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../src/index.ts';
import { BACKENDS, type Rig } from './backends.ts';

/** Waits until `read` stops changing (jobs still in flight from the backend), at most `maxMs`. */
async function settled(read: () => number, maxMs = 5000): Promise<number> {
  let last = -1;
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const n = read();
    if (n === last) return n;
    last = n;
    await sleep(400);
  }
  return read();
}

describe.each(Object.keys(BACKENDS))('scheduler over the %s queue', (backend) => {
  it('everyMs 200 over 3 s fires once per tick with the template data; remove stops it', async () => {
    const rig: Rig = await (BACKENDS[backend] as () => Promise<Rig>)();
    const prefix = (rig as Rig & { storePrefix?: string }).storePrefix;
    const schema = uniqueName('conf');
    const scheduler = await createScheduler({
      queue: rig.queue,
      store: rig.store,
      ...(prefix ? { prefix } : { schema }),
    });
    const queueName = uniqueName('conf');
    const seen: unknown[] = [];
    const worker = rig.queue.process(queueName, async (job) => {
      seen.push(job.data);
    });
    try {
      const data = { report: 'daily', n: [1, 2, 3] };
      await scheduler.upsert({ id: queueName, everyMs: 200, queue: queueName, data });
      const from = Date.now();
      await scheduler.start();
      await sleep(3000);
      expect(await scheduler.remove(queueName)).toBe(true);
      const to = Date.now();
      const expected = Math.floor(to / 200) - Math.floor(from / 200);
      const fired = await settled(() => seen.length);
      expect(Math.abs(fired - expected), `fired ${fired}, expected ${expected} ± 1`).toBeLessThanOrEqual(1);
      for (const d of seen) expect(d).toEqual(data);
      await sleep(800);
      expect(seen.length).toBe(fired);
    } finally {
      await worker.close();
      await scheduler.stop();
      if (typeof rig.store === 'object' && 'query' in rig.store) {
        await rig.store.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      }
      await rig.close();
    }
  });
});
