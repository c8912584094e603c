import { reindex } from '@fraiseql/core';
import { describeReindex, type FakeTypesense, startFakeTypesense, uniqueName } from '@fraiseql/testkit';
import { Client } from 'typesense';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTypesenseSearch, type TypesenseSearchProvider } from '../src/index.ts';

let fake: FakeTypesense;
beforeAll(async () => {
  fake = await startFakeTypesense();
});
afterAll(async () => {
  await fake?.close();
});

const client = () =>
  new Client({ nodes: [{ host: fake.host, port: fake.port, protocol: 'http' }], apiKey: fake.apiKey });
const options = () => ({
  nodes: [{ host: fake.host, port: fake.port, protocol: 'http' as const }],
  apiKey: fake.apiKey,
});

/** The names users see: aliases, and collections no alias points at. */
async function listIndexes(): Promise<string[]> {
  const c = client();
  const { aliases } = await c.aliases().retrieve();
  const targets = new Set(aliases.map((a) => a.collection_name));
  const collections = (await c.collections().retrieve()).map((x) => x.name).filter((n) => !targets.has(n));
  return [...aliases.map((a) => a.name), ...collections];
}

describeReindex('typesense (protocol double)', () => createTypesenseSearch(options()), {
  listIndexes,
  dropIndexes: async (p, names) => {
    for (const name of names) await (p as TypesenseSearchProvider).dropIndex(name);
  },
});

describe('fake Typesense /aliases with the official client', () => {
  it('upserts, resolves, lists and deletes aliases; a real collection wins over an alias', async () => {
    const c = client();
    const a = uniqueName('tsa');
    const b = uniqueName('tsb');
    const alias = uniqueName('tsal');
    for (const [name, v] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      await c.collections().create({ name, fields: [{ name: 'v', type: 'string' }] });
      await c.collections(name).documents().create({ id: '1', v });
    }
    expect(await c.aliases().upsert(alias, { collection_name: a })).toEqual({
      name: alias,
      collection_name: a,
    });
    const viaAlias = async (name: string) =>
      (await c.collections(name).documents().search({ q: '*', query_by: 'v' })).hits?.map(
        (h) => (h.document as { v: string }).v,
      );
    expect(await viaAlias(alias)).toEqual(['a']);
    await c.aliases().upsert(alias, { collection_name: b });
    expect(await c.aliases(alias).retrieve()).toEqual({ name: alias, collection_name: b });
    expect(await viaAlias(alias)).toEqual(['b']);
    expect((await c.aliases().retrieve()).aliases).toContainEqual({ name: alias, collection_name: b });
    // An alias named like a collection: the collection answers until it is dropped.
    await c.aliases().upsert(a, { collection_name: b });
    expect(await viaAlias(a)).toEqual(['a']);
    await c.collections(a).delete();
    expect(await viaAlias(a)).toEqual(['b']);
    await expect(c.aliases().upsert(alias, {} as never)).rejects.toMatchObject({ httpStatus: 400 });
    expect(await c.aliases(alias).delete()).toEqual({ name: alias, collection_name: b });
    await expect(c.aliases(alias).retrieve()).rejects.toMatchObject({ httpStatus: 404 });
    await c.aliases(a).delete();
    await c.collections(b).delete();
  });

  it('the first reindex of a plain collection leaves an alias on the new collection', async () => {
    const p = await createTypesenseSearch(options());
    const index = uniqueName('tsfirst');
    await p.configureIndex(index, { searchable: ['t'] });
    await p.indexDocument({ id: 'old', index, data: { t: 'x' } });
    await reindex(p, { index, source: [{ id: 'new', t: 'y' }] });
    const alias = await client().aliases(index).retrieve();
    expect(alias.collection_name.startsWith(`${index}__`)).toBe(true);
    expect((await p.search({ index, query: '' })).hits.map((h) => h.id)).toEqual(['new']);
    await p.dropIndex(index);
    expect(await listIndexes()).not.toContain(index);
    await p.close();
  });
});
