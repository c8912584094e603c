import { reindex } from '@fraiseql/core';
import { describeReindex, type FakeAlgolia, startFakeAlgolia, uniqueName } from '@fraiseql/testkit';
import { algoliasearch } from 'algoliasearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlgoliaSearchProvider, createAlgoliaSearch } from '../src/index.ts';

let fake: FakeAlgolia;
beforeAll(async () => {
  fake = await startFakeAlgolia();
});
afterAll(async () => {
  await fake?.close();
});

const client = () => {
  const u = new URL(fake.url);
  return algoliasearch(fake.appId, fake.apiKey, {
    hosts: [{ url: u.hostname, port: Number(u.port), protocol: 'http', accept: 'readWrite' }],
  });
};
const provider = () => createAlgoliaSearch({ appId: fake.appId, apiKey: fake.apiKey, hosts: [fake.url] });
const listIndexes = async () => (await client().listIndices()).items.map((i) => i.name);

describeReindex('algolia (protocol double)', provider, {
  listIndexes,
  dropIndexes: async (p, names) => {
    for (const name of names) await (p as AlgoliaSearchProvider).dropIndex(name);
  },
});

describe('fake Algolia operationIndex with the official client', () => {
  it('move overwrites the destination, keeps its replicas (fed the new records) and removes the source', async () => {
    const c = client();
    const src = uniqueName('mvsrc');
    const dest = uniqueName('mvdst');
    const replica = `${dest}_r`;
    await c.waitForTask({
      indexName: src,
      taskID: (await c.saveObjects({ indexName: src, objects: [{ objectID: 'n', v: 1 }] }))[0]!.taskID,
    });
    await c.waitForTask({
      indexName: src,
      taskID: (await c.setSettings({ indexName: src, indexSettings: { searchableAttributes: ['v'] } }))
        .taskID,
    });
    await c.waitForTask({
      indexName: dest,
      taskID: (await c.saveObjects({ indexName: dest, objects: [{ objectID: 'o', v: 0 }] }))[0]!.taskID,
    });
    await c.waitForTask({
      indexName: dest,
      taskID: (await c.setSettings({ indexName: dest, indexSettings: { replicas: [replica] } })).taskID,
    });
    const r = await c.operationIndex({
      indexName: src,
      operationIndexParams: { operation: 'move', destination: dest },
    });
    expect(r).toMatchObject({ taskID: expect.any(Number), updatedAt: expect.any(String) });
    await c.waitForTask({ indexName: src, taskID: r.taskID });
    expect((await c.searchSingleIndex({ indexName: dest })).hits.map((h) => h.objectID)).toEqual(['n']);
    expect((await c.searchSingleIndex({ indexName: replica })).hits.map((h) => h.objectID)).toEqual(['n']);
    const settings = await c.getSettings({ indexName: dest });
    expect(settings).toMatchObject({ searchableAttributes: ['v'], replicas: [replica] });
    expect((await c.listIndices()).items.map((i) => i.name)).not.toContain(src);
    // Moving a missing source is ignored; a bad operation is a 400.
    const ignored = await c.operationIndex({
      indexName: uniqueName('none'),
      operationIndexParams: { operation: 'move', destination: dest },
    });
    await c.waitForTask({ indexName: dest, taskID: ignored.taskID });
    expect((await c.searchSingleIndex({ indexName: dest })).nbHits).toBe(1);
    await expect(
      c.operationIndex({
        indexName: dest,
        operationIndexParams: { operation: 'rename' as never, destination: src },
      }),
    ).rejects.toMatchObject({ status: 400 });
    await c.deleteIndex({ indexName: dest });
    await c.deleteIndex({ indexName: replica });
  });

  it('rebuilds a never-configured index without settings (Algolia defaults)', async () => {
    const p = await provider();
    const index = uniqueName('algnone');
    const r = await reindex(p, {
      index,
      source: [
        { id: 'a', t: 'x' },
        { id: 'b', t: 'y' },
      ],
    });
    expect(r.documents).toBe(2);
    expect((await p.search({ index, query: '' })).totalHits).toBe(2);
    expect((await listIndexes()).filter((n) => n.startsWith(`${index}__`))).toEqual([]);
    await p.dropIndex(index);
    await p.close();
  });

  it('a reindex keeps the sort replicas of the live index serving sorted searches', async () => {
    const p = await provider();
    const index = uniqueName('algsort');
    await p.configureIndex(index, { searchable: ['t'], sortable: ['n'] });
    await p.indexDocuments([1, 2].map((n) => ({ id: `o${n}`, index, data: { t: 'old', n } })));
    await reindex(p, { index, source: [3, 1, 2].map((n) => ({ id: `x${n}`, t: 'new', n })) });
    const sorted = await p.search({ index, query: '', sort: ['n:desc'] });
    expect(sorted.hits.map((h) => h.id)).toEqual(['x3', 'x2', 'x1']);
    expect((await listIndexes()).filter((n) => n.startsWith(`${index}__`))).toEqual([]);
    await p.dropIndex(index);
    await p.close();
  });
});
