import type { SqlClient } from '@fraiseql/postgres';
import { createPostgresSearch } from '@fraiseql/search-postgres';
import { uniqueName } from '@fraiseql/testkit';
import { searchReindexHandler } from '@fraiseql/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorOf, type Harness, harness, json, openSql } from './helpers.ts';

let sql: SqlClient;
let h: Harness | undefined;

beforeAll(async () => {
  sql = await openSql();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  await sql.close();
});

describe('POST/GET /search/:index/reindex', () => {
  it('enqueues a search.reindex job that a worker runs; progress is readable until completed', async () => {
    h = await harness(sql);
    const search = await createPostgresSearch({ sql, schema: uniqueName('srx') });
    const index = uniqueName('rx');
    await search.indexDocument({ id: 'old', index, data: { title: 'old' } });
    const select = "SELECT 'd' || g AS id, 'doc ' || g AS title FROM generate_series(1, 300) g";
    const res = await h.call({
      method: 'POST',
      url: `/search/${index}/reindex`,
      payload: { sql: select, batchSize: 100 },
    });
    expect(res.statusCode).toBe(202);
    const accepted = json(res);
    expect(accepted).toMatchObject({
      state: 'pending',
      index,
      documents: 0,
      failed: 0,
      jobId: expect.any(String),
    });
    // A second request while it is pending returns the same job.
    const again = json(
      await h.call({ method: 'POST', url: `/search/${index}/reindex`, payload: { sql: select } }),
    );
    expect(again.jobId).toBe(accepted.jobId);
    expect(json(await h.call({ method: 'GET', url: `/search/${index}/reindex` })).state).toBe('pending');

    const cache = h.integrations.cache!;
    const worker = h.integrations.queue!.process(
      'search.reindex',
      searchReindexHandler({ search, sql, cache }),
    );
    try {
      await vi.waitFor(
        async () =>
          expect(json(await h!.call({ method: 'GET', url: `/search/${index}/reindex` })).state).toBe(
            'completed',
          ),
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      await worker.close();
    }
    const done = json(await h.call({ method: 'GET', url: `/search/${index}/reindex` }));
    expect(done).toMatchObject({
      state: 'completed',
      documents: 300,
      failed: 0,
      total: 300,
      jobId: accepted.jobId,
    });
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    const r = await search.search({ index, query: '' });
    expect(r.totalHits).toBe(300);
  });

  it('refuses anything but one SELECT (IN002), and answers 404 (IN300) for an index never reindexed', async () => {
    h = await harness(sql);
    for (const payload of [
      { sql: 'DELETE FROM t' },
      { sql: 'SELECT 1; SELECT 2' },
      {},
      { sql: 'SELECT 1', extra: 1 },
    ]) {
      const res = await h.call({ method: 'POST', url: '/search/ok/reindex', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('IN002');
    }
    const bad = await h.call({
      method: 'POST',
      url: '/search/bad%20name/reindex',
      payload: { sql: 'SELECT 1' },
    });
    expect(errorOf(bad).code).toBe('IN106');
    const none = await h.call({ method: 'GET', url: `/search/${uniqueName('never')}/reindex` });
    expect(none.statusCode).toBe(404);
    expect(errorOf(none).code).toBe('IN300');
  });

  it('reports a job that failed for good as failed, with its error', async () => {
    h = await harness(sql);
    const index = uniqueName('rx');
    const res = json(
      await h.call({ method: 'POST', url: `/search/${index}/reindex`, payload: { sql: 'SELECT 1 AS id' } }),
    );
    const worker = h.integrations.queue!.process('search.reindex', async () => ({
      status: 'failed',
      reason: 'worker gave up',
    }));
    try {
      await vi.waitFor(
        async () =>
          expect(json(await h!.call({ method: 'GET', url: `/search/${index}/reindex` })).state).toBe(
            'failed',
          ),
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      await worker.close();
    }
    expect(json(await h.call({ method: 'GET', url: `/search/${index}/reindex` }))).toMatchObject({
      state: 'failed',
      jobId: res.jobId,
      error: expect.stringContaining('worker gave up'),
    });
  });
});
