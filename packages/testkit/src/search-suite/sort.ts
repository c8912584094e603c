import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { CATALOGUE_IDS } from '../search-fixtures';
import { byPrice, type CatalogueContext, orderedIds } from './context';

/** SearchProvider contract, sorting. Registers its tests in the caller's `describe`. */
export function searchSortTests({ search }: CatalogueContext): void {
  it('sorts ascending and descending by a number', async () => {
    const asc = await search({ query: '', sort: ['price:asc'] });
    expect(orderedIds(asc)).toEqual(byPrice(CATALOGUE_IDS));
    const desc = await search({ query: '', sort: ['price:desc'] });
    expect(orderedIds(desc)).toEqual(byPrice(CATALOGUE_IDS, -1));
  });

  it('sorts by a date stored as epoch ms', async () => {
    const r = await search({ query: '', sort: ['released_at:desc'] });
    expect(orderedIds(r)).toEqual(['p10', 'p05', 'p06', 'p03', 'p01', 'p09', 'p02', 'p04', 'p07', 'p08']);
  });

  it('sorts by two keys', async () => {
    const r = await search({
      query: '',
      filter: { field: 'category', op: 'exists' },
      sort: ['category:asc', 'price:desc'],
    });
    expect(orderedIds(r)).toEqual(['p07', 'p08', 'p06', 'p05', 'p01', 'p09', 'p02', 'p03', 'p04']);
  });

  it('sort applies to the hits of a word query', async () => {
    expect(orderedIds(await search({ query: 'guide', sort: ['price:asc'] }))).toEqual(['p08', 'p07']);
    expect(orderedIds(await search({ query: 'guide', sort: ['price:desc'] }))).toEqual(['p07', 'p08']);
  });

  it('sorting on a field not declared sortable, or with a bad direction, is IN101', async () => {
    await expectIntegrationError(() => search({ query: '', sort: ['description:asc'] }), 'IN101');
    await expectIntegrationError(() => search({ query: '', sort: ['price:sideways'] }), 'IN101');
  });
}
