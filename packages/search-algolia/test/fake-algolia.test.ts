import {
  type FakeAlgolia,
  matchesAlgoliaFilter,
  parseAlgoliaFilters,
  startFakeAlgolia,
  uniqueName,
} from '@fraiseql/testkit';
import { algoliasearch } from 'algoliasearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Algolia protocol double, driven by the official client: if these break, the provider's
 * suite would be testing against something Algolia is not.
 */

describe('Algolia filter syntax (double parser)', () => {
  const records: Record<string, Record<string, unknown>> = {
    a: { objectID: 'a', category: 'Book', price: 10, tags: ['x', 'y'], ok: true, _tags: ['pub'] },
    b: { objectID: 'b', category: 'Movie', price: 25.5, tags: ['y'], ok: false },
    c: { objectID: 'c', price: 40, nested: { author: 'Jane Doe' } },
  };
  const facetable = new Set(['category', 'tags', 'ok', 'nested.author']);
  const ids = (filter: string) =>
    Object.keys(records).filter((id) =>
      matchesAlgoliaFilter(parseAlgoliaFilters(filter), records[id]!, facetable),
    );
  const syntaxError = (filter: string) => {
    expect(() => parseAlgoliaFilters(filter)).toThrow(/^filters: /);
  };

  it('evaluates facet, boolean, numeric, range and tag filters', () => {
    expect(ids('category:Book')).toEqual(['a']);
    expect(ids('category:"book"')).toEqual(['a']); // facet values are case-insensitive
    expect(ids('"category:Movie"')).toEqual(['b']); // the whole filter quoted
    expect(ids('nested.author:"Jane Doe"')).toEqual(['c']);
    expect(ids('tags:y')).toEqual(['a', 'b']);
    expect(ids('ok:false')).toEqual(['b']);
    expect(ids('price > 10')).toEqual(['b', 'c']);
    expect(ids('price = 25.5')).toEqual(['b']);
    expect(ids('price:10 TO 25.5')).toEqual(['a', 'b']);
    expect(ids('pub')).toEqual(['a']);
    expect(ids('_tags:pub')).toEqual(['a']);
  });

  it('NOT is the complement, so records lacking the attribute match', () => {
    expect(ids('NOT category:Book')).toEqual(['b', 'c']);
    expect(ids('NOT price > 20')).toEqual(['a']);
    expect(ids('price != 10')).toEqual(['b', 'c']);
  });

  it('combines AND of parenthesised OR groups', () => {
    expect(ids('(category:Book OR category:Movie) AND price < 20')).toEqual(['a']);
    expect(ids('category:Book OR category:Movie')).toEqual(['a', 'b']);
    expect(ids('price < 20 AND (category:Book OR NOT category:Movie)')).toEqual(['a']);
  });

  it('reads escapes inside quoted values', () => {
    const r = { objectID: 'q', brand: 'say "hi" \\o/' };
    expect(
      matchesAlgoliaFilter(parseAlgoliaFilters('brand:"say \\"hi\\" \\\\o/"'), r, new Set(['brand'])),
    ).toBe(true);
  });

  it('rejects what Algolia documents as unsupported', () => {
    syntaxError('category:Book OR price > 3'); // different types in one OR
    syntaxError('(category:Book OR price > 3)');
    syntaxError('(category:Book AND category:Movie)'); // AND inside a group
    syntaxError('category:Book AND category:Movie OR tags:x'); // AND and OR without parentheses
    syntaxError('NOT (category:Book OR category:Movie)');
    syntaxError('category:"unterminated');
    syntaxError('price > cheap');
    syntaxError('category:Womens>Tailoring');
    syntaxError('price:low TO 3');
    syntaxError('category:Book AND');
  });

  it('ignores facet filters on attributes not declared for faceting', () => {
    expect(matchesAlgoliaFilter(parseAlgoliaFilters('category:Book'), records.a!, new Set<string>())).toBe(
      false,
    );
  });
});

