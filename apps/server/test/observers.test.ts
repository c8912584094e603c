import { createObserverRuntime, type ObserverRuntime } from '@fraiseql/observers';
import type { SqlClient } from '@fraiseql/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type Harness, harness, json, openSql } from './helpers';

describe('observer routes', () => {
  let sql: SqlClient;
  let h: Harness;
  let runtime: ObserverRuntime;
  let fail = true;
  beforeAll(async () => {
    sql = await openSql();
    runtime = await createObserverRuntime({
      sql,
      pollIntervalMs: 50,
      observers: [
        { name: 'flaky', entity: 'Order', retry: { maxAttempts: 1 }, actions: [{ type: 'flaky' }] },
      ],
    });
    runtime.registerAction('flaky', async () => {
      if (fail) throw new Error('receiver down');
    });
    await runtime.start();
    h = await harness(sql, { without: ['queue'] });
    h.integrations.observers = runtime;
  });
  afterAll(async () => {
    await h?.close();
    await runtime?.stop();
    await sql?.close();
  });

  it('status, event debug, DLQ list/show/retry/retry-all through HTTP', async () => {
    const done = new Promise<void>((resolve) => runtime.on('executed', () => resolve()));
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ('Order', 'o1', 'INSERT', '{"status":"new"}') RETURNING id::text`,
    );
    const eventId = rows[0]!.id;
    await done;
    const status = json(await h.call({ method: 'GET', url: '/observers' }));
    expect(status).toMatchObject({ group: 'default', role: 'leader', dlqSize: 1, checkpoint: eventId });
    const debug = json(await h.call({ method: 'GET', url: `/observers/events/${eventId}` }));
    expect(debug).toMatchObject({
      event: { id: eventId, entity: 'Order' },
      matchedObservers: ['flaky'],
      executions: [{ status: 'dlq', error: 'receiver down' }],
    });
    expect(errorOf(await h.call({ method: 'GET', url: '/observers/events/999999' })).code).toBe('IN300');
    expect((await h.call({ method: 'GET', url: '/observers/events/abc' })).statusCode).toBe(404);
    const list = json(await h.call({ method: 'GET', url: '/observers/dlq?limit=5' }));
    expect(list).toHaveLength(1);
    const id = list[0].id as string;
    expect(json(await h.call({ method: 'GET', url: `/observers/dlq/${id}` }))).toMatchObject({
      id,
      observer: 'flaky',
      eventId,
    });
    expect(errorOf(await h.call({ method: 'GET', url: '/observers/dlq?limit=0' })).code).toBe('IN002');
    expect(json(await h.call({ method: 'POST', url: '/observers/dlq/retry-all?dry_run=true' }))).toEqual({
      count: 1,
      ids: [id],
    });
    expect(json(await h.call({ method: 'POST', url: `/observers/dlq/${id}/retry` }))).toMatchObject({
      actionsFailed: 1,
    });
    fail = false;
    expect(json(await h.call({ method: 'POST', url: '/observers/dlq/retry-all?observer=flaky' }))).toEqual({
      count: 1,
      ids: [id],
    });
    expect(json(await h.call({ method: 'GET', url: '/observers/dlq' }))).toEqual([]);
    expect(errorOf(await h.call({ method: 'GET', url: `/observers/dlq/${id}` })).code).toBe('IN300');
    expect(
      (await h.call({ method: 'GET', url: '/observers', headers: { authorization: '' } })).statusCode,
    ).toBe(401);
  });

  it('answers IN004 when no observer runtime is configured', async () => {
    const bare = await harness(undefined, { without: ['queue'] });
    try {
      const res = await bare.call({ method: 'GET', url: '/observers' });
      expect(res.statusCode).toBe(500);
      expect(errorOf(res).code).toBe('IN004');
    } finally {
      await bare.close();
    }
  });
});
