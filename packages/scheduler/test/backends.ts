import type { QueueProvider } from '@fraiseql/core';
import { MockQueueProvider } from '@fraiseql/mocks';
import { createSqlClient, quoteIdent, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { createRabbitQueue } from '@fraiseql/queue-rabbitmq';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { checkService, dropRedisPrefix, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';
import type { SchedulerOptions } from '../src/index.ts';

/** One queue backend with the store it is tested on, and how to clean both up. */
export interface Rig {
  queue: QueueProvider;
  store: SchedulerOptions['store'];
  close(): Promise<void>;
}

export const BACKENDS: Record<string, () => Promise<Rig>> = {
  /** Postgres queue, Postgres store on the same server. */
  async postgresql() {
    const pg = await checkService('postgres');
    const sql = await createSqlClient({ url: pg.url });
    const schema = uniqueName('sch');
    const queue = await createPostgresQueue({ sql, schema, pollIntervalMs: 200 });
    return {
      queue,
      store: sql,
      async close() {
        await queue.close();
        await sql.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        await sql.close();
      },
    };
  },
  /** Redis queue (BullMQ), Redis store. */
  async redis() {
    const r = await checkService('redis');
    const prefix = uniqueName('{sch}');
    const queue = await createRedisQueue({ url: r.url, prefix });
    const client = new Redis(r.url);
    const storePrefix = `${prefix}:store:`;
    return {
      queue,
      store: client,
      async close() {
        await queue.close();
        await dropRedisPrefix(client, storePrefix);
        await client.quit();
      },
      storePrefix,
    } as Rig;
  },
  /** RabbitMQ queue (no dedup), store on embedded PGlite. */
  async rabbitmq() {
    const a = await checkService('rabbitmq');
    const queue = await createRabbitQueue({ url: a.url });
    const sql: SqlClient = await createSqlClient({});
    return {
      queue,
      store: sql,
      async close() {
        await queue.close();
        await sql.close();
      },
    };
  },
  /** The mock queue, memory store. */
  async mock() {
    const queue = new MockQueueProvider();
    return { queue, store: 'memory', close: () => queue.close() };
  },
};
