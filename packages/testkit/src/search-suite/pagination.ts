import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { CATALOGUE_IDS } from '../search-fixtures';
import { byPrice, type CatalogueContext, orderedIds } from './context';

/** SearchProvider contract, limit and offset. Registers its tests in the caller's `describe`. */
export function searchPaginationTests({ search }: CatalogueContext): void {
  it('limit/offset pages are disjoint, cover every hit, and keep totalHits stable', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < CATALOGUE_IDS.length; offset += 3) {
      const r = await search({ query: '', sort: ['price:asc'], limit: 3, offset });
      expect(r.totalHits).toBe(CATALOGUE_IDS.length);
      expect(r.hits.length).toBe(Math.min(3, CATALOGUE_IDS.length - offset));
      seen.push(...orderedIds(r));
    }
    expect(seen).toEqual(byPrice(CATALOGUE_IDS));
  });

  it('pages of an unsorted browse are disjoint and cover every document', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < CATALOGUE_IDS.length; offset += 4) {
      const r = await search({ query: '', limit: 4, offset });
      expect(r.totalHits).toBe(CATALOGUE_IDS.length);
      seen.push(...orderedIds(r));
    }
    expect(seen).toHaveLength(CATALOGUE_IDS.length);
    expect([...seen].sort()).toEqual([...CATALOGUE_IDS]);
  });

  it('an offset past the end gives no hits but the full totalHits', async () => {
    const r = await search({ query: '', offset: 50 });
    expect(r.hits).toEqual([]);
    expect(r.totalHits).toBe(CATALOGUE_IDS.length);
  });

  it('limit 1000 is accepted; above 1000 is IN101 (rejected, not clamped)', async () => {
    expect((await search({ query: '', limit: 1000 })).hits).toHaveLength(CATALOGUE_IDS.length);
    await expectIntegrationError(() => search({ query: '', limit: 1001 }), 'IN101');
  });

  it('a negative or fractional limit or offset is IN101', async () => {
    await expectIntegrationError(() => search({ query: '', limit: -1 }), 'IN101');
    await expectIntegrationError(() => search({ query: '', limit: 2.5 }), 'IN101');
    await expectIntegrationError(() => search({ query: '', offset: -1 }), 'IN101');
    await expectIntegrationError(() => search({ query: '', offset: 1.5 }), 'IN101');
  });
}
