import { reindex } from '@fraiseql/core';
import { describeReindex, type FakeMeilisearch, startFakeMeilisearch, uniqueName } from '@fraiseql/testkit';
import { Meilisearch } from 'meilisearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeilisearchSearch, type MeilisearchSearch } from '../src/index.ts';

let fake: FakeMeilisearch;
beforeAll(async () => {
  fake = await startFakeMeilisearch();
});
afterAll(async () => {
  await fake?.close();
});

const listIndexes = async () => {
  const client = new Meilisearch({ host: fake.url, apiKey: fake.apiKey });
  return (await client.getRawIndexes({ limit: 1000 })).results.map((i) => i.uid);
};

describeReindex(
  'meilisearch (protocol double)',
  () => createMeilisearchSearch({ host: fake.url, apiKey: fake.apiKey }),
  {
    listIndexes,
    dropIndexes: async (p, names) => {
      for (const name of names) await (p as MeilisearchSearch).deleteIndex(name);
    },
  },
);

describe('fake Meilisearch POST /swap-indexes with the official client', () => {
  const client = () => new Meilisearch({ host: fake.url, apiKey: fake.apiKey });

  it('swaps documents and settings of each pair in one indexSwap task', async () => {
    const a = uniqueName('swa');
    const b = uniqueName('swb');
    const c = client();
    await c
      .index(a)
      .addDocuments([{ id: 1, v: 'a' }], { primaryKey: 'id' })
      .waitTask();
    await c
      .index(b)
      .addDocuments(
        [
          { id: 2, v: 'b' },
          { id: 3, v: 'b' },
        ],
        { primaryKey: 'id' },
      )
      .waitTask();
    await c
      .index(b)
      .updateSettings({ filterableAttributes: ['v'] })
      .waitTask();
    const enqueued = await c.swapIndexes([{ indexes: [a, b], rename: false }]);
    expect(enqueued).toMatchObject({ indexUid: null, type: 'indexSwap', status: 'enqueued' });
    const task = await c.tasks.waitForTask(enqueued.taskUid);
    expect(task).toMatchObject({
      status: 'succeeded',
      details: { swaps: [{ indexes: [a, b], rename: false }] },
    });
    expect((await c.index(a).getDocuments()).results.map((d) => d.id)).toEqual([2, 3]);
    expect((await c.index(b).getDocuments()).results.map((d) => d.id)).toEqual([1]);
    expect((await c.index(a).getSettings()).filterableAttributes).toEqual(['v']);
    await c.deleteIndex(a).waitTask();
    await c.deleteIndex(b).waitTask();
  });

  it('fails the task for a missing index, rejects duplicates, renames with rename: true', async () => {
    const c = client();
    const a = uniqueName('swa');
    const missing = uniqueName('nope');
    await c.createIndex(a, { primaryKey: 'id' }).waitTask();
    const failed = await c.swapIndexes([{ indexes: [a, missing], rename: false }]).waitTask();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({
      code: 'index_not_found',
      message: `Index \`${missing}\` not found.`,
    });
    await expect(c.swapIndexes([{ indexes: [a, a], rename: false }])).rejects.toMatchObject({
      cause: { code: 'invalid_swap_duplicate_index_found' },
    });
    const renamed = uniqueName('swr');
    expect((await c.swapIndexes([{ indexes: [a, renamed], rename: true }]).waitTask()).status).toBe(
      'succeeded',
    );
    expect((await c.getRawIndex(renamed)).uid).toBe(renamed);
    await expect(c.getRawIndex(a)).rejects.toMatchObject({ cause: { code: 'index_not_found' } });
    await c.deleteIndex(renamed).waitTask();
  });

  it('the provider swaps a never-built live name in (first reindex)', async () => {
    const p = await createMeilisearchSearch({ host: fake.url, apiKey: fake.apiKey });
    const index = uniqueName('first');
    await reindex(p, { index, source: [{ id: 'a', t: 'x' }] });
    expect((await p.search({ index, query: '' })).hits.map((h) => h.id)).toEqual(['a']);
    await p.deleteIndex(index);
    await p.close();
  });
});
