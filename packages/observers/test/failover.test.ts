import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pg, until } from './helpers';
import {
  crashSchema,
  deliveryCounts,
  type ListenerProcess,
  leaderOf,
  produce,
  spawnListener,
} from './processes';

const HEALTH_MS = 200;
const THRESHOLD_MS = 1000;

describe.skipIf(!pg.available)('leader failover across listener processes', () => {
  let sql: SqlClient;
  const schemas: string[] = [];
  const children: ListenerProcess[] = [];
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await sql?.close();
  });

  const start = (schema: string, id: string, extra: Record<string, string> = {}) => {
    const c = spawnListener({
      DB_URL: pg.url,
      SCHEMA: schema,
      GROUP: 'ha',
      LISTENER_ID: id,
      HEALTH_MS: String(HEALTH_MS),
      THRESHOLD_MS: String(THRESHOLD_MS),
      ...extra,
    });
    children.push(c);
    return c;
  };
  const healthy = async (schema: string) =>
    (
      await sql.query<{ listener_id: string; role: string }>(
        `SELECT listener_id, role FROM "${schema}".observer_listeners WHERE last_heartbeat_at > now() - interval '1 second' ORDER BY listener_id`,
      )
    ).rows;

  it('seed 8.9: three listeners, kill -9 the leader, a standby takes over from the shared checkpoint, 0 lost; the killed one re-registers as standby', async () => {
    const schema = uniqueName('ha');
    schemas.push(schema);
    await crashSchema(sql, schema);
    const byId = new Map<string, ListenerProcess>();
    for (const id of ['listener-1', 'listener-2', 'listener-3']) byId.set(id, start(schema, id));
    await Promise.all([...byId.values()].map((c) => c.ready));
    // Steps 1-2: all three registered, one leader.
    await until(
      async () => (await healthy(schema)).length === 3 && (await leaderOf(sql, schema, 'ha')).leader !== null,
      10_000,
      'a leader',
    );
    const first = await leaderOf(sql, schema, 'ha');
    expect((await healthy(schema)).filter((l) => l.role === 'leader').map((l) => l.listener_id)).toEqual([
      first.leader,
    ]);

    const producer = produce(sql, schema, 2000, 15);
    await until(async () => Number((await leaderOf(sql, schema, 'ha')).eventId) > 300, 20_000, 'progress');
    // Step 3: kill -9 the leader mid-stream.
    const killedAt = Date.now();
    byId.get(first.leader!)!.proc.kill('SIGKILL');
    await byId.get(first.leader!)!.exited;
    // Step 4: a standby leads with epoch + 1 within threshold + interval (plus scheduling slack).
    await until(
      async () => {
        const now = await leaderOf(sql, schema, 'ha');
        return now.leader !== null && now.leader !== first.leader;
      },
      10_000,
      'a new leader',
    );
    const takeoverMs = Date.now() - killedAt;
    const second = await leaderOf(sql, schema, 'ha');
    expect(second.epoch).toBe(first.epoch + 1);
    expect(takeoverMs).toBeLessThan(THRESHOLD_MS + HEALTH_MS + 2000);
    expect(byId.get(second.leader!)!.output()).toContain(
      `failover ${first.leader} ${second.leader} ${second.epoch}`,
    );
    // Step 5: restart the killed listener; step 6: all three healthy, it is a standby.
    byId.set(first.leader!, start(schema, first.leader!));
    await byId.get(first.leader!)!.ready;
    await until(async () => (await healthy(schema)).length === 3, 10_000, 'three healthy listeners');
    await producer;
    const { rows: maxRow } = await sql.query<{ id: string }>(
      `SELECT max(id)::text AS id FROM "${schema}".tb_entity_change_log`,
    );
    await until(
      async () => (await leaderOf(sql, schema, 'ha')).eventId === maxRow[0]!.id,
      60_000,
      'the new leader to drain the log',
    );
    const roles = await healthy(schema);
    expect(roles.find((l) => l.listener_id === first.leader)?.role).toBe('standby');
    expect(roles.filter((l) => l.role === 'leader').map((l) => l.listener_id)).toEqual([second.leader]);
    const counts = await deliveryCounts(sql, schema);
    console.info(
      `[observers failover] takeover after kill -9: ${takeoverMs} ms (threshold ${THRESHOLD_MS}, interval ${HEALTH_MS}); lost ${counts.lost}; re-runs ${counts.reruns}`,
    );
    expect(counts.lost).toBe(0);
    for (const c of byId.values()) c.proc.kill('SIGTERM');
    await Promise.all([...byId.values()].map((c) => c.exited));
  }, 120_000);

  it('a SIGSTOPped leader is fenced: after SIGCONT its stale checkpoint write is refused, it steps down, nothing moves backwards', async () => {
    const schema = uniqueName('fence');
    schemas.push(schema);
    await crashSchema(sql, schema);
    const a = start(schema, 'a', { WORK_MS: '40' });
    await a.ready;
    await until(async () => (await leaderOf(sql, schema, 'ha')).leader === 'a', 10_000, 'a to lead');
    const b = start(schema, 'b', { WORK_MS: '40' });
    await b.ready;
    const producer = produce(sql, schema, 600, 10);
    await until(async () => Number((await leaderOf(sql, schema, 'ha')).eventId) > 50, 20_000, 'progress');
    const before = await leaderOf(sql, schema, 'ha');
    a.proc.kill('SIGSTOP');
    await until(async () => (await leaderOf(sql, schema, 'ha')).leader === 'b', 10_000, 'b to take over');
    const taken = await leaderOf(sql, schema, 'ha');
    expect(taken.epoch).toBe(before.epoch + 1);
    // Watch the checkpoint: it must never move backwards, whatever the paused leader does on waking.
    let lastSeen = BigInt(taken.eventId);
    let backwards = false;
    const watching = setInterval(async () => {
      const now = BigInt(
        (await leaderOf(sql, schema, 'ha').catch(() => ({ eventId: String(lastSeen) }))).eventId,
      );
      if (now < lastSeen) backwards = true;
      lastSeen = now > lastSeen ? now : lastSeen;
    }, 20);
    await new Promise((r) => setTimeout(r, 500));
    a.proc.kill('SIGCONT');
    await until(() => a.output().includes('leadership lost'), 10_000, 'a to notice it lost the lease');
    await producer;
    const { rows: maxRow } = await sql.query<{ id: string }>(
      `SELECT max(id)::text AS id FROM "${schema}".tb_entity_change_log`,
    );
    await until(
      async () => (await leaderOf(sql, schema, 'ha')).eventId === maxRow[0]!.id,
      60_000,
      'b to drain the log',
    );
    clearInterval(watching);
    const after = await leaderOf(sql, schema, 'ha');
    expect(after).toMatchObject({ leader: 'b', epoch: taken.epoch });
    expect((await healthy(schema)).find((l) => l.listener_id === 'a')?.role).toBe('standby');
    expect(backwards).toBe(false);
    const counts = await deliveryCounts(sql, schema);
    console.info(
      `[observers fencing] lost ${counts.lost}; re-runs ${counts.reruns} (the paused leader's in-flight batch)`,
    );
    expect(counts.lost).toBe(0);
    for (const c of [a, b]) c.proc.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }, 120_000);
});
