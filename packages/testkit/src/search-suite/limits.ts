import { expect, it } from 'vitest';
import { numberedDocuments } from '../search-fixtures';
import { orderedIds, type SearchTopicContext } from './context';

/** SearchProvider contract, the default limit. Registers its tests in the caller's `describe`. */
export function searchLimitTests({ p, newIndex, configure }: SearchTopicContext): void {
  it('limit defaults to 20 (25 documents indexed)', async () => {
    const index = newIndex();
    await configure(index, { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] });
    expect(await p().indexDocuments(numberedDocuments(index, 25))).toEqual({ succeeded: 25, failed: [] });
    const r = await p().search({ index, query: '' });
    expect(r.hits).toHaveLength(20);
    expect(r.totalHits).toBe(25);
    const sorted = await p().search({ index, query: 'item', sort: ['rank:asc'], offset: 20 });
    expect(orderedIds(sorted)).toEqual(['d021', 'd022', 'd023', 'd024', 'd025']);
    expect(sorted.totalHits).toBe(25);
  });
}