describe('Algolia protocol double with the official client', () => {
  let fake: FakeAlgolia;
  let client: ReturnType<typeof algoliasearch>;
  beforeAll(async () => {
    fake = await startFakeAlgolia({ taskDelayMs: 100 });
    const u = new URL(fake.url);
    client = algoliasearch(fake.appId, fake.apiKey, {
      hosts: [{ url: u.hostname, port: Number(u.port), protocol: 'http', accept: 'readWrite' }],
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('publishes tasks asynchronously: writes are invisible until their task is published', async () => {
    const index = uniqueName('fake');
    const { taskID } = await client.setSettings({
      indexName: index,
      indexSettings: { searchableAttributes: ['name'] },
    });
    expect((await client.getTask({ indexName: index, taskID })).status).toBe('notPublished');
    await client.waitForTask({ indexName: index, taskID, timeout: () => 20 });
    const batch = await client.batch({
      indexName: index,
      batchWriteParams: { requests: [{ action: 'addObject', body: { objectID: '1', name: 'Blue Kettle' } }] },
    });
    expect((await client.searchSingleIndex({ indexName: index, searchParams: { query: '' } })).nbHits).toBe(
      0,
    );
    await client.waitForTask({ indexName: index, taskID: batch.taskID, timeout: () => 20 });
    const r = await client.searchSingleIndex({ indexName: index, searchParams: { query: 'kett' } });
    expect(r.hits.map((h) => h.objectID)).toEqual(['1']);
  });

  it('answers with Algolia error bodies: 404 for a missing index, 403 for a wrong key, 400 for a bad filter', async () => {
    const missing = await client
      .searchSingleIndex({ indexName: uniqueName('none'), searchParams: {} })
      .catch((e) => e);
    expect(missing).toMatchObject({ status: 404, message: 'Index does not exist' });
    const u = new URL(fake.url);
    const wrong = algoliasearch(fake.appId, 'wrong-key', {
      hosts: [{ url: u.hostname, port: Number(u.port), protocol: 'http', accept: 'readWrite' }],
    });
    const denied = await wrong.listIndices().catch((e) => e);
    expect(denied).toMatchObject({ status: 403, message: 'Invalid Application-ID or API key' });
    const index = uniqueName('fake');
    const { taskID } = await client.setSettings({
      indexName: index,
      indexSettings: { attributesForFaceting: ['c'] },
    });
    await client.waitForTask({ indexName: index, taskID, timeout: () => 20 });
    const bad = await client
      .searchSingleIndex({ indexName: index, searchParams: { filters: 'c:a OR n > 1' } })
      .catch((e) => e);
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/^filters: /);
    const unknown = await client
      .searchSingleIndex({ indexName: index, searchParams: { notAParam: 1 } as never })
      .catch((e) => e);
    expect(unknown).toMatchObject({ status: 400, message: 'Unknown parameter: notAParam' });
  });

  it('keeps standard replicas in sync with the primary, sorted by their own ranking, and read-only', async () => {
    const index = uniqueName('fake');
    const replica = `${index}_n_desc`;
    const t1 = await client.setSettings({ indexName: index, indexSettings: { replicas: [replica] } });
    await client.waitForTask({ indexName: index, taskID: t1.taskID, timeout: () => 20 });
    const t2 = await client.setSettings({
      indexName: replica,
      indexSettings: { ranking: ['desc(n)', 'typo'] },
    });
    await client.waitForTask({ indexName: replica, taskID: t2.taskID, timeout: () => 20 });
    const t3 = await client.saveObjects({
      indexName: index,
      objects: [{ objectID: 'a', n: 1 }, { objectID: 'b', n: 3 }, { objectID: 'c' }, { objectID: 'd', n: 2 }],
    });
    await client.waitForTask({ indexName: index, taskID: t3[0]!.taskID, timeout: () => 20 });
    const r = await client.searchSingleIndex({ indexName: replica, searchParams: { query: '' } });
    // Missing values rank last whatever the direction.
    expect(r.hits.map((h) => h.objectID)).toEqual(['b', 'd', 'a', 'c']);
    const write = await client
      .batch({
        indexName: replica,
        batchWriteParams: { requests: [{ action: 'addObject', body: { n: 1 } }] },
      })
      .catch((e) => e);
    expect(write.status).toBe(400);
  });

  it('matches every query word, the last as a prefix, accent- and case-insensitively, and highlights matches', async () => {
    const index = uniqueName('fake');
    const t = await client.setSettings({
      indexName: index,
      indexSettings: { searchableAttributes: ['title', 'body'] },
    });
    await client.waitForTask({ indexName: index, taskID: t.taskID, timeout: () => 20 });
    const s = await client.saveObjects({
      indexName: index,
      objects: [
        { objectID: '1', title: 'Crème Brûlée', body: 'sweet' },
        { objectID: '2', title: 'Creme soup', body: 'salty', secret: 'brulee' },
      ],
    });
    await client.waitForTask({ indexName: index, taskID: s[0]!.taskID, timeout: () => 20 });
    const q = (query: string) =>
      client.searchSingleIndex<Record<string, unknown>>({
        indexName: index,
        searchParams: { query, typoTolerance: false, highlightPreTag: '[', highlightPostTag: ']' },
      });
    expect((await q('creme brul')).hits.map((h) => h.objectID)).toEqual(['1']);
    expect((await q('CREME')).hits.map((h) => h.objectID).sort()).toEqual(['1', '2']);
    expect((await q('creme sweet salty')).hits).toEqual([]);
    const hit = (await q('brul')).hits[0]!;
    expect((hit._highlightResult as Record<string, { value: string }>).title!.value).toBe('Crème [Brûl]ée');
    // typo tolerance is Algolia's default and the double honours it
    const typo = await client.searchSingleIndex({ indexName: index, searchParams: { query: 'sweat' } });
    expect(typo.hits.map((h) => h.objectID)).toEqual(['1']);
  });
});
