import { describeQueueProvider, uniqueName, waitFor } from '@fraiseql/testkit';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import {
  type RedisCluster,
  redisClusterAvailable,
  startRedisCluster,
} from '../../../tooling/redis-cluster.ts';
import { bullmqQueueName, createRedisQueue, DEFAULT_PREFIX } from '../src/index';

/**
 * The whole contract on a throwaway 3-master Redis Cluster, through a caller's ioredis Cluster
 * client: BullMQ's Lua scripts touch many keys of a queue at once, which only works because the
 * prefix's hash tag puts all of them in one slot.
 */
const cluster: RedisCluster | undefined = redisClusterAvailable() ? await startRedisCluster() : undefined;
if (!cluster)
  console.warn('\n!!! SKIPPING the Redis Cluster suite: redis-server / redis-cli are not installed.\n');

const nodes = (cluster?.nodes ?? []).map((n) => {
  const [host, port] = n.split(':');
  return { host: host!, port: Number(port) };
});
const client = new Cluster(nodes, { lazyConnect: true });
const prefix = `{${uniqueName('fqc')}}`;

afterAll(async () => {
  client.disconnect();
  await cluster?.stop();
});

describeQueueProvider('redis (cluster)', (opts) => createRedisQueue({ client, prefix, ...opts }), {
  skip: !cluster,
  additionalTests: ({ setup, queueName, track, waitFor: until }) => {
    it('spreads nothing across slots: every key of the prefix is in one slot, readable by BullMQ', async () => {
      const p = await setup();
      const q = `${queueName('slot')}:x`;
      const id = await p.enqueue(q, { hello: 'cluster' }, { priority: 2, dedupKey: 'd' });
      await p.enqueueDelayed(q, { later: true }, 60_000);
      const raw = new Queue(bullmqQueueName(q), { connection: client as any, prefix });
      expect(await raw.getJobCounts('prioritized', 'delayed')).toEqual({ prioritized: 1, delayed: 1 });
      expect((await raw.getJob(id))?.data).toEqual({ hello: 'cluster' });
      await raw.close();
      const done: string[] = [];
      track(p.process(q, async (job) => void done.push(job.id)));
      await until(() => done.includes(id), 'the job to run on the cluster');
      const slots = new Set<number>();
      for (const master of client.nodes('master')) {
        const keys = await master.keys(`${prefix}*`);
        for (const key of keys) slots.add(Number(await master.cluster('KEYSLOT', key)));
      }
      expect(slots.size).toBe(1);
    });
  },
});

it.skipIf(!cluster)('the default prefix is hash-tagged, so it works on a cluster as is', async () => {
  expect(DEFAULT_PREFIX).toBe('{fraiseql}');
  const p = await createRedisQueue({ client });
  const q = uniqueName('default');
  const id = await p.enqueue(q, { n: 1 });
  const seen: string[] = [];
  const w = p.process(q, async (job) => void seen.push(job.id));
  await waitFor(() => seen.includes(id), 15_000, 'the job to run');
  await w.close();
  expect(await p.deleteJob(q, id)).toBe(true);
  await p.close();
});
