import { describeQueueProvider } from '@fraiseql/testkit';
import { afterAll } from 'vitest';
import { createRedisQueue } from '../src/index';
import { dropPrefix, redis, uniquePrefix } from './helpers';

const prefix = uniquePrefix();

afterAll(async () => {
  if (redis.available) await dropPrefix(redis.url, prefix);
});

describeQueueProvider('redis', (opts) => createRedisQueue({ url: redis.url, prefix, ...opts }), {
  skip: !redis.available,
});
