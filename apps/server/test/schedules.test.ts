import type { SqlClient } from '@fraiseql/postgres';
import { createScheduler, type Scheduler } from '@fraiseql/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type Harness, harness, json, openSql } from './helpers';

describe('schedule routes (DESIGN §14.1)', () => {
  let sql: SqlClient;
  let h: Harness;
  let scheduler: Scheduler;
  beforeAll(async () => {
    sql = await openSql();
    h = await harness(sql, { without: ['search'] });
    scheduler = await createScheduler({ queue: h.integrations.queue!, store: sql, schema: 'sched_routes' });
    h.integrations.scheduler = scheduler as never;
  });
  afterAll(async () => {
    await scheduler?.stop();
    await h?.close();
    await sql?.close();
  });

  it('PUT creates, GET lists with the next run, POST run enqueues now, DELETE removes', async () => {
    const put = await h.call({
      method: 'PUT',
      url: '/schedules/nightly',
      payload: { cron: '0 30 2 * * *', tz: 'Europe/Berlin', queue: 'reports', data: { kind: 'daily' } },
    });
    expect(put.statusCode).toBe(200);
    expect(json(put)).toMatchObject({
      id: 'nightly',
      cron: '0 30 2 * * *',
      tz: 'Europe/Berlin',
      firedCount: 0,
    });
    const list = json(await h.call({ method: 'GET', url: '/schedules' })) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(new Date(list[0]?.nextRun as string).getTime()).toBeGreaterThan(Date.now());
    const run = await h.call({ method: 'POST', url: '/schedules/nightly/run' });
    expect(run.statusCode).toBe(202);
    const { id } = json(run) as { id: string };
    expect((await h.integrations.queue!.getJob('reports', id))?.data).toEqual({ kind: 'daily' });
    expect((await h.call({ method: 'DELETE', url: '/schedules/nightly' })).statusCode).toBe(204);
    expect((await h.call({ method: 'DELETE', url: '/schedules/nightly' })).statusCode).toBe(404);
    expect(json(await h.call({ method: 'GET', url: '/schedules' }))).toEqual([]);
  });

  it('bad cron, time zone or id: 400 with IN002 naming the schedule; unknown schedule run: 404', async () => {
    const bad = await h.call({ method: 'PUT', url: '/schedules/x', payload: { cron: 'nope', queue: 'q' } });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad)).toMatchObject({ code: 'IN002' });
    expect(errorOf(bad).message).toMatch(/schedule "x": invalid cron/);
    const tz = await h.call({
      method: 'PUT',
      url: '/schedules/x',
      payload: { everyMs: 1000, cron: '* * * * *', queue: 'q' },
    });
    expect(tz.statusCode).toBe(400);
    const zone = await h.call({
      method: 'PUT',
      url: '/schedules/x',
      payload: { cron: '* * * * *', tz: 'No/Where', queue: 'q' },
    });
    expect(errorOf(zone).message).toMatch(/invalid time zone/);
    expect(
      (await h.call({ method: 'PUT', url: "/schedules/a'b", payload: { everyMs: 1000, queue: 'q' } }))
        .statusCode,
    ).toBe(400);
    expect((await h.call({ method: 'POST', url: '/schedules/ghost/run' })).statusCode).toBe(404);
  });
});
