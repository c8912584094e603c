import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { type CatalogueContext, facetSet } from './context';

/** SearchProvider contract, facet counts. Registers its tests in the caller's `describe`. */
export function searchFacetTests({ search }: CatalogueContext): void {
  it('counts each value over the filtered set (array fields count every element)', async () => {
    const r = await search({
      query: '',
      filter: { field: 'in_stock', op: 'eq', value: true },
      facets: ['category', 'tags'],
    });
    expect(r.totalHits).toBe(7);
    expect(facetSet(r, 'category')).toEqual([
      { value: 'books', count: 2 },
      { value: 'electronics', count: 1 },
      { value: 'kitchen', count: 2 },
      { value: 'sports', count: 1 },
    ]);
    expect(facetSet(r, 'tags')).toEqual([
      { value: 'appliance', count: 1 },
      { value: 'ceramic', count: 1 },
      { value: 'coffee', count: 2 },
      { value: 'computer', count: 1 },
      { value: 'fitness', count: 1 },
      { value: 'gift', count: 1 },
      { value: 'reference', count: 2 },
      { value: 'travel', count: 1 },
      { value: 'typing', count: 1 },
    ]);
  });

  it('counts only the documents matching the word query', async () => {
    const r = await search({ query: 'coffee', facets: ['category'] });
    expect(facetSet(r, 'category')).toEqual([{ value: 'kitchen', count: 2 }]);
  });

  it('counts the whole result, not just the returned page', async () => {
    const r = await search({ query: '', facets: ['category'], limit: 1 });
    expect(r.hits).toHaveLength(1);
    expect(facetSet(r, 'category')).toEqual([
      { value: 'books', count: 2 },
      { value: 'electronics', count: 2 },
      { value: 'kitchen', count: 3 },
      { value: 'sports', count: 2 },
    ]);
  });

  it('a facet on a field not declared filterable is IN101', async () => {
    await expectIntegrationError(() => search({ query: '', facets: ['description'] }), 'IN101');
  });
}
