import { fileURLToPath } from 'node:url';
import { ensureChangeLog } from '@fraiseql/observers';
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
});
