import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { PRODUCT_CATALOGUE } from '../search-fixtures';
import { uniqueName } from '../services';
import { INVALID_INDEX_NAMES, orderedIds, type SearchTopicContext } from './context';

/** SearchProvider contract, index lifecycle and index-name validation. Registers its tests in the caller's `describe`. */
export function searchIndexTests({
  p,
  newIndex,
  configure,
  created,
  prefix,
  unknownIndexThrows,
}: SearchTopicContext): void {
  it('a configured index with no documents searches empty', async () => {
    const index = newIndex();
    await configure(index);
    const r = await p().search({ index, query: 'anything' });
    expect(r.hits).toEqual([]);
    expect(r.totalHits).toBe(0);
  });

  if (unknownIndexThrows) {
    it('search on an index that does not exist is IN100', async () => {
      await expectIntegrationError(
        () => p().search({ index: uniqueName(`${prefix}missing`), query: 'x' }),
        'IN100',
      );
    });
  } else {
    it('search on an unknown index resolves with no hits (this provider creates indexes on first write, no IN100)', async () => {
      const r = await p().search({ index: uniqueName(`${prefix}missing`), query: 'x' });
      expect(r.hits).toEqual([]);
      expect(r.totalHits).toBe(0);
    });
  }

  it('a 64-character name with upper case, "-" and "_" is valid', async () => {
    const index = `${uniqueName(prefix)}-Mixed_Case`.padEnd(64, 'Z');
    created.push(index);
    expect(index).toHaveLength(64);
    await configure(index);
    await p().indexDocument({ id: 'p02', index, data: { ...PRODUCT_CATALOGUE.p02! } });
    expect(orderedIds(await p().search({ index, query: 'mug' }))).toEqual(['p02']);
    await p().deleteDocument(index, 'p02');
    await p().clearIndex(index);
  });

  for (const bad of INVALID_INDEX_NAMES) {
    it(`invalid index name ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…(${bad.length})` : bad)} is IN106 on every method`, async () => {
      const doc = { id: 'p01', index: bad, data: { name: 'x' } };
      await expectIntegrationError(() => p().search({ index: bad, query: 'x' }), 'IN106');
      await expectIntegrationError(() => p().indexDocument(doc), 'IN106');
      await expectIntegrationError(() => p().indexDocuments([doc]), 'IN106');
      await expectIntegrationError(() => p().deleteDocument(bad, 'p01'), 'IN106');
      await expectIntegrationError(() => p().clearIndex(bad), 'IN106');
      await expectIntegrationError(() => p().configureIndex(bad, { searchable: ['name'] }), 'IN106');
    });
  }
}
