import { type ErrorCode, isIntegrationError, type SearchResult } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { catalogueDocuments } from '../../testkit/src/search-fixtures.ts';
import { describeSearchProvider } from '../../testkit/src/search-suite.ts';
import { MockSearchProvider } from '../src/search.ts';

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: ErrorCode; message: string; provider?: string }> {
  try {
    await promise;
  } catch (err) {
    expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
    return err as { code: ErrorCode; message: string; provider?: string };
  }
  throw new Error('expected the call to reject, but it resolved');
}

describeSearchProvider('mock', async () => new MockSearchProvider(), {
  // The mock creates indexes on first write and answers unknown indexes with no hits.
  unknownIndexThrows: false,
});

// Ported from the seed's "6.1 Search Provider Tests".
describe('MockSearchProvider (seed 6.1)', () => {
  it('indexes and retrieves documents', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocument({ id: '1', index: 'products', data: { name: 'Widget', price: 9.99 } });
    await provider.indexDocument({ id: '2', index: 'products', data: { name: 'Gadget', price: 19.99 } });

    const result = await provider.search({ query: 'widget', index: 'products' });

    expect(result.totalHits).toBe(1);
    expect(result.hits[0]!.id).toBe('1');
    await provider.close();
  });

  it('returns custom results', async () => {
    const provider = new MockSearchProvider().withResults({
      hits: [{ id: 'custom-1', score: 0.95, document: { title: 'Custom Result' } }],
      totalHits: 100,
      processingTimeMs: 5,
    });

    const result = await provider.search({ query: 'anything', index: 'any' });

    expect(result.totalHits).toBe(100);
    expect(result.hits[0]!.id).toBe('custom-1');
    await provider.close();
  });

  it('records search operations', async () => {
    const provider = new MockSearchProvider();
    await provider.search({ query: 'test', index: 'products' });
    await provider.indexDocument({ id: '1', index: 'products', data: {} });
    await provider.deleteDocument('products', '1');

    expect(provider.recordedOperations()).toHaveLength(3);
    provider.assertSearched('products', 'test');
    await provider.close();
  });

  it('fails when told to', async () => {
    const provider = new MockSearchProvider();
    provider.failWith('Connection refused');

    await expect(provider.search({ query: 'test', index: 'products' })).rejects.toThrow('Connection refused');
    await provider.close();
  });
});

