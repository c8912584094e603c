import { type FakeMeilisearch, PRODUCT_CATALOGUE, startFakeMeilisearch, uniqueName } from '@fraiseql/testkit';
import { Meilisearch } from 'meilisearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let fake: FakeMeilisearch;
beforeAll(async () => {
  fake = await startFakeMeilisearch();
});
afterAll(async () => {
  await fake?.close();
});

// ---------------------------------------------------------------------------------------------
// The double, driven by the official client directly (not through our provider).

describe('startFakeMeilisearch with the official meilisearch client', () => {
  let client: Meilisearch;
  beforeAll(() => {
    client = new Meilisearch({ host: fake.url, apiKey: fake.apiKey });
  });

  it('health, version, index creation and task polling', async () => {
    expect(await client.health()).toEqual({ status: 'available' });
    expect(await client.isHealthy()).toBe(true);
    const uid = uniqueName('meiliclient');
    const task = await client.createIndex(uid, { primaryKey: 'id' }).waitTask();
    expect(task).toMatchObject({ status: 'succeeded', type: 'indexCreation', indexUid: uid });
    expect(typeof task.duration).toBe('string');
    expect(await client.getRawIndex(uid)).toMatchObject({ uid, primaryKey: 'id' });
    const again = await client.createIndex(uid).waitTask();
    expect(again.status).toBe('failed');
    expect(again.error).toMatchObject({ code: 'index_already_exists', type: 'invalid_request' });
    expect((await client.deleteIndex(uid).waitTask()).status).toBe('succeeded');
  });

  it('documents, settings, search with filter/sort/facets/highlight', async () => {
    const uid = uniqueName('meiliclient');
    const index = client.index(uid);
    await index
      .updateSettings({
        searchableAttributes: ['name', 'description'],
        filterableAttributes: ['category', 'price', 'tags'],
        sortableAttributes: ['price'],
      })
      .waitTask();
    const docs = Object.entries(PRODUCT_CATALOGUE).map(([id, d]) => ({ id, ...d }));
    const added = await index.addDocuments(docs, { primaryKey: 'id' }).waitTask();
    expect(added).toMatchObject({
      status: 'succeeded',
      details: { receivedDocuments: 10, indexedDocuments: 10 },
    });
    expect((await index.getSettings()).filterableAttributes).toEqual(['category', 'price', 'tags']);

    const r = await index.search('coffee', {
      filter: 'category = KITCHEN AND price < 100',
      sort: ['price:desc'],
      facets: ['tags'],
      attributesToHighlight: ['name', 'description'],
      highlightPreTag: '<b>',
      highlightPostTag: '</b>',
      showRankingScore: true,
    });
    expect(r.hits.map((h) => h.id)).toEqual(['p02']);
    expect(r.hits[0]!._formatted?.description).toBe('Holds <b>coffee</b> or tea, dishwasher safe');
    expect(typeof r.hits[0]!._rankingScore).toBe('number');
    expect(r.estimatedTotalHits).toBe(1);
    expect(r.facetDistribution).toEqual({ tags: { ceramic: 1, coffee: 1 } });

    const paged = await index.search('', { hitsPerPage: 4, page: 3, sort: ['price:asc'] });
    expect(paged).toMatchObject({ totalHits: 10, totalPages: 3, page: 3, hitsPerPage: 4 });
    expect(paged.hits).toHaveLength(2);

    await index.deleteDocument('p02').waitTask();
    await expect(index.getDocument('p02')).rejects.toMatchObject({ cause: { code: 'document_not_found' } });
    await index.deleteAllDocuments().waitTask();
    expect((await index.getDocuments()).total).toBe(0);
    await client.deleteIndex(uid).waitTask();
  });

  it('engine errors: filters on non-filterable fields, bad syntax, unknown index, auth', async () => {
    const uid = uniqueName('meiliclient');
    const index = client.index(uid);
    await index.updateSettings({ filterableAttributes: ['category'] }).waitTask();
    await expect(index.search('', { filter: 'price > 3' })).rejects.toMatchObject({
      cause: { code: 'invalid_search_filter', type: 'invalid_request' },
      response: { status: 400 },
    });
    await expect(index.search('', { filter: 'category = "unterminated' })).rejects.toMatchObject({
      cause: { code: 'invalid_search_filter' },
    });
    await expect(index.search('', { sort: ['category:asc'] })).rejects.toMatchObject({
      cause: { code: 'invalid_search_sort' },
    });
    await expect(client.index(uniqueName('nope')).search('x')).rejects.toMatchObject({
      cause: { code: 'index_not_found', link: 'https://docs.meilisearch.com/errors#index_not_found' },
      response: { status: 404 },
    });
    const wrong = new Meilisearch({ host: fake.url, apiKey: 'wrong' });
    await expect(wrong.getRawIndexes()).rejects.toMatchObject({
      cause: { code: 'invalid_api_key', type: 'auth' },
      response: { status: 403 },
    });
    const none = new Meilisearch({ host: fake.url });
    await expect(none.getRawIndexes()).rejects.toMatchObject({
      cause: { code: 'missing_authorization_header' },
      response: { status: 401 },
    });
    await client.deleteIndex(uid).waitTask();
  });

  it('a batch with one invalid document id fails as a whole, with the engine message', async () => {
    const uid = uniqueName('meiliclient');
    const index = client.index(uid);
    const task = await index
      .addDocuments(
        [
          { id: 'good', name: 'ok' },
          { id: 'foo & bar', name: 'bad' },
        ],
        { primaryKey: 'id' },
      )
      .waitTask();
    expect(task.status).toBe('failed');
    expect(task.error).toMatchObject({
      code: 'invalid_document_id',
      message: expect.stringContaining('Document identifier `"foo & bar"` is invalid'),
    });
    await expect(client.getRawIndex(uid)).rejects.toMatchObject({ cause: { code: 'index_not_found' } });
  });

  it('tasks go through enqueued and processing before they finish', async () => {
    const slow = await startFakeMeilisearch({ taskDelayMs: 200 });
    try {
      const c = new Meilisearch({ host: slow.url, apiKey: slow.apiKey });
      const enqueued = await c.createIndex(uniqueName('meiliclient'));
      expect(enqueued.status).toBe('enqueued');
      const seen = new Set<string>();
      for (;;) {
        const t = await c.tasks.getTask(enqueued.taskUid);
        seen.add(t.status);
        if (t.status === 'succeeded' || t.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toContain('succeeded');
      expect([...seen].some((s) => s === 'enqueued' || s === 'processing')).toBe(true);
      await expect(c.tasks.getTask(99_999)).rejects.toMatchObject({ cause: { code: 'task_not_found' } });
    } finally {
      await slow.close();
    }
  });
});
