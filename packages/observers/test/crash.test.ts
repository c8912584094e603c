import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pg, until } from './helpers';
import { crashSchema, deliveryCounts, produce, spawnListener } from './processes';

const redis = await checkService('redis');
const EVENTS = 2000;

describe.skipIf(!pg.available || !redis.available)('kill -9 of listener processes', () => {
  let sql: SqlClient;
  const schemas: string[] = [];
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await sql?.close();
  });

  /** Inserts EVENTS events while listeners are SIGKILLed at random points, then drains with a clean one. */
  async function crashRun(withCache: boolean): Promise<{ lost: number; reruns: number; kills: number }> {
    const schema = uniqueName('crash');
    schemas.push(schema);
    await crashSchema(sql, schema);
    const env = { DB_URL: pg.url, SCHEMA: schema, ...(withCache ? { REDIS_URL: redis.url } : {}) };
    let producing = true;
    const producer = produce(sql, schema, EVENTS, 20).then(() => {
      producing = false;
    });
    let kills = 0;
    while (producing || kills < 8) {
      const child = spawnListener(env);
      await child.ready;
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 450));
      child.proc.kill('SIGKILL');
      await child.exited;
      kills++;
    }
    await producer;
    const last = spawnListener(env);
    await last.ready;
    const { rows: maxRow } = await sql.query<{ id: string }>(
      `SELECT max(id)::text AS id FROM "${schema}".tb_entity_change_log`,
    );
    await until(
      async () => {
        const { rows } = await sql.query<{ event_id: string }>(
          `SELECT event_id::text FROM "${schema}".observer_checkpoints WHERE listener_id = 'crash'`,
        );
        return rows[0]?.event_id === maxRow[0]?.id;
      },
      60_000,
      'the clean listener to drain the log',
    );
    last.proc.kill('SIGTERM');
    await last.exited;
    return { ...(await deliveryCounts(sql, schema)), kills };
  }

  it(`loses no event over ${EVENTS} events and repeated SIGKILLs; the action cache absorbs redeliveries`, async () => {
    const plain = await crashRun(false);
    const cached = await crashRun(true);
    console.info(
      `[observers crash] without action cache: ${plain.kills} kills, ${plain.lost} lost, ${plain.reruns} completed actions run again; ` +
        `with action cache: ${cached.kills} kills, ${cached.lost} lost, ${cached.reruns} completed actions run again`,
    );
    expect(plain.lost).toBe(0);
    expect(cached.lost).toBe(0);
    // With the cache, only an action killed between its last write and the cache mark re-runs:
    // at most the actions in flight at each kill (maxParallelism 20), whatever the batch held.
    expect(cached.reruns).toBeLessThanOrEqual(cached.kills * 20);
    // Without it, a kill before the checkpoint re-runs every completed action of the batch.
    if (plain.reruns >= 20) expect(cached.reruns).toBeLessThan(plain.reruns);
  }, 240_000);
});