describe('MockSearchProvider extras', () => {
  it('is named "mock" and needs no I/O to construct', async () => {
    const provider = new MockSearchProvider();
    expect(provider.name).toBe('mock');
    expect(await provider.healthCheck()).toBe(true);
    await provider.close();
  });

  it('searches every string field of an index that was never configured', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocument({
      id: 'a',
      index: 'notes',
      data: { title: 'Groceries', body: { text: 'buy oat milk' }, labels: ['errands'] },
    });
    await provider.indexDocument({
      id: 'b',
      index: 'notes',
      data: { title: 'Work', body: { text: 'ship release' } },
    });
    expect((await provider.search({ index: 'notes', query: 'oat' })).hits.map((h) => h.id)).toEqual(['a']);
    expect((await provider.search({ index: 'notes', query: 'errands' })).hits.map((h) => h.id)).toEqual([
      'a',
    ]);
    // Without a configuration every field is filterable and sortable.
    const r = await provider.search({
      index: 'notes',
      query: '',
      filter: { field: 'title', op: 'eq', value: 'Work' },
    });
    expect(r.hits.map((h) => h.id)).toEqual(['b']);
    const sorted = await provider.search({ index: 'notes', query: '', sort: ['title:desc'] });
    expect(sorted.hits.map((h) => h.id)).toEqual(['b', 'a']);
    await provider.close();
  });

  it('takes index settings from the constructor, like every search factory', async () => {
    const provider = new MockSearchProvider({
      indexes: { products: { searchable: ['name'], filterable: ['kind'] } },
    });
    await provider.indexDocument({
      id: '1',
      index: 'products',
      data: { name: 'Lamp', note: 'bright', kind: 'light' },
    });
    expect((await provider.search({ index: 'products', query: 'lamp' })).totalHits).toBe(1);
    // `note` is not searchable once the index is configured.
    expect((await provider.search({ index: 'products', query: 'bright' })).totalHits).toBe(0);
    const err = await rejection(
      provider.search({ index: 'products', query: '', filter: { field: 'note', op: 'eq', value: 'bright' } }),
    );
    expect(err.code).toBe('IN101');
    await provider.close();
  });

  it('ranks a word in an earlier searchable field above the same word in a later one', async () => {
    const provider = new MockSearchProvider();
    const index = 'ranked';
    await provider.configureIndex(index, { searchable: ['name', 'description'] });
    await provider.indexDocument({ id: 'desc', index, data: { name: 'Other', description: 'a lamp' } });
    await provider.indexDocument({ id: 'name', index, data: { name: 'Lamp', description: 'other' } });
    const r = await provider.search({ index, query: 'lamp' });
    expect(r.hits.map((h) => h.id)).toEqual(['name', 'desc']);
    expect(r.hits[0]!.score!).toBeGreaterThan(r.hits[1]!.score!);
    await provider.close();
  });

  it('records every call with its arguments, including failed ones, and can forget them', async () => {
    const provider = new MockSearchProvider();
    await provider.configureIndex('products', { searchable: ['name'], filterable: ['price'] });
    await provider.indexDocuments([
      { id: 'a', index: 'products', data: { name: 'A', price: 1 } },
      { id: '', index: 'products', data: { name: 'no id' } },
    ]);
    await provider.search({
      index: 'products',
      query: 'a',
      filter: { field: 'price', op: 'gt', value: 0 },
      limit: 5,
    });
    await provider.clearIndex('products');
    await rejection(provider.search({ index: 'products', query: '', limit: 5000 }));

    const ops = provider.recordedOperations();
    expect(ops.map((op) => op.type)).toEqual(['configure', 'index', 'index', 'search', 'clear', 'search']);
    expect(ops[0]!.config).toEqual({ searchable: ['name'], filterable: ['price'] });
    expect(ops[1]).toMatchObject({ type: 'index', index: 'products', id: 'a' });
    expect(ops[1]!.error).toBeUndefined();
    expect(ops[2]!.error).toMatch(/id/);
    expect(ops[3]!.request).toEqual({
      index: 'products',
      query: 'a',
      filter: { field: 'price', op: 'gt', value: 0 },
      limit: 5,
    });
    expect(ops[5]!.error).toMatch(/limit/);

    // The returned list is a copy.
    ops.length = 0;
    expect(provider.recordedOperations()).toHaveLength(6);
    provider.clearRecordedOperations();
    expect(provider.recordedOperations()).toEqual([]);
    await provider.close();
  });

  it('assertSearched throws with the list of operations when the search did not happen', async () => {
    const provider = new MockSearchProvider();
    await provider.search({ index: 'products', query: 'lamp' });
    provider.assertSearched('products', 'lamp');
    provider.assertSearched('products');
    expect(() => provider.assertSearched('products', 'chair')).toThrow(
      /"chair".*products[\s\S]*"query":"lamp"/,
    );
    expect(() => provider.assertSearched('orders')).toThrow(/1\. .*"type":"search"/);
    expect(() => new MockSearchProvider().assertSearched('x', 'y')).toThrow(/no operations were recorded/);
    await provider.close();
  });

  it('assertIndexed checks that a document reached an index', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocument({ id: '7', index: 'products', data: { name: 'x' } });
    provider.assertIndexed('products', '7');
    provider.assertIndexed('products');
    expect(() => provider.assertIndexed('products', '8')).toThrow(/document "8"[\s\S]*"id":"7"/);
    expect(() => provider.assertIndexed('orders')).toThrow(/"orders"/);
    await provider.close();
  });

  it('documents() shows what an index holds, as copies', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocuments(catalogueDocuments('products').slice(0, 2));
    const docs = provider.documents('products');
    expect(docs.map((d) => d.id)).toEqual(['p01', 'p02']);
    docs[0]!.data.name = 'changed';
    expect(provider.documents('products')[0]!.data.name).toBe('Espresso Machine');
    expect(provider.documents('unknown')).toEqual([]);
    await provider.close();
  });

  it('keeps its own copy of indexed data', async () => {
    const provider = new MockSearchProvider();
    const data = { name: 'Lamp', tags: ['light'] };
    await provider.indexDocument({ id: '1', index: 'products', data });
    data.name = 'Chair';
    data.tags.push('seat');
    const r = await provider.search({ index: 'products', query: 'lamp' });
    expect(r.hits[0]!.document).toEqual({ name: 'Lamp', tags: ['light'] });
    await provider.close();
  });

  it('withResults returns a copy of the canned result for every search until reset with null', async () => {
    const canned: Omit<SearchResult<{ title: string }>, 'totalHitsExact' | 'processingTimeMs'> = {
      hits: [{ id: 'c', document: { title: 'Canned' } }],
      totalHits: 1,
      facets: { kind: [{ value: 'x', count: 1 }] },
    };
    const provider = new MockSearchProvider({ results: canned });
    await provider.indexDocument({ id: 'real', index: 'products', data: { title: 'Real' } });

    const first = await provider.search<{ title: string }>({ index: 'products', query: 'real' });
    expect(first).toEqual({ ...canned, totalHitsExact: true, processingTimeMs: 0 });
    first.hits[0]!.document.title = 'mutated';
    expect(
      (await provider.search<{ title: string }>({ index: 'other', query: '' })).hits[0]!.document.title,
    ).toBe('Canned');
    provider.assertSearched('other', '');

    provider.withResults(null);
    expect((await provider.search({ index: 'products', query: 'real' })).hits.map((h) => h.id)).toEqual([
      'real',
    ]);
    await provider.close();
  });

  it('failWith rejects every operation with IN502 from provider "mock" and makes healthCheck false', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocument({ id: '1', index: 'products', data: { name: 'Lamp' } });
    expect(provider.failWith('Connection refused')).toBe(provider);
    expect(provider.shouldFail).toBe(true);
    expect(await provider.healthCheck()).toBe(false);

    const calls: Promise<unknown>[] = [
      provider.search({ index: 'products', query: 'lamp' }),
      provider.indexDocument({ id: '2', index: 'products', data: {} }),
      provider.indexDocuments([{ id: '3', index: 'products', data: {} }]),
      provider.deleteDocument('products', '1'),
      provider.clearIndex('products'),
      provider.configureIndex('products', { searchable: ['name'] }),
    ];
    for (const call of calls) {
      const err = await rejection(call);
      expect(err.code).toBe('IN502');
      expect(err.provider).toBe('mock');
      expect(err.message).toBe('Connection refused');
    }

    provider.shouldFail = false;
    expect(await provider.healthCheck()).toBe(true);
    // Nothing changed while failing.
    expect(provider.documents('products').map((d) => d.id)).toEqual(['1']);
    await provider.close();
  });

  it('shouldFail is writable and uses a default message', async () => {
    const provider = new MockSearchProvider();
    provider.shouldFail = true;
    const err = await rejection(provider.search({ index: 'products', query: '' }));
    expect(err.code).toBe('IN502');
    expect(err.message).toBe('Mock search failure');
    provider.shouldFail = false;
    await expect(provider.search({ index: 'products', query: '' })).resolves.toMatchObject({ totalHits: 0 });
    await provider.close();
  });

  it('failing calls are recorded with their error', async () => {
    const provider = new MockSearchProvider().failWith('down');
    await rejection(provider.search({ index: 'products', query: 'lamp' }));
    provider.assertSearched('products', 'lamp');
    expect(provider.recordedOperations()[0]!.error).toBe('down');
  });

  it('rejects use after close with IN502', async () => {
    const provider = new MockSearchProvider();
    await provider.close();
    expect(await provider.healthCheck()).toBe(false);
    const err = await rejection(provider.search({ index: 'products', query: '' }));
    expect(err.code).toBe('IN502');
    await provider.close();
  });

  it('refuses rawFilter with IN005: the mock has no engine syntax', async () => {
    const provider = new MockSearchProvider();
    const err = await rejection(provider.search({ index: 'products', query: '', rawFilter: 'price > 1' }));
    expect(err.code).toBe('IN005');
    await provider.close();
  });

  it('refuses index settings that are not lists of field names with IN002', async () => {
    const provider = new MockSearchProvider();
    const err = await rejection(
      provider.configureIndex('products', { searchable: 'name' as unknown as string[] }),
    );
    expect(err.code).toBe('IN002');
    const err2 = await rejection(
      provider.configureIndex('products', { searchable: ['name'], filterable: ['bad field'] }),
    );
    expect(err2.code).toBe('IN002');
    await provider.close();
  });

  it('refuses documents that are not JSON-serialisable with IN107, in a bulk as a per-document failure', async () => {
    const provider = new MockSearchProvider();
    const err = await rejection(provider.indexDocument({ id: 'big', index: 'products', data: { n: 1n } }));
    expect(err.code).toBe('IN107');
    const bulk = await provider.indexDocuments([
      { id: 'ok', index: 'products', data: { n: 1 } },
      { id: 'big', index: 'products', data: { n: 1n } },
    ]);
    expect(bulk.succeeded).toBe(1);
    expect(bulk.failed).toEqual([{ id: 'big', reason: expect.stringContaining('JSON') }]);
    await provider.close();
  });

  it('highlights the prefix-matched word of a search-as-you-type query', async () => {
    const provider = new MockSearchProvider();
    await provider.configureIndex('products', { searchable: ['name'] });
    await provider.indexDocument({ id: '1', index: 'products', data: { name: 'Desk Lamp' } });
    const r = await provider.search({ index: 'products', query: 'desk la', highlight: ['name'] });
    expect(r.hits[0]!.highlights).toEqual({ name: '<mark>Desk</mark> <mark>Lamp</mark>' });
    await provider.close();
  });

  it('orders facet values by count, then value', async () => {
    const provider = new MockSearchProvider();
    await provider.indexDocuments([
      { id: '1', index: 'products', data: { kind: 'b' } },
      { id: '2', index: 'products', data: { kind: 'a' } },
      { id: '3', index: 'products', data: { kind: 'c' } },
      { id: '4', index: 'products', data: { kind: 'c' } },
    ]);
    const r = await provider.search({ index: 'products', query: '', facets: ['kind'] });
    expect(r.facets).toEqual({
      kind: [
        { value: 'c', count: 2 },
        { value: 'a', count: 1 },
        { value: 'b', count: 1 },
      ],
    });
    await provider.close();
  });
});
