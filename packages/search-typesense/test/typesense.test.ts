import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { type IntegrationError, isIntegrationError, type SearchProvider } from '@fraiseql/core';
import {
  CATALOGUE_IDS,
  CATALOGUE_INDEX_CONFIG,
  catalogueDocuments,
  describeSearchProvider,
  type FakeTypesense,
  numberedDocuments,
  type SearchSuiteOptions,
  startFakeTypesense,
  uniqueName,
} from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTypesenseSearch,
  type TypesenseSearchOptions,
  type TypesenseSearchProvider,
} from '../src/index.ts';

const fake = await startFakeTypesense();
afterAll(() => fake.close());

const nodesOf = (f: FakeTypesense) => [{ host: f.host, port: f.port, protocol: f.protocol }];
const optionsFor = (
  f: FakeTypesense,
  extra: Partial<TypesenseSearchOptions> = {},
): TypesenseSearchOptions => ({
  nodes: nodesOf(f),
  apiKey: f.apiKey,
  ...extra,
});

async function rejection(run: () => Promise<unknown>): Promise<IntegrationError> {
  let error: unknown;
  try {
    await run();
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a rejection').toBeDefined();
  expect(isIntegrationError(error), String(error)).toBe(true);
  return error as IntegrationError;
}

/** Asserts that no rendering of the error (message, JSON body, inspected cause chain) carries the key. */
function expectNoSecret(err: IntegrationError, secret: string): void {
  expect(err.message).not.toContain(secret);
  expect(JSON.stringify(err.toJSON())).not.toContain(secret);
  expect(inspect(err, { depth: 10 })).not.toContain(secret);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const suiteOptions: SearchSuiteOptions = {
  indexPrefix: 'ts',
  // Typesense's own syntax: `:=` matches the whole (token-normalized) value.
  rawFilter: { filter: 'category:=kitchen', ids: ['p01', 'p02', 'p09'] },
  dropIndexes: async (provider, indexes) => {
    for (const index of indexes) await (provider as TypesenseSearchProvider).dropIndex(index);
  },
};

describeSearchProvider('typesense (protocol double)', () => createTypesenseSearch(optionsFor(fake)), {
  ...suiteOptions,
  additionalTests: ({ provider, newIndex, seedCatalogue }) => {
    const p = () => provider() as TypesenseSearchProvider;

    it('returned documents never carry the hidden filter fields', async () => {
      const index = await seedCatalogue();
      const r = await p().search({ index, query: '', limit: 100 });
      for (const hit of r.hits) {
        expect(Object.keys(hit.document)).not.toContain('_fields');
        expect(Object.keys(hit.document)).not.toContain('_values');
      }
    });

    it('an OR group after another condition keeps its grouping (Typesense gives && and || one precedence)', async () => {
      const index = await seedCatalogue();
      const r = await p().search({
        index,
        query: '',
        limit: 100,
        filter: {
          and: [
            { field: 'price', op: 'lt', value: 40 },
            {
              or: [
                { field: 'category', op: 'eq', value: 'books' },
                { field: 'category', op: 'eq', value: 'electronics' },
              ],
            },
          ],
        },
      });
      expect(r.hits.map((h) => h.id).sort()).toEqual(['p07', 'p08']);
    });

    it('a range on a string is IN101 (Typesense has no string range filter)', async () => {
      const index = await seedCatalogue();
      const err = await rejection(() =>
        p().search({ index, query: '', filter: { field: 'category', op: 'gt', value: 'k' } }),
      );
      expect(err.code).toBe('IN101');
      expect(err.message).toMatch(/cannot filter strings by range/);
    });

    it('a rawFilter Typesense cannot parse, or naming an unknown field, is IN101 with its message', async () => {
      const index = await seedCatalogue();
      const syntax = await rejection(() =>
        p().search({ index, query: '', rawFilter: 'category:=kitchen &&' }),
      );
      expect(syntax.code).toBe('IN101');
      expect(syntax.message).toMatch(/Could not parse the filter query/);
      const unknown = await rejection(() => p().search({ index, query: '', rawFilter: 'nope:=1' }));
      expect(unknown.code).toBe('IN101');
      expect(unknown.message).toMatch(/Could not find a filter field named `nope`/);
      // The same error when a long filter travels in a multi_search body.
      const long = Array.from({ length: 500 }, (_, i) => `v${i}`);
      const viaBody = await rejection(() =>
        p().search({
          index,
          query: '',
          rawFilter: 'nope:=1',
          filter: { field: 'category', op: 'in', value: long },
        }),
      );
      expect(viaBody.code).toBe('IN101');
      expect(viaBody.message).toMatch(/Could not find a filter field named `nope`/);
    });

    it('limit up to 1000 is served in pages of at most 250 (Typesense caps per_page)', async () => {
      const index = newIndex();
      await p().configureIndex(index, { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] });
      expect(await p().indexDocuments(numberedDocuments(index, 600))).toEqual({ succeeded: 600, failed: [] });
      const before = fake.requests.length;
      const all = await p().search({ index, query: '', sort: ['rank:asc'], limit: 1000 });
      expect(all.totalHits).toBe(600);
      expect(all.hits.map((h) => h.document.rank)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
      const slice = await p().search({ index, query: 'item', sort: ['rank:asc'], offset: 240, limit: 20 });
      expect(slice.hits.map((h) => h.id)).toEqual(Array.from({ length: 20 }, (_, i) => `d${241 + i}`));
      const wide = await p().search({ index, query: '', sort: ['rank:desc'], offset: 10, limit: 500 });
      expect(wide.hits.map((h) => h.document.rank)).toEqual(Array.from({ length: 500 }, (_, i) => 590 - i));
      const searches = fake.requests.slice(before).filter((r) => r.path.endsWith('/documents/search'));
      expect(searches.length).toBeGreaterThan(3);
      for (const r of searches) expect(Number(r.query.per_page)).toBeLessThanOrEqual(250);
    });

    it('a 1000-value "in" filter is sent in a POST /multi_search body', async () => {
      const index = await seedCatalogue();
      const values = ['books', 'sports', ...Array.from({ length: 998 }, (_, i) => `junk-${i}`)];
      const before = fake.requests.length;
      const r = await p().search({
        index,
        query: '',
        filter: { field: 'category', op: 'in', value: values },
        limit: 100,
      });
      expect(r.hits.map((h) => h.id).sort()).toEqual(['p03', 'p04', 'p07', 'p08']);
      expect(
        fake.requests.slice(before).some((req) => req.method === 'POST' && req.path === '/multi_search'),
      ).toBe(true);
    });

    it('reports Typesense type errors per document (dirty_values: reject) and keeps the rest', async () => {
      const index = newIndex();
      await p().configureIndex(index, { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] });
      const result = await p().indexDocuments([
        { id: 'a', index, data: { name: 'First', rank: 1 } },
        { id: 'b', index, data: { name: 'Second', rank: 'high' } },
        { id: 'c', index, data: { name: 'Third', rank: 2.5 } },
        { id: 'd', index, data: { name: 'Fourth', rank: 4 } },
      ]);
      expect(result.succeeded).toBe(2);
      expect(result.failed.map((f) => f.id)).toEqual(['b', 'c']);
      for (const f of result.failed) expect(f.reason).toMatch(/Field `rank` must be an int64/);
      const single = await rejection(() =>
        p().indexDocument({ id: 'e', index, data: { name: 'Fifth', rank: 'x' } }),
      );
      expect(single.code).toBe('IN107');
      expect(single.message).toMatch(/must be an int64/);
      const r = await p().search({ index, query: '', filter: { field: 'rank', op: 'gt', value: 1.5 } });
      expect(r.hits.map((h) => h.id)).toEqual(['d']);
    });

    it('stores Date values as epoch ms and filters them by Date or number', async () => {
      const index = newIndex();
      await p().configureIndex(index, { searchable: ['name'], filterable: ['at'], sortable: ['at'] });
      const at = new Date('2024-05-01T12:00:00.000Z');
      await p().indexDocument({ id: 'x', index, data: { name: 'Dated', at } });
      await p().indexDocument({ id: 'y', index, data: { name: 'Later', at: new Date(at.getTime() + 1) } });
      const r = await p().search({ index, query: '', filter: { field: 'at', op: 'lte', value: at } });
      expect(r.hits.map((h) => h.id)).toEqual(['x']);
      expect(r.hits[0]!.document.at).toBe(at.getTime());
      const eq = await p().search({
        index,
        query: '',
        filter: { field: 'at', op: 'eq', value: at.getTime() },
      });
      expect(eq.hits.map((h) => h.id)).toEqual(['x']);
    });

    it('a filterable field added later filters documents indexed before (no re-indexing needed)', async () => {
      const index = await seedCatalogue();
      await expect(
        p().search({
          index,
          query: '',
          filter: { field: 'description', op: 'eq', value: 'The short edition' },
        }),
      ).rejects.toMatchObject({ code: 'IN101' });
      await p().configureIndex(index, {
        ...CATALOGUE_INDEX_CONFIG,
        filterable: [...(CATALOGUE_INDEX_CONFIG.filterable ?? []), 'description'],
      });
      const r = await p().search({
        index,
        query: '',
        filter: { field: 'description', op: 'eq', value: 'The short edition' },
      });
      expect(r.hits.map((h) => h.id)).toEqual(['p08']);
    });

    it('writes and deletes on an index that was never configured are IN100; bulk writes report it per document', async () => {
      const index = uniqueName('tsmissing');
      expect((await rejection(() => p().indexDocument({ id: 'a', index, data: { name: 'x' } }))).code).toBe(
        'IN100',
      );
      const bulk = await p().indexDocuments([{ id: 'a', index, data: { name: 'x' } }]);
      expect(bulk).toEqual({ succeeded: 0, failed: [{ id: 'a', reason: `Index not found: ${index}` }] });
      expect((await rejection(() => p().deleteDocument(index, 'a'))).code).toBe('IN100');
      expect((await rejection(() => p().clearIndex(index))).code).toBe('IN100');
    });

    it('another provider instance finds the configuration from the collection schema', async () => {
      const index = await seedCatalogue();
      const other = await createTypesenseSearch(optionsFor(fake));
      try {
        const r = await other.search({
          index,
          query: 'coffee',
          filter: { field: 'category', op: 'eq', value: 'kitchen' },
          sort: ['price:asc'],
        });
        expect(r.hits.map((h) => h.id)).toEqual(['p02', 'p01']);
        await expect(
          other.search({ index, query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
        ).rejects.toMatchObject({ code: 'IN101' });
      } finally {
        await other.close();
      }
    });

    it('retries a 503 on the next attempt, and a node that keeps failing is IN502', async () => {
      const index = await seedCatalogue();
      fake.failNext(1, 503);
      expect((await p().search({ index, query: 'espresso' })).hits.map((h) => h.id)).toEqual(['p01']);
      fake.failNext(5, 503);
      const err = await rejection(() => p().search({ index, query: 'espresso' }));
      fake.failNext(0);
      expect(err.code).toBe('IN502');
      expect(err.provider).toBe('typesense');
    });
  },
});

describe('typesense backend specifics', () => {
  it('neq/nin keep documents without the field even where != would skip them', async () => {
    const strict = await startFakeTypesense({ notEqualsMatchesMissing: false });
    const provider = await createTypesenseSearch(optionsFor(strict));
    try {
      const index = uniqueName('tsstrict');
      await provider.configureIndex(index, CATALOGUE_INDEX_CONFIG);
      await provider.indexDocuments(catalogueDocuments(index));
      const ids = async (filter: Parameters<SearchProvider['search']>[0]['filter']) =>
        (await provider.search({ index, query: '', filter, limit: 100 })).hits.map((h) => h.id).sort();
      expect(await ids({ field: 'category', op: 'neq', value: 'kitchen' })).toEqual(
        CATALOGUE_IDS.filter((id) => !['p01', 'p02', 'p09'].includes(id)),
      );
      expect(await ids({ field: 'category', op: 'nin', value: ['books', 'sports'] })).toContain('p10');
      expect(await ids({ field: 'category', op: 'exists', value: false })).toEqual(['p10']);
    } finally {
      await provider.close();
      await strict.close();
    }
  });

  it('a wrong API key is IN401 from provider "typesense", without the key in any message', async () => {
    const wrongKey = `wrong-${uniqueName('key')}`;
    const withIndexes = await rejection(() =>
      createTypesenseSearch({
        ...optionsFor(fake),
        apiKey: wrongKey,
        indexes: { [uniqueName('tskey')]: { searchable: ['name'] } },
      }),
    );
    expect(withIndexes.code).toBe('IN401');
    expect(withIndexes.provider).toBe('typesense');
    expect(withIndexes.message).toMatch(/API key/);
    expectNoSecret(withIndexes, wrongKey);

    // /health needs no key, so the factory succeeds; the first real call is refused.
    const provider = await createTypesenseSearch({ ...optionsFor(fake), apiKey: wrongKey });
    try {
      const err = await rejection(() => provider.search({ index: uniqueName('tskey'), query: 'x' }));
      expect(err.code).toBe('IN401');
      expectNoSecret(err, wrongKey);
    } finally {
      await provider.close();
    }
  });

  it('an unreachable node is a coded error at once (IN501), without the key', async () => {
    const port = await closedPort();
    const apiKey = `secret-${uniqueName('k')}`;
    const err = await rejection(() =>
      createTypesenseSearch({ nodes: [{ host: '127.0.0.1', port, protocol: 'http' }], apiKey }),
    );
    expect(err.code).toBe('IN501');
    expect(err.provider).toBe('typesense');
    expectNoSecret(err, apiKey);
  });

  it('answers slower than the timeout are IN102 (searches and imports); healthCheck says false', async () => {
    const slow = await startFakeTypesense();
    const provider = await createTypesenseSearch(
      optionsFor(slow, {
        connectionTimeoutMs: 200,
        importTimeoutMs: 300,
        healthCheckTimeoutMs: 200,
        numRetries: 0,
      }),
    );
    try {
      const index = uniqueName('tsslow');
      await provider.configureIndex(index, CATALOGUE_INDEX_CONFIG);
      await provider.indexDocuments(catalogueDocuments(index));
      slow.latencyMs = 1500;
      const search = await rejection(() => provider.search({ index, query: 'espresso' }));
      expect(search.code).toBe('IN102');
      expect(search.provider).toBe('typesense');
      expectNoSecret(search, slow.apiKey);
      const write = await rejection(() => provider.indexDocuments(catalogueDocuments(index)));
      expect(write.code).toBe('IN102');
      expect(await provider.healthCheck()).toBe(false);
      slow.latencyMs = 0;
      expect(await provider.healthCheck()).toBe(true);
      expect((await provider.search({ index, query: 'espresso' })).hits.map((h) => h.id)).toEqual(['p01']);
    } finally {
      await provider.close();
      await slow.close();
    }
  });

  it('uses the exact field types of `collections`', async () => {
    const index = uniqueName('tscoll');
    const provider = await createTypesenseSearch({
      ...optionsFor(fake),
      collections: {
        [index]: {
          fields: [
            { name: 'title', type: 'string' },
            { name: 'price', type: 'float', facet: true, optional: true },
          ],
        },
      },
      indexes: { [index]: { searchable: ['title'], filterable: ['price'], sortable: ['price'] } },
    });
    try {
      // An integer first does not make `price` an int64: the declared float accepts 9.5 later.
      const bulk = await provider.indexDocuments([
        { id: 'a', index, data: { title: 'Plain Pen', price: 10 } },
        { id: 'b', index, data: { title: 'Fancy Pen', price: 9.5 } },
        { id: 'c', index, data: { price: 1 } },
      ]);
      expect(bulk.succeeded).toBe(2);
      expect(bulk.failed).toEqual([{ id: 'c', reason: expect.stringMatching(/Field `title`/) }]);
      const r = await provider.search({
        index,
        query: 'pen',
        filter: { field: 'price', op: 'lt', value: 9.75 },
        facets: ['price'],
      });
      expect(r.hits.map((h) => h.id)).toEqual(['b']);
      expect(r.facets).toEqual({ price: [{ value: '9.5', count: 1 }] });
      await provider.dropIndex(index);
    } finally {
      await provider.close();
    }
  });

  it('refuses invalid options with a configuration error', async () => {
    expect((await rejection(() => createTypesenseSearch({ nodes: nodesOf(fake), apiKey: '' }))).code).toBe(
      'IN001',
    );
    expect((await rejection(() => createTypesenseSearch({ nodes: [], apiKey: 'k' }))).code).toBe('IN002');
    expect(
      (
        await rejection(() =>
          createTypesenseSearch({ nodes: [{ host: 'h', port: 8108, protocol: 'ftp' }], apiKey: 'k' }),
        )
      ).code,
    ).toBe('IN002');
  });

  it('after close(), calls are refused and healthCheck is false', async () => {
    const provider = await createTypesenseSearch(optionsFor(fake));
    await provider.close();
    expect(await provider.healthCheck()).toBe(false);
    expect((await rejection(() => provider.search({ index: 'x', query: '' }))).code).toBe('IN502');
  });
});

const realUrl = process.env.TYPESENSE_URL;
const realKey = process.env.TYPESENSE_API_KEY;
if (realUrl && realKey) {
  const u = new URL(realUrl);
  const protocol = u.protocol.replace(':', '');
  describeSearchProvider(
    'typesense (real server)',
    () =>
      createTypesenseSearch({
        nodes: [{ host: u.hostname, port: Number(u.port || (protocol === 'https' ? 443 : 8108)), protocol }],
        apiKey: realKey,
      }),
    suiteOptions,
  );
} else {
  console.log(
    'typesense: the real-server suite did not run (set TYPESENSE_URL and TYPESENSE_API_KEY to run it)',
  );
}
