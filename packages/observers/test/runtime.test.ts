import { createMemoryCache } from '@fraiseql/cache-memory';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installChangeCapture } from '../src/index';
import type { EntityEvent } from '../src/types';
import { type Db, databases, executed, metricValue, openDb, runtimeOn, until } from './helpers';

describe.each(databases)('observer runtime on %s', (name) => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb(name);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.useFreshLog();
  });

  it("processes the seed's INSERT, saves the checkpoint, and a restart does not reprocess", async () => {
    const seen: EntityEvent[] = [];
    const observers = [
      {
        name: 'order-created',
        entity: 'Order',
        events: ['INSERT' as const],
        condition: "status == 'new'",
        actions: [{ type: 'record' }],
      },
    ];
    const id = await db.insert('Order', 'test-123', 'INSERT', { status: 'new' });
    const first = await runtimeOn(db, { observers, group: 'seed' });
    first.registerAction('record', async (e) => {
      seen.push(e);
    });
    const done = executed(first, 1);
    await first.start();
    await done;
    await first.stop();
    expect(seen.map((e) => [e.id, e.entity, e.entityId, e.kind, e.data])).toEqual([
      [id, 'Order', 'test-123', 'INSERT', { status: 'new' }],
    ]);
    const { rows } = await db.sql.query(
      `SELECT * FROM "${db.schema}".observer_checkpoints WHERE listener_id = 'seed'`,
    );
    expect(rows).toHaveLength(1);
    expect(String(rows[0]?.event_id)).toBe(id);
    expect(rows[0]?.last_processed_at).toBeInstanceOf(Date);

    const second = await runtimeOn(db, { observers, group: 'seed' });
    second.registerAction('record', async (e) => {
      seen.push(e);
    });
    const next = executed(second, 1);
    await second.start();
    const id2 = await db.insert('Order', 'test-124', 'INSERT', { status: 'new' });
    await next;
    await second.stop();
    expect(seen.map((e) => e.id)).toEqual([id, id2]);
  });

  it('runs the same row inserted twice once with dedup, counting one skip', async () => {
    const runs: string[] = [];
    const store = await createMemoryCache({});
    const runtime = await runtimeOn(db, {
      group: 'dedup',
      observers: [{ name: 'o', entity: 'Order', actions: [{ type: 'record' }] }],
      dedup: { store },
    });
    runtime.registerAction('record', async (e) => {
      runs.push(e.id);
    });
    await runtime.start();
    const done = executed(runtime, 2);
    await db.insert('Order', 'order-1', 'INSERT', { status: 'new' });
    await db.insert('Order', 'order-1', 'INSERT', { status: 'new' });
    const summaries = await done;
    await runtime.stop();
    await store.close();
    expect(runs).toHaveLength(1);
    expect(summaries.map((s) => s.duplicateSkipped)).toEqual([false, true]);
    expect(await metricValue(runtime.registry, 'observer_dedup_skips_total')).toBe(1);
  });

  it('runs the actions of one event concurrently', async () => {
    const spans: { start: number; end: number }[] = [];
    const runtime = await runtimeOn(db, {
      group: 'concurrent',
      observers: [
        { name: 'o', entity: 'Slow', actions: [{ type: 'slow' }, { type: 'slow' }, { type: 'slow' }] },
      ],
    });
    runtime.registerAction('slow', async () => {
      const start = performance.now();
      await new Promise((r) => setTimeout(r, 100));
      spans.push({ start, end: performance.now() });
    });
    const [summary] = await Promise.all([
      runtime.processEvent({
        id: '1',
        source: 'default',
        entity: 'Slow',
        entityId: 's',
        kind: 'INSERT',
        data: {},
        createdAt: new Date(),
      }),
      runtime.start(),
    ]);
    await runtime.stop();
    expect(summary?.actionsRun).toBe(3);
    // Every action started before any finished: they overlapped, so the event took ~max, not sum.
    const firstEnd = Math.min(...spans.map((s) => s.end));
    expect(spans.every((s) => s.start < firstEnd)).toBe(true);
  });

  it('keeps events of one entity in id order while others run in parallel', async () => {
    const order: string[] = [];
    const runtime = await runtimeOn(db, {
      group: 'order',
      batchSize: 50,
      observers: [{ name: 'o', entity: 'Seq', actions: [{ type: 'track' }] }],
    });
    runtime.registerAction('track', async (e) => {
      // Later events of an entity are quicker: without per-entity chains they would overtake.
      await new Promise((r) => setTimeout(r, 30 - (e.data as { n: number }).n * 5));
      order.push(`${e.entityId}:${(e.data as { n: number }).n}`);
    });
    for (let n = 0; n < 5; n++) for (const id of ['a', 'b']) await db.insert('Seq', id, 'UPDATE', { n });
    const done = executed(runtime, 10);
    await runtime.start();
    await done;
    await runtime.stop();
    for (const id of ['a', 'b'])
      expect(order.filter((o) => o.startsWith(`${id}:`))).toEqual([0, 1, 2, 3, 4].map((n) => `${id}:${n}`));
  });

  it('matches on entity, kind and condition; a missing field does not match and never throws', async () => {
    const runtime = await runtimeOn(db, {
      group: 'match',
      observers: [
        {
          name: 'big',
          entity: 'Order',
          events: ['INSERT'],
          condition: "total >= 1000 and status == 'new'",
          actions: [{ type: 'noop' }],
        },
        { name: 'any', entity: '*', events: ['DELETE'], actions: [{ type: 'noop' }] },
        {
          name: 'filter',
          entity: 'Order',
          condition: { field: 'tags', op: 'in', value: ['vip'] },
          actions: [{ type: 'noop' }],
        },
      ],
    });
    runtime.registerAction('noop', async () => undefined);
    const ev = (over: Partial<EntityEvent>): EntityEvent => ({
      id: '5',
      source: 'default',
      entity: 'Order',
      entityId: '1',
      kind: 'INSERT',
      data: {},
      createdAt: new Date(),
      ...over,
    });
    expect((await runtime.processEvent(ev({ data: { total: 1500, status: 'new' } }))).observers).toEqual([
      'big',
    ]);
    expect((await runtime.processEvent(ev({ data: { total: 999, status: 'new' } }))).observers).toEqual([]);
    expect((await runtime.processEvent(ev({ data: null }))).observers).toEqual([]);
    expect((await runtime.processEvent(ev({ data: [1, 2] }))).observers).toEqual([]);
    expect((await runtime.processEvent(ev({ kind: 'DELETE', entity: 'User' }))).observers).toEqual(['any']);
    expect(
      (await runtime.processEvent(ev({ kind: 'UPDATE', data: { tags: ['vip', 'x'] } }))).observers,
    ).toEqual(['filter']);
  });

  it('captures changes of a user table through installChangeCapture', async () => {
    const table = `${db.schema}.orders`;
    await db.sql.exec(
      `CREATE TABLE "${db.schema}".orders (order_id text PRIMARY KEY, status text, total int)`,
    );
    await installChangeCapture(db.sql, {
      table,
      entity: "Order'; DROP TABLE x; --",
      idColumn: 'order_id',
      changeLog: db.changeLog,
    });
    const seen: EntityEvent[] = [];
    const runtime = await runtimeOn(db, {
      group: 'capture',
      observers: [{ name: 'o', entity: "Order'; DROP TABLE x; --", actions: [{ type: 'rec' }] }],
    });
    runtime.registerAction('rec', async (e) => {
      seen.push(e);
    });
    await runtime.start();
    const done = executed(runtime, 3);
    await db.sql.query(`INSERT INTO "${db.schema}".orders VALUES ('o1', 'new', 5)`);
    await db.sql.query(`UPDATE "${db.schema}".orders SET status = 'paid' WHERE order_id = 'o1'`);
    await db.sql.query(`DELETE FROM "${db.schema}".orders WHERE order_id = 'o1'`);
    await done;
    await runtime.stop();
    expect(seen.map((e) => [e.kind, e.entityId, (e.data as { status: string }).status])).toEqual([
      ['INSERT', 'o1', 'new'],
      ['UPDATE', 'o1', 'paid'],
      ['DELETE', 'o1', 'paid'],
    ]);
  });

  it('processes hostile change-log rows as data and keeps going', async () => {
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 200; i++) deep = { d: deep };
    const hostile = [
      ["'); DROP TABLE observer_checkpoints; --", 'x', 'INSERT', { a: "'; SELECT pg_sleep(10); --" }],
      ['Order', 'big', 'UPDATE', { blob: 'x'.repeat(2_000_000) }],
      ['Order', 'deep', 'INSERT', deep],
      ['Order', 'weird-kind', 'TRUNCATE', null],
    ] as const;
    const runtime = await runtimeOn(db, {
      group: 'hostile',
      observers: [
        {
          name: 'all',
          entity: '*',
          condition: 'a exists or blob exists or d exists',
          actions: [{ type: 'noop' }],
        },
      ],
    });
    let runs = 0;
    runtime.registerAction('noop', async () => {
      runs++;
    });
    await runtime.start();
    const done = executed(runtime, hostile.length + 1);
    for (const [entity, id, kind, data] of hostile) await db.insert(entity, id, kind, data);
    await db.insert('Order', 'after', 'INSERT', { a: 1 });
    await done;
    await runtime.stop();
    expect(runs).toBe(4);
    const { rows } = await db.sql.query(`SELECT count(*)::int AS n FROM "${db.schema}".observer_checkpoints`);
    expect(rows[0]?.n).toBeGreaterThan(0);
  });

  it('after a clean stop nothing that completed runs again, and the status reports the leader', async () => {
    const runs: string[] = [];
    const make = async () => {
      const r = await runtimeOn(db, {
        group: 'clean',
        listenerId: 'l1',
        observers: [{ name: 'o', entity: 'Clean', actions: [{ type: 'rec' }] }],
      });
      r.registerAction('rec', async (e) => {
        runs.push(e.id);
      });
      return r;
    };
    const a = await make();
    await a.start();
    const done = executed(a, 20);
    for (let i = 0; i < 20; i++) await db.insert('Clean', String(i), 'INSERT', { i });
    await done;
    const status = await a.status();
    expect(status).toMatchObject({
      listenerId: 'l1',
      group: 'clean',
      role: 'leader',
      leader: 'l1',
      dlqSize: 0,
    });
    expect(status.healthyListeners).toBe(1);
    await a.stop();
    const b = await make();
    await b.start();
    await until(async () => (await b.status()).role === 'leader', 5000, 'leadership');
    await new Promise((r) => setTimeout(r, 300));
    await b.stop();
    expect(runs).toHaveLength(20);
    expect(new Set(runs).size).toBe(20);
  });

  it('a clean stop hands leadership over at once (NOTIFY), well before the health-check interval', async () => {
    const make = (id: string) =>
      runtimeOn(db, {
        group: 'handover',
        listenerId: id,
        failover: { healthCheckIntervalMs: 5000, failoverThresholdMs: 60_000 },
        observers: [{ name: 'o', entity: 'Hand', actions: [{ type: 'noop' }] }],
      }).then((r) => {
        r.registerAction('noop', async () => undefined);
        return r;
      });
    const a = await make('a');
    const b = await make('b');
    await a.start();
    await b.start();
    expect((await a.status()).role).toBe('leader');
    expect((await b.status()).role).toBe('standby');
    const t0 = Date.now();
    await a.stop();
    await until(async () => (await b.status()).role === 'leader', 4000, 'b to lead');
    expect(Date.now() - t0).toBeLessThan(4000);
    const s = await b.status();
    expect(s).toMatchObject({ leader: 'b', epoch: 2 });
    expect(s.listeners.map((l) => l.listenerId)).toEqual(['b']);
    await b.stop();
  });
});
