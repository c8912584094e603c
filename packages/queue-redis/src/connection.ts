import { withTimeout } from '@fraiseql/core';
import type { Cluster, Redis } from 'ioredis';
import { isCluster } from './options';

/** A worker's own connection: BullMQ requires `maxRetriesPerRequest: null` for workers. */
export function workerConnection(client: Redis | Cluster, connectionName: string): Redis | Cluster {
  const conn = isCluster(client)
    ? client.duplicate(undefined, {
        lazyConnect: false,
        redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null, connectionName },
      })
    : (client as Redis).duplicate({ lazyConnect: false, maxRetriesPerRequest: null, connectionName });
  conn.on('error', () => {});
  return conn;
}

/** QUIT, or a hard disconnect when the server does not answer within a second. */
export async function closeConnection(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  try {
    await withTimeout(
      client.quit().catch(() => undefined),
      1000,
      () => new Error('QUIT timed out'),
    ).catch(() => undefined);
  } finally {
    if ((client.status as string) !== 'end') client.disconnect();
  }
}
