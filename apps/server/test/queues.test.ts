import type { SqlClient } from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorOf, type Harness, harness, json, openSql } from './helpers.ts';

let sql: SqlClient;
let h: Harness;

beforeAll(async () => {
  sql = await openSql();
});
afterEach(async () => {
  await h?.close();
});
afterAll(async () => {
  await sql.close();
});

const start = async () => {
  h = await harness(sql, { without: ['search', 'cache'] });
  return h;
};

/** Enqueues one job and lets a worker fail it for good. */
async function failedJob(queue: string): Promise<string> {
  const id = json(
    await h.call({ method: 'POST', url: `/queues/${queue}/jobs`, payload: { data: { n: 1 } } }),
  ).id;
  const worker = h.integrations.queue!.process(queue, async () => ({ status: 'failed', reason: 'boom' }));
  try {
    await vi.waitFor(async () => expect(await h.integrations.queue!.failedCount(queue)).toBe(1), {
      timeout: 20_000,
      interval: 100,
    });
  } finally {
    await worker.close();
  }
  return id;
}

describe('POST /queues/:queue/jobs', () => {
  it('202 with the id of a job that then exists with its data and options', async () => {
    await start();
    const queue = uniqueName('emails');
    const res = await h.call({
      method: 'POST',
      url: `/queues/${queue}/jobs`,
      payload: { data: { to: 'a@b.c' }, priority: 5, maxRetries: 1, timeoutMs: 1000, delayMs: 60_000 },
    });
    expect(res.statusCode).toBe(202);
    const { id } = json(res);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const job = await h.integrations.queue!.getJob(queue, id);
    expect(job).toMatchObject({ data: { to: 'a@b.c' }, priority: 5, maxRetries: 1, state: 'pending' });
    expect(job!.runAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it('returns the existing id for a dedupKey that is pending', async () => {
    await start();
    const queue = uniqueName('dedup');
    const send = () =>
      h.call({ method: 'POST', url: `/queues/${queue}/jobs`, payload: { data: 1, dedupKey: 'k' } });
    const a = json(await send()).id;
    const b = json(await send()).id;
    expect(b).toBe(a);
    expect(await h.integrations.queue!.queueLength(queue)).toBe(1);
  });

  it('takes any JSON value as data, null included', async () => {
    await start();
    const queue = uniqueName('any');
    for (const data of [null, 0, 'x', [1, 2], { deep: { a: [true] } }]) {
      const res = await h.call({
        method: 'POST',
        url: `/queues/${queue}/jobs`,
        payload: JSON.stringify({ data }),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(202);
      expect((await h.integrations.queue!.getJob(queue, json(res).id))!.data).toEqual(data);
    }
  });

  it('400 IN308 without data, IN309 for bad options, IN307 for a bad queue name', async () => {
    await start();
    const noData = await h.call({ method: 'POST', url: '/queues/q/jobs', payload: { delayMs: 1 } });
    expect(noData.statusCode).toBe(400);
    expect(errorOf(noData)).toMatchObject({ code: 'IN308', field: 'data' });
    for (const payload of [
      { data: 1, priority: 1.5 },
      { data: 1, delayMs: -1 },
      { data: 1, maxRetries: 1001 },
      { data: 1, timeoutMs: 0 },
      { data: 1, dedupKey: '' },
      { data: 1, delay_ms: 5 },
      [1],
    ]) {
      const res = await h.call({ method: 'POST', url: '/queues/q/jobs', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('IN309');
    }
    for (const name of ['bad%20name', 'a%2Fb', 'x'.repeat(129)]) {
      const res = await h.call({ method: 'POST', url: `/queues/${name}/jobs`, payload: { data: 1 } });
      expect(res.statusCode, name).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'IN307', field: 'queue' });
    }
  });

  it('413 IN308 for a body over the limit', async () => {
    h = await harness(sql, { without: ['search', 'cache'], bodyLimitBytes: 500 });
    const res = await h.call({ method: 'POST', url: '/queues/q/jobs', payload: { data: 'x'.repeat(600) } });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('IN308');
  });
});

describe('GET /queues/:queue and pause/resume', () => {
  it('reports length, failed and paused, and pause/resume flip it', async () => {
    await start();
    const queue = uniqueName('stats');
    for (let i = 0; i < 3; i++) {
      await h.call({ method: 'POST', url: `/queues/${queue}/jobs`, payload: { data: i } });
    }
    expect(json(await h.call({ method: 'GET', url: `/queues/${queue}` }))).toEqual({
      queue,
      length: 3,
      failed: 0,
      paused: false,
    });
    const pause = await h.call({ method: 'POST', url: `/queues/${queue}/pause` });
    expect(pause.statusCode).toBe(200);
    expect(json(pause)).toEqual({ queue, paused: true });
    expect(json(await h.call({ method: 'GET', url: `/queues/${queue}` })).paused).toBe(true);
    expect(await h.integrations.queue!.isPaused(queue)).toBe(true);
    expect(json(await h.call({ method: 'POST', url: `/queues/${queue}/resume` }))).toEqual({
      queue,
      paused: false,
    });
    expect(await h.integrations.queue!.isPaused(queue)).toBe(false);
  });
});

describe('GET /queues', () => {
  it('lists the queues that have jobs in the PostgreSQL backend', async () => {
    await start();
    const a = uniqueName('named_a');
    const b = uniqueName('named_b');
    for (const q of [a, b]) await h.call({ method: 'POST', url: `/queues/${q}/jobs`, payload: { data: 1 } });
    const { queues } = json(await h.call({ method: 'GET', url: '/queues' }));
    expect(queues).toEqual(expect.arrayContaining([a, b]));
    expect([...queues].sort()).toEqual(queues);
  });
});

describe('jobs by id, listing, retry', () => {
  it('lists jobs by state with limit and offset (pending by default)', async () => {
    await start();
    const queue = uniqueName('list');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(json(await h.call({ method: 'POST', url: `/queues/${queue}/jobs`, payload: { data: i } })).id);
    }
    const all = json(await h.call({ method: 'GET', url: `/queues/${queue}/jobs` }));
    expect(all).toMatchObject({ queue, state: 'pending', limit: 100, offset: 0 });
    expect(all.jobs.map((j: { id: string }) => j.id)).toEqual(ids);
    const page = json(
      await h.call({ method: 'GET', url: `/queues/${queue}/jobs?state=pending&limit=1&offset=1` }),
    );
    expect(page.jobs.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    expect(json(await h.call({ method: 'GET', url: `/queues/${queue}/jobs?state=failed` })).jobs).toEqual([]);
  });

  it('400 IN309 for a bad state, limit or offset', async () => {
    await start();
    for (const q of [
      'state=dead',
      'limit=0',
      'limit=1001',
      'limit=x',
      'offset=-1',
      'state=failed&state=pending',
    ]) {
      const res = await h.call({ method: 'GET', url: `/queues/q/jobs?${q}` });
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('IN309');
    }
  });

  it('gets and deletes a job; 404 IN300 when absent', async () => {
    await start();
    const queue = uniqueName('byid');
    const id = json(
      await h.call({ method: 'POST', url: `/queues/${queue}/jobs`, payload: { data: { a: 1 } } }),
    ).id;
    const got = await h.call({ method: 'GET', url: `/queues/${queue}/jobs/${id}` });
    expect(got.statusCode).toBe(200);
    expect(json(got)).toMatchObject({ id, queue, data: { a: 1 }, state: 'pending', attempts: 0 });
    expect(new Date(json(got).createdAt).getTime()).not.toBeNaN();
    expect((await h.call({ method: 'DELETE', url: `/queues/${queue}/jobs/${id}` })).statusCode).toBe(204);
    for (const method of ['GET', 'DELETE'] as const) {
      for (const missing of [id, 'not-a-uuid']) {
        const res = await h.call({ method, url: `/queues/${queue}/jobs/${missing}` });
        expect(res.statusCode, `${method} ${missing}`).toBe(404);
        expect(errorOf(res)).toMatchObject({ code: 'IN300', resource_type: 'job' });
      }
    }
  });

  it('retries a failed job (200), refuses a job that is not failed (409) and an absent one (404)', async () => {
    await start();
    const queue = uniqueName('retry');
    const id = await failedJob(queue);
    const failed = json(await h.call({ method: 'GET', url: `/queues/${queue}/jobs?state=failed` }));
    expect(failed.jobs).toHaveLength(1);
    expect(failed.jobs[0]).toMatchObject({ id, state: 'failed', lastError: 'boom' });
    expect(json(await h.call({ method: 'GET', url: `/queues/${queue}` })).failed).toBe(1);

    const retry = await h.call({ method: 'POST', url: `/queues/${queue}/jobs/${id}/retry` });
    expect(retry.statusCode).toBe(200);
    expect(json(retry)).toEqual({ id, retried: true });
    expect(await h.integrations.queue!.getJob(queue, id)).toMatchObject({ state: 'pending', attempts: 0 });

    const again = await h.call({ method: 'POST', url: `/queues/${queue}/jobs/${id}/retry` });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'IN005', message: expect.stringContaining('pending') });

    const absent = await h.call({
      method: 'POST',
      url: `/queues/${queue}/jobs/00000000-0000-4000-8000-000000000000/retry`,
    });
    expect(absent.statusCode).toBe(404);
    expect(errorOf(absent).code).toBe('IN300');
  });
});
