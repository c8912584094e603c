import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueProvider } from '@fraiseql/core';
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { createRabbitQueue, type RabbitQueueProvider } from '@fraiseql/queue-rabbitmq';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { checkService, dropRedisPrefix as dropKeys, type ServiceCheck, uniqueName } from '@fraiseql/testkit';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';

export type QueueBackendName = 'postgresql' | 'pglite' | 'redis' | 'rabbitmq';
export const QUEUE_BACKENDS: readonly QueueBackendName[] = ['postgresql', 'pglite', 'redis', 'rabbitmq'];

/** What a backend's final state says about the jobs of one queue. */
export interface Verdict {
  /** Ids the backend reports completed (or, without inspection, that ran to the end with the queue drained). */
  completed: Set<string>;
  pending: number;
  failed: number;
}

/**
 * One queue backend as the crash matrix drives it: a producer in this process, the environment
 * of fixtures/worker.mjs, a final check, and cleanup of everything it created.
 */
export interface QueueBackend {
  readonly name: QueueBackendName;
  /** Only one process may open the database at a time (PGlite): the producer closes before workers start. */
  readonly singleProcess: boolean;
  enqueue(queue: string, n: number): Promise<string[]>;
  childEnv(queue: string): Record<string, string>;
  /** `done` = ids whose handler ran to the end (worker events), for backends that cannot list jobs. */
  verify(queue: string, ids: readonly string[], done: ReadonlySet<string>): Promise<Verdict>;
  close(): Promise<void>;
}

/** The service a backend needs (PGlite needs none). */
export async function serviceFor(name: QueueBackendName): Promise<ServiceCheck | undefined> {
  if (name === 'pglite') return undefined;
  return checkService(name === 'postgresql' ? 'postgres' : name);
}

/** Completed ids by paging through `listJobs` (bounded: at most `max` jobs). */
async function completedIds(provider: QueueProvider, queue: string, max: number): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let offset = 0; offset < max; offset += 1000) {
    const page = await provider.listJobs(queue, { state: 'completed', limit: 1000, offset });
    for (const j of page) ids.add(j.id);
    if (page.length < 1000) break;
  }
  return ids;
}

const WORKER_OPTIONS = { maxRetries: 25, retryDelayMs: 20 };

export async function openQueueBackend(
  name: QueueBackendName,
  opts: { lease: number; service?: ServiceCheck },
): Promise<QueueBackend> {
  const queueDefaults = WORKER_OPTIONS;
  if (name === 'postgresql') {
    const url = opts.service!.url;
    const schema = uniqueName('faults_q');
    const sql = await createSqlClient({ url, poolOptions: { application_name: uniqueName('faults_prod') } });
    const provider = await createPostgresQueue({
      sql,
      schema,
      visibilityTimeoutMs: opts.lease,
      queueDefaults,
    });
    return {
      name,
      singleProcess: false,
      enqueue: (queue, n) => enqueueAll(provider, queue, n),
      childEnv: (queue) => ({
        BACKEND: name,
        DB_URL: url,
        SCHEMA: schema,
        QUEUE: queue,
        APP_NAME: uniqueName('faults_w'),
      }),
      verify: async (queue, ids) => verifyListed(provider, queue, ids),
      async close() {
        await provider.close();
        await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.close();
      },
    };
  }
  if (name === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-faults-pglite-'));
    const schema = '_system';
    // Opened only while no worker runs: PGlite allows one process per directory.
    const open = async () => {
      const sql = await createSqlClient({ embeddedDir: dir });
      const provider = await createPostgresQueue({
        sql,
        schema,
        visibilityTimeoutMs: opts.lease,
        queueDefaults,
      });
      return {
        provider,
        close: async () => {
          await provider.close();
          await sql.close();
        },
      };
    };
    return {
      name,
      singleProcess: true,
      async enqueue(queue, n) {
        const db = await open();
        try {
          return await enqueueAll(db.provider, queue, n);
        } finally {
          await db.close();
        }
      },
      childEnv: (queue) => ({ BACKEND: name, PGLITE_DIR: dir, SCHEMA: schema, QUEUE: queue }),
      async verify(queue, ids) {
        const db = await open();
        try {
          return await verifyListed(db.provider, queue, ids);
        } finally {
          await db.close();
        }
      },
      async close() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (name === 'redis') {
    const url = opts.service!.url;
    const prefix = `{${uniqueName('faults_q')}}`;
    const provider = await createRedisQueue({
      url,
      prefix,
      visibilityTimeoutMs: opts.lease,
      queueDefaults,
      keepCompleted: { maxCount: 1_000_000 },
    });
    return {
      name,
      singleProcess: false,
      enqueue: (queue, n) => enqueueAll(provider, queue, n),
      childEnv: (queue) => ({ BACKEND: name, REDIS_URL: url, PREFIX: prefix, QUEUE: queue }),
      verify: async (queue, ids) => verifyListed(provider, queue, ids),
      async close() {
        await provider.close();
        await dropRedisPrefix(url, prefix);
      },
    };
  }
  const url = opts.service!.url;
  const prefix = uniqueName('faults_q');
  const provider = await createRabbitQueue({
    url,
    prefix,
    queueDefaults,
    connectionName: `${prefix} producer`,
  });
  const queues = new Set<string>();
  return {
    name,
    singleProcess: false,
    enqueue: (queue, n) => {
      queues.add(queue);
      return enqueueAll(provider, queue, n);
    },
    childEnv: (queue) => ({
      BACKEND: name,
      AMQP_URL: url,
      PREFIX: prefix,
      QUEUE: queue,
      CONN_NAME: `${prefix} worker`,
    }),
    // RabbitMQ cannot list finished jobs: a job is done when its handler ran to the end and the
    // queue (and its dead-letter queue) are empty afterwards.
    async verify(queue, ids, done) {
      const pending = await provider.queueLength(queue);
      const failed = await provider.failedCount(queue);
      return { completed: new Set(ids.filter((id) => done.has(id))), pending, failed };
    },
    async close() {
      await dropRabbitQueues(provider, url, prefix, [...queues]);
    },
  };
}

async function enqueueAll(provider: QueueProvider, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ data: { i: i + k } }));
    ids.push(...(await provider.enqueueMany(queue, batch)));
  }
  return ids;
}

async function verifyListed(
  provider: QueueProvider,
  queue: string,
  ids: readonly string[],
): Promise<Verdict> {
  return {
    completed: await completedIds(provider, queue, ids.length + 1000),
    pending: await provider.queueLength(queue),
    failed: await provider.failedCount(queue),
  };
}

/** Deletes every key under `prefix` (SCAN + UNLINK), leaving the shared Redis as it was. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await dropKeys(client, prefix);
  } finally {
    client.disconnect();
  }
}

/** Deletes the broker objects of `queues` and the provider prefix's control exchange. */
export async function dropRabbitQueues(
  provider: RabbitQueueProvider,
  url: string,
  prefix: string,
  queues: string[],
): Promise<void> {
  for (const q of queues) await provider.deleteQueue(q).catch(() => {});
  await provider.close();
  const conn = await amqpConnect(url);
  try {
    const ch = await conn.createChannel();
    await ch.deleteExchange(`${prefix}.control`);
  } finally {
    await conn.close();
  }
}
