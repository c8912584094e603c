import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { CATALOGUE_IDS, catalogueDocuments, PRODUCT_CATALOGUE } from '../search-fixtures';
import { orderedIds, type SearchTopicContext, sortedIds, without } from './context';

/** SearchProvider contract, indexing, replacing and deleting documents. Registers its tests in the caller's `describe`. */
export function searchWriteTests({ p, newIndex, configure, seedCatalogue }: SearchTopicContext): void {
  it('indexDocument is visible to the very next search', async () => {
    const index = newIndex();
    await configure(index);
    await p().indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } });
    const r = await p().search({ index, query: 'espresso' });
    expect(orderedIds(r)).toEqual(['p01']);
    expect(r.hits[0]!.document).toMatchObject(PRODUCT_CATALOGUE.p01!);
  });

  it('indexDocuments is visible to the very next search', async () => {
    const index = await seedCatalogue();
    const r = await p().search({
      index,
      query: '',
      filter: { field: 'category', op: 'eq', value: 'books' },
    });
    expect(sortedIds(r)).toEqual(['p07', 'p08']);
  });

  it('indexDocument with an existing id replaces the document (not merges)', async () => {
    const index = await seedCatalogue();
    await p().indexDocument({
      id: 'p05',
      index,
      data: {
        name: 'Ergonomic Trackball',
        description: 'Smooth pointer control',
        price: 60.5,
        in_stock: true,
      },
    });
    expect(sortedIds(await p().search({ index, query: 'keyboard' }))).toEqual([]);
    const r = await p().search({ index, query: 'trackball' });
    expect(orderedIds(r)).toEqual(['p05']);
    expect(r.hits[0]!.document).toMatchObject({ name: 'Ergonomic Trackball', price: 60.5 });
    // Fields of the old version are gone.
    expect(r.hits[0]!.document.tags).toBeUndefined();
    expect(r.hits[0]!.document.category).toBeUndefined();
    expect((await p().search({ index, query: '' })).totalHits).toBe(CATALOGUE_IDS.length);
    const electronics = await p().search({
      index,
      query: '',
      filter: { field: 'category', op: 'eq', value: 'electronics' },
    });
    expect(sortedIds(electronics)).toEqual(['p06']);
  });

  it('deleteDocument removes the document at once; deleting a missing id resolves', async () => {
    const index = await seedCatalogue();
    await p().deleteDocument(index, 'p01');
    expect(sortedIds(await p().search({ index, query: 'espresso' }))).toEqual([]);
    expect(sortedIds(await p().search({ index, query: 'coffee' }))).toEqual(['p02']);
    const browse = await p().search({ index, query: '', limit: 100 });
    expect(browse.totalHits).toBe(CATALOGUE_IDS.length - 1);
    expect(sortedIds(browse)).toEqual(without('p01'));
    await expect(p().deleteDocument(index, 'p01')).resolves.toBeUndefined();
    await expect(p().deleteDocument(index, 'never-indexed')).resolves.toBeUndefined();
  });

  it('clearIndex empties the index but keeps its configuration', async () => {
    const index = await seedCatalogue();
    await p().clearIndex(index);
    const empty = await p().search({ index, query: '' });
    expect(empty.hits).toEqual([]);
    expect(empty.totalHits).toBe(0);
    // Still configured: filterable fields filter, non-filterable ones are still refused.
    await p().indexDocuments(catalogueDocuments(index).filter((d) => ['p04', 'p08'].includes(d.id)));
    const r = await p().search({
      index,
      query: '',
      filter: { field: 'category', op: 'eq', value: 'books' },
    });
    expect(sortedIds(r)).toEqual(['p08']);
    expect(orderedIds(await p().search({ index, query: '', sort: ['price:desc'] }))).toEqual(['p04', 'p08']);
    await expectIntegrationError(
      () => p().search({ index, query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
      'IN101',
    );
  });

  it('indexDocuments reports per-document failures and indexes the rest', async () => {
    const index = newIndex();
    await configure(index);
    const docs = catalogueDocuments(index).slice(0, 3);
    const bad = [
      { id: '', index, data: { name: 'Empty id' } },
      { index, data: { name: 'Missing id' } } as unknown as (typeof docs)[number],
      { id: 'p99', index, data: null } as unknown as (typeof docs)[number],
    ];
    const result = await p().indexDocuments([docs[0]!, bad[0]!, docs[1]!, bad[1]!, bad[2]!, docs[2]!]);
    expect(result.succeeded).toBe(3);
    expect(result.failed).toHaveLength(3);
    for (const f of result.failed) {
      expect(typeof f.id).toBe('string');
      expect(typeof f.reason).toBe('string');
      expect(f.reason.length).toBeGreaterThan(0);
    }
    expect(result.failed.map((f) => f.id)).toContain('');
    expect(result.failed.map((f) => f.id)).toContain('p99');
    const r = await p().search({ index, query: '' });
    expect(sortedIds(r)).toEqual(['p01', 'p02', 'p03']);
  });

  it('indexDocuments of an empty array succeeds with nothing to do', async () => {
    const index = newIndex();
    await configure(index);
    expect(await p().indexDocuments([])).toEqual({ succeeded: 0, failed: [] });
  });

  it('indexDocument without an id, or with a non-object body, is IN107', async () => {
    const index = newIndex();
    await configure(index);
    await expectIntegrationError(() => p().indexDocument({ id: '', index, data: { name: 'x' } }), 'IN107');
    await expectIntegrationError(
      () => p().indexDocument({ id: 'x', index, data: 'text' as unknown as Record<string, unknown> }),
      'IN107',
    );
  });

  it('indexes are isolated from each other', async () => {
    const a = await seedCatalogue();
    const b = newIndex();
    await configure(b);
    await p().indexDocument({
      id: 'p01',
      index: b,
      data: { ...PRODUCT_CATALOGUE.p01!, name: 'Other Espresso' },
    });
    expect((await p().search({ index: b, query: '' })).totalHits).toBe(1);
    expect((await p().search({ index: a, query: '' })).totalHits).toBe(CATALOGUE_IDS.length);
    await p().clearIndex(b);
    expect((await p().search({ index: a, query: 'espresso' })).hits[0]!.document).toMatchObject({
      name: 'Espresso Machine',
    });
  });
}
