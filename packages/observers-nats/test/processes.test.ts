import { fileURLToPath } from 'node:url';
import { createObserverRuntime, ensureChangeLog } from '@fraiseql/observers';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Child,
  Children,
  NATS_URL,
  names,
  natsAvailable,
  ownNatsServer,
  sleep,
  Transports,
  until,
} from './helpers';

const pg = await checkService('postgres');
const NODE = fileURLToPath(new URL('./fixtures/node.mjs', import.meta.url));

describe.skipIf(!pg.available || !natsAvailable)('bridge and worker processes on NATS', () => {
  let sql: SqlClient;
  const schemas: string[] = [];
  const children = new Children();
  const ts = new Transports();
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterEach(async () => {
    await children.killAll();
    await ts.cleanup();
  }, 60_000);
  afterAll(async () => {
    for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await sql?.close();
  });

  /** A schema with a change log and the deliveries table; env of the processes on it. */
  async function setup(db: SqlClient = sql, schema = uniqueName('nats')): Promise<string> {
    if (db === sql) schemas.push(schema);
    await ensureChangeLog(db, { table: `${schema}.tb_entity_change_log` });
    await db.exec(
      `CREATE TABLE IF NOT EXISTS "${schema}".deliveries (id bigserial PRIMARY KEY, event_id bigint NOT NULL, source text NOT NULL, phase text NOT NULL)`,
    );
    return schema;
  }

  async function insert(db: SqlClient, schema: string, from: number, count: number): Promise<void> {
    const rows = Array.from(
      { length: count },
      (_, j) => `('Crash', '${from + j}', 'INSERT', '{"n": ${from + j}}')`,
    ).join(',');
    await db.exec(
      `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ${rows}`,
    );
  }

  async function counts(
    schema: string,
    db: SqlClient = sql,
  ): Promise<{ events: number; done: number; duplicates: number }> {
    const d = `"${schema}".deliveries`;
    const { rows } = await db.query<{ events: number; done: number; duplicates: number }>(
      `SELECT count(DISTINCT (source, event_id))::int AS events, count(*)::int AS done,
              (count(*) - count(DISTINCT (source, event_id)))::int AS duplicates
         FROM ${d} WHERE phase = 'done'`,
    );
    return rows[0]!;
  }

  async function lost(schema: string): Promise<number> {
    const { rows } = await sql.query<{ lost: number }>(
      `SELECT count(*)::int AS lost FROM "${schema}".tb_entity_change_log l
        WHERE NOT EXISTS (SELECT 1 FROM "${schema}".deliveries x WHERE x.event_id = l.id AND x.phase = 'done')`,
    );
    return rows[0]!.lost;
  }

  function envOf(
    schema: string,
    n: ReturnType<typeof names>,
    over: Record<string, string> = {},
  ): Record<string, string> {
    return {
      DB_URL: pg.url,
      SCHEMA: schema,
      NATS_URL,
      STREAM: n.stream,
      PREFIX: n.subjectPrefix,
      DURABLE: n.durable,
      ...over,
    };
  }

  async function start(env: Record<string, string>, role: 'listener' | 'worker'): Promise<Child> {
    const c = children.spawn(NODE, { ...env, ROLE: role });
    await c.ready;
    return c;
  }

  it('1 bridge + 3 workers, 5000 events, workers SIGKILLed at random: nothing lost', async () => {
    const EVENTS = 5000;
    const schema = await setup();
    const n = names();
    ts.track(n.stream);
    const env = envOf(schema, n);
    await start(env, 'listener');
    const workers = await Promise.all([0, 1, 2].map(() => start(env, 'worker')));
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < EVENTS; i += 50) {
        await insert(sql, schema, i, 50);
        await sleep(40);
      }
      producing = false;
    })();
    let kills = 0;
    while (producing || kills < 10) {
      await sleep(150 + Math.random() * 350);
      const i = Math.floor(Math.random() * workers.length);
      workers[i]!.proc.kill('SIGKILL');
      await workers[i]!.exited;
      kills++;
      workers[i] = await start(env, 'worker');
    }
    await producer;
    await until(async () => (await counts(schema)).events === EVENTS, 60_000, `all ${EVENTS} events done`);
    const c = await counts(schema);
    const l = await lost(schema);
    console.info(
      `[observers-nats kill -9] ${EVENTS} events, ${kills} worker kills, ${l} lost, ${c.duplicates} duplicate deliveries`,
    );
    expect(l).toBe(0);
    expect(c.events).toBe(EVENTS);
  }, 110_000);

  it('broker restart mid-run (own nats-server, same port and store): nothing lost', async () => {
    const server = await ownNatsServer();
    const local = new Transports();
    try {
      const EVENTS = 2000;
      const schema = await setup();
      const n = names();
      const env = envOf(schema, n, { NATS_URL: server.url });
      await start(env, 'listener');
      await Promise.all([0, 1].map(() => start(env, 'worker')));
      const producer = (async () => {
        for (let i = 0; i < EVENTS; i += 50) {
          await insert(sql, schema, i, 50);
          await sleep(50);
        }
      })();
      await until(async () => (await counts(schema)).events > 200, 20_000, 'some events done');
      await server.kill();
      const before = (await counts(schema)).events;
      await sleep(1500);
      await server.restart();
      await producer;
      await until(
        async () => (await counts(schema)).events === EVENTS,
        60_000,
        `all ${EVENTS} events done after the restart`,
      );
      const c = await counts(schema);
      const l = await lost(schema);
      console.info(
        `[observers-nats broker restart] ${EVENTS} events, ${before} done before the restart, ${l} lost, ${c.duplicates} duplicates`,
      );
      expect(l).toBe(0);
      // The consumer has worked everything off: nothing pending or unacked, ack floor at the
      // stream's last message. (nats-server 2.9 may keep a few already-acked messages in a
      // work-queue stream after a SIGKILL, the deletes not being on disk; they are never redelivered.)
      const t = await local.make({ servers: server.url, ...n });
      await until(
        async () => {
          const [si, ci] = await Promise.all([
            t.jsm.streams.info(n.stream),
            t.jsm.consumers.info(n.stream, n.durable),
          ]);
          return (
            ci.num_pending === 0 && ci.num_ack_pending === 0 && ci.ack_floor.stream_seq === si.state.last_seq
          );
        },
        20_000,
        'the consumer to be caught up',
      );
      const si = await t.jsm.streams.info(n.stream);
      console.info(
        `[observers-nats broker restart] stream stored ${si.state.last_seq} messages for ${EVENTS} events; ${si.state.messages} acked messages left behind by the SIGKILL`,
      );
    } finally {
      await children.killAll();
      await local.cleanup(server.url);
      await server.stop();
    }
  }, 110_000);

  it('bridge crash after publish, before the checkpoint: the re-publish is deduplicated, each event delivered once', async () => {
    const EVENTS = 300;
    const schema = await setup();
    const n = names();
    const t = await ts.make(n);
    await insert(sql, schema, 0, EVENTS);
    // The crashed bridge: it read the batch from the change log and published it, then died
    // before saving its checkpoint (none was ever saved).
    const reader = await createObserverRuntime({
      sql,
      schema,
      changeLog: `${schema}.tb_entity_change_log`,
      observers: [],
    });
    const batch = await reader.recentEvents({ limit: 1000 });
    expect(batch).toHaveLength(EVENTS);
    await t.publish(batch);
    expect((await t.jsm.streams.info(n.stream)).state.messages).toBe(EVENTS);
    // The next bridge starts from the same (empty) checkpoint and publishes the same events again.
    await start(envOf(schema, n), 'listener');
    const maxId = batch.map((e) => Number(e.id)).reduce((a, b) => Math.max(a, b));
    await until(
      async () => {
        const { rows } = await sql.query<{ id: string }>(
          `SELECT event_id::text AS id FROM "${schema}".observer_checkpoints WHERE listener_id = 'nats'`,
        );
        return rows[0]?.id === String(maxId);
      },
      20_000,
      'the second bridge to checkpoint past every event',
    );
    const si = await t.jsm.streams.info(n.stream);
    expect(si.state.messages).toBe(EVENTS);
    expect(si.state.last_seq).toBe(EVENTS);
    await start(envOf(schema, n), 'worker');
    await until(async () => (await counts(schema)).events === EVENTS, 30_000, 'all events done');
    await sleep(2500); // past ackWait: a second delivery would have shown up
    const c = await counts(schema);
    const ci = await t.jsm.consumers.info(n.stream, n.durable);
    console.info(
      `[observers-nats bridge crash] ${EVENTS} events published twice: stream holds ${si.state.messages}, consumer delivered ${ci.delivered.consumer_seq}, ${c.duplicates} duplicates`,
    );
    expect(c.done).toBe(EVENTS);
    expect(c.duplicates).toBe(0);
    expect(ci.delivered.consumer_seq).toBe(EVENTS);
    expect(ci.num_pending + ci.num_ack_pending + ci.num_redelivered).toBe(0);
    expect((await t.jsm.streams.info(n.stream)).state.messages).toBe(0);
  }, 60_000);

  it('multi-database bridge: two databases, one listener each (db1, db2), one stream, one worker', async () => {
    const EVENTS = 100;
    const dbName = uniqueName('test_obs');
    await sql.exec(`CREATE DATABASE "${dbName}"`);
    const url2 = new URL(pg.url);
    url2.pathname = `/${dbName}`;
    const sql2 = await createSqlClient({ url: url2.toString() });
    try {
      const schema1 = await setup();
      const schema2 = await setup(sql2, uniqueName('nats'));
      const n = names();
      ts.track(n.stream);
      await start(envOf(schema1, n, { SOURCE: 'db1' }), 'listener');
      await start(envOf(schema2, n, { SOURCE: 'db2', DB_URL: url2.toString() }), 'listener');
      await start(envOf(schema1, n), 'worker');
      // Both change logs number their events 1..100: only `source` tells them apart.
      await Promise.all([insert(sql, schema1, 0, EVENTS), insert(sql2, schema2, 1000, EVENTS)]);
      await until(
        async () => (await counts(schema1)).events === 2 * EVENTS,
        30_000,
        'the events of both databases',
      );
      const { rows } = await sql.query<{ source: string; events: number; min: string; max: string }>(
        `SELECT source, count(DISTINCT event_id)::int AS events, min(event_id)::text AS min, max(event_id)::text AS max
           FROM "${schema1}".deliveries WHERE phase = 'done' GROUP BY source ORDER BY source`,
      );
      console.info(`[observers-nats multi-db] worker saw ${JSON.stringify(rows)}`);
      expect(rows).toEqual([
        { source: 'db1', events: EVENTS, min: '1', max: String(EVENTS) },
        { source: 'db2', events: EVENTS, min: '1', max: String(EVENTS) },
      ]);
    } finally {
      await children.killAll();
      await sql2.close();
      await sql.exec(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    }
  }, 60_000);
});
