import { createMemoryCache } from '@fraiseql/cache-memory';
import { type Job, type ReindexStatus, reindexStatusKey } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresSearch } from '@fraiseql/search-postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHandlers, searchReindexHandler } from '../src/index.ts';

const pg = await checkService('postgres');

const job = <T>(data: T, attempts = 1): Job<T> => ({
  id: uniqueName('job'),
  queue: 'search.reindex',
  data,
  attempts,
  maxRetries: 3,
  createdAt: new Date(),
  signal: new AbortController().signal,
});

describe.skipIf(!pg.available)('search.reindex built-in', () => {
  let sql: SqlClient;
  const schema = uniqueName('wri');
  beforeAll(async () => {
    sql = await createSqlClient({ url: pg.url });
  });
  afterAll(async () => {
    await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  it('rebuilds the index from the SELECT and leaves its status in the cache', async () => {
    const search = await createPostgresSearch({ sql, schema });
    const cache = await createMemoryCache();
    const index = uniqueName('wr');
    await search.indexDocument({ id: 'old', index, data: { title: 'old row' } });
    const handler = resolveHandlers({ integrations: { search, cache, sql } })['search.reindex']!;
    expect(handler).toBeTypeOf('function');
    const result = await handler(
      job({ index, sql: "SELECT 'n' || g AS id, 'new row ' || g AS title FROM generate_series(1, 1200) g" }),
    );
    expect(result).toEqual({ status: 'complete' });
    const status = await cache.getJson<ReindexStatus>(reindexStatusKey(index));
    expect(status).toMatchObject({ state: 'completed', index, documents: 1200, failed: 0, total: 1200 });
    expect(Date.parse(status!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(status!.startedAt));
    const r = await search.search({ index, query: '' });
    expect(r.totalHits).toBe(1200);
    expect(r.hits.some((h) => h.id === 'old')).toBe(false);
    await cache.close();
  });

  it('fails the job (no retry) on a bad payload, a second statement or refused rows; the old index keeps serving', async () => {
    const search = await createPostgresSearch({ sql, schema });
    const cache = await createMemoryCache();
    const handler = searchReindexHandler({ search, sql, cache });
    const index = uniqueName('wr');
    await search.indexDocument({ id: 'keep', index, data: { title: 'kept' } });
    expect(await handler(job({ index } as never))).toMatchObject({ status: 'failed' });
    const second = await handler(job({ index, sql: 'SELECT 1 AS id; DROP TABLE x' }));
    expect(second).toMatchObject({ status: 'failed', reason: expect.stringContaining('single statement') });
    const refused = await handler(job({ index, sql: 'SELECT NULL::text AS id' }));
    expect(refused).toMatchObject({ status: 'failed', reason: expect.stringContaining('maxFailed') });
    expect(await cache.getJson<ReindexStatus>(reindexStatusKey(index))).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('maxFailed'),
    });
    expect((await search.search({ index, query: '' })).hits.map((h) => h.id)).toEqual(['keep']);
    await cache.close();
  });
});
