import { expect, it } from 'vitest';
import { CATALOGUE_IDS, PRODUCT_CATALOGUE, TRICKY_BRAND, UNICODE_BRAND } from '../search-fixtures';
import { type CatalogueContext, sortedIds } from './context';

/** SearchProvider contract, word queries and the shape of results. Registers its tests in the caller's `describe`. */
export function searchWordTests({ search, idsOf }: CatalogueContext): void {
  it('a word query returns exactly the documents containing the word, in any searchable field', async () => {
    expect(await idsOf({ query: 'espresso' })).toEqual(['p01']);
    expect(await idsOf({ query: 'keyboard' })).toEqual(['p05']);
    // One match in a name, one in a description.
    expect(await idsOf({ query: 'guide' })).toEqual(['p07', 'p08']);
    expect(await idsOf({ query: 'coffee' })).toEqual(['p01', 'p02']);
  });

  it('matching is case-insensitive', async () => {
    expect(await idsOf({ query: 'ESPRESSO' })).toEqual(['p01']);
    expect(await idsOf({ query: 'Keyboard' })).toEqual(['p05']);
  });

  it('every word of a multi-word query must match', async () => {
    expect(await idsOf({ query: 'coffee mug' })).toEqual(['p02']);
    expect(await idsOf({ query: 'espresso keyboard' })).toEqual([]);
  });

  it('the last word matches as a prefix (search as you type)', async () => {
    expect(await idsOf({ query: 'headph' })).toEqual(['p06']);
    expect(await idsOf({ query: 'ceramic mu' })).toEqual(['p02']);
  });

  it('non-ASCII words match', async () => {
    expect(await idsOf({ query: 'brûlée' })).toEqual(['p09']);
  });

  it('fields that are not searchable are not matched', async () => {
    // "Clack" is only the brand of p05/p06, and brand is filterable but not searchable.
    expect(await idsOf({ query: 'clack' })).toEqual([]);
  });

  it('a word no document contains gives no hits and totalHits 0', async () => {
    const r = await search({ query: 'zeppelin' });
    expect(r.hits).toEqual([]);
    expect(r.totalHits).toBe(0);
  });

  it('query "" browses every document', async () => {
    const r = await search({ query: '' });
    expect(sortedIds(r)).toEqual([...CATALOGUE_IDS]);
    expect(r.totalHits).toBe(CATALOGUE_IDS.length);
  });

  it('hits carry the id and the document as indexed (quotes, colons, backticks, unicode intact)', async () => {
    const r = await search({ query: '' });
    expect(r.hits).toHaveLength(CATALOGUE_IDS.length);
    for (const hit of r.hits) {
      expect(typeof hit.id).toBe('string');
      expect(hit.document).toMatchObject(PRODUCT_CATALOGUE[hit.id]!);
    }
    const p07 = r.hits.find((h) => h.id === 'p07')!;
    expect(p07.document.brand).toBe(TRICKY_BRAND);
    expect(r.hits.find((h) => h.id === 'p09')!.document.brand).toBe(UNICODE_BRAND);
  });

  it('result metadata: totalHitsExact is a boolean, processingTimeMs a number ≥ 0', async () => {
    for (const q of ['coffee', '']) {
      const r = await search({ query: q });
      expect(typeof r.totalHitsExact).toBe('boolean');
      expect(typeof r.processingTimeMs).toBe('number');
      expect(Number.isFinite(r.processingTimeMs)).toBe(true);
      expect(r.processingTimeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('when hits carry scores, they are finite and in relevance order for a word query without sort', async () => {
    for (const q of ['coffee', 'guide']) {
      const r = await search({ query: q });
      expect(r.hits.length).toBe(2);
      const scores = r.hits.map((h) => h.score).filter((s): s is number => s !== undefined);
      for (const s of scores) expect(Number.isFinite(s)).toBe(true);
      if (scores.length === r.hits.length) {
        for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
      }
    }
  });
}
