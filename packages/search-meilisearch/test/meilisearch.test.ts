import { type IntegrationError, isIntegrationError, type SearchProvider } from '@fraiseql/core';
import {
  CATALOGUE_INDEX_CONFIG,
  catalogueDocuments,
  describeSearchProvider,
  type FakeMeilisearch,
  PRODUCT_CATALOGUE,
  startFakeMeilisearch,
  uniqueName,
} from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeilisearchSearch,
  decodeDocumentId,
  encodeDocumentId,
  type MeilisearchSearch,
} from '../src/index.ts';
import { pageWindow } from '../src/query.ts';

async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the promise to reject').toBeDefined();
  expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
  return err as IntegrationError;
}

const dropIndexes = async (provider: SearchProvider, indexes: string[]) => {
  for (const index of indexes) await (provider as MeilisearchSearch).deleteIndex(index);
};

// ---------------------------------------------------------------------------------------------
// The contract, against the protocol double.

let fake: FakeMeilisearch;
beforeAll(async () => {
  fake = await startFakeMeilisearch();
});
afterAll(async () => {
  await fake?.close();
});

describeSearchProvider(
  'meilisearch (protocol double)',
  () => createMeilisearchSearch({ host: fake.url, apiKey: fake.apiKey }),
  {
    rawFilter: { filter: 'category = kitchen', ids: ['p01', 'p02', 'p09'] },
    dropIndexes,
    indexPrefix: 'meili',
    additionalTests: ({ provider, newIndex, seedCatalogue }) => {
      it('searches in exhaustive page mode with matchingStrategy "all" and <mark> tags', async () => {
        const index = await seedCatalogue();
        await provider().search({ index, query: 'coffee', limit: 3, offset: 6, highlight: ['name'] });
        const req = fake.requests.filter((r) => r.path === `/indexes/${index}/search`).at(-1)!;
        expect(req.body).toMatchObject({
          q: 'coffee',
          matchingStrategy: 'all',
          highlightPreTag: '<mark>',
          highlightPostTag: '</mark>',
        });
        const body = req.body as { hitsPerPage: number; page: number };
        // The page holding hits 6..8 exactly: no split window.
        expect((body.page - 1) * body.hitsPerPage).toBeLessThanOrEqual(6);
        expect(body.page * body.hitsPerPage).toBeGreaterThanOrEqual(9);
      });

      it('an offset that is not a multiple of the limit still pages exactly with exact totals', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({ index, query: '', sort: ['price:asc'], offset: 3, limit: 4 });
        const byPrice = Object.keys(PRODUCT_CATALOGUE).sort(
          (a, b) => PRODUCT_CATALOGUE[a]!.price - PRODUCT_CATALOGUE[b]!.price,
        );
        expect(r.hits.map((h) => h.id)).toEqual(byPrice.slice(3, 7));
        expect(r.totalHits).toBe(10);
        expect(r.totalHitsExact).toBe(true);
      });

      it('document ids outside [A-Za-z0-9_-] round-trip (stored encoded)', async () => {
        const index = newIndex();
        await provider().configureIndex(index, CATALOGUE_INDEX_CONFIG);
        const ids = ['a/b c', 'é:ü', '_b64_looks-encoded', 'plain-id_1', 'x'.repeat(300)];
        const result = await provider().indexDocuments(
          ids.map((id, i) => ({ id, index, data: { name: `Widget ${i}`, price: i } })),
        );
        expect(result).toEqual({ succeeded: ids.length, failed: [] });
        const r = await provider().search({ index, query: 'widget', limit: 10 });
        expect(r.hits.map((h) => h.id).sort()).toEqual([...ids].sort());
        for (const h of r.hits) expect(h.document.id).toBe(h.id);
        await provider().deleteDocument(index, 'a/b c');
        const after = await provider().search({ index, query: 'widget', limit: 10 });
        expect(after.hits.map((h) => h.id)).not.toContain('a/b c');
        expect(after.totalHits).toBe(ids.length - 1);
      });

      it('an id too long to store is reported in failed, the rest are indexed', async () => {
        const index = newIndex();
        await provider().configureIndex(index, CATALOGUE_INDEX_CONFIG);
        const r = await provider().indexDocuments([
          { id: 'é'.repeat(400), index, data: { name: 'Long' } },
          { id: 'ok', index, data: { name: 'Short' } },
        ]);
        expect(r.succeeded).toBe(1);
        expect(r.failed).toHaveLength(1);
        expect(r.failed[0]!.reason).toMatch(/too long/);
      });

      it('a task the engine fails is IN105 carrying the engine message', async () => {
        const index = newIndex();
        await provider().configureIndex(index, CATALOGUE_INDEX_CONFIG);
        const err = await rejection(
          provider().indexDocument({ id: 'geo1', index, data: { name: 'Somewhere', _geo: 'nowhere' } }),
        );
        expect(err.code).toBe('IN105');
        expect(err.provider).toBe('meilisearch');
        expect(err.message).toContain(
          'The `_geo` field in the document with the id: `"geo1"` is not an object',
        );
        expect(err.message).toContain('invalid_document_geo_field');
      });

      it('when the engine fails a bulk task, every document of the batch is reported with its message', async () => {
        const index = newIndex();
        await provider().configureIndex(index, CATALOGUE_INDEX_CONFIG);
        const docs = catalogueDocuments(index).slice(0, 3);
        docs[1]!.data._geo = { lat: 'north' };
        const r = await provider().indexDocuments(docs);
        expect(r.succeeded).toBe(0);
        expect(r.failed.map((f) => f.id).sort()).toEqual(['p01', 'p02', 'p03']);
        for (const f of r.failed) expect(f.reason).toMatch(/latitude.*invalid_document_geo_field/);
        expect((await provider().search({ index, query: '' })).totalHits).toBe(0);
      });

      it('an injected task failure surfaces as IN105 with the injected message', async () => {
        const index = newIndex();
        await provider().configureIndex(index, CATALOGUE_INDEX_CONFIG);
        fake.failNextTasks(1, {
          message: 'Disk quota reached on the engine',
          code: 'no_space_left_on_device',
          type: 'system',
        });
        const err = await rejection(provider().clearIndex(index));
        expect(err.code).toBe('IN105');
        expect(err.message).toContain('Disk quota reached on the engine');
      });

      it('clearIndex and deleteDocument on an index that does not exist are IN100', async () => {
        const missing = uniqueName('meilimissing');
        expect((await rejection(provider().clearIndex(missing))).code).toBe('IN100');
        expect((await rejection(provider().deleteDocument(missing, 'x'))).code).toBe('IN100');
      });

      it('null values count as missing for exists/neq/nin, as in the portable filter', async () => {
        const index = newIndex();
        await provider().configureIndex(index, { searchable: ['name'], filterable: ['category'] });
        await provider().indexDocuments([
          { id: 'a', index, data: { name: 'A', category: 'x' } },
          { id: 'b', index, data: { name: 'B', category: null } },
          { id: 'c', index, data: { name: 'C' } },
        ]);
        const ids = async (filter: Parameters<SearchProvider['search']>[0]['filter']) =>
          (await provider().search({ index, query: '', filter })).hits.map((h) => h.id).sort();
        expect(await ids({ field: 'category', op: 'exists' })).toEqual(['a']);
        expect(await ids({ field: 'category', op: 'exists', value: false })).toEqual(['b', 'c']);
        expect(await ids({ field: 'category', op: 'neq', value: 'x' })).toEqual(['b', 'c']);
        expect(await ids({ field: 'category', op: 'nin', value: ['x'] })).toEqual(['b', 'c']);
        expect(await ids({ field: 'category', op: 'eq', value: 'x' })).toEqual(['a']);
      });

      it('a malformed rawFilter is IN101 with the engine message', async () => {
        const index = await seedCatalogue();
        const err = await rejection(
          provider().search({ index, query: '', rawFilter: 'category = "kitchen' }),
        );
        expect(err.code).toBe('IN101');
        expect(err.message).toMatch(/closing delimiter/);
      });

      it('Date values in documents are stored as epoch milliseconds', async () => {
        const index = newIndex();
        await provider().configureIndex(index, {
          searchable: ['name'],
          filterable: ['at'],
          sortable: ['at'],
        });
        const at = new Date('2024-05-01T00:00:00.000Z');
        await provider().indexDocument({ id: 'd1', index, data: { name: 'Dated', at } });
        const r = await provider().search({ index, query: '', filter: { field: 'at', op: 'eq', value: at } });
        expect(r.hits.map((h) => h.id)).toEqual(['d1']);
        expect(r.hits[0]!.document.at).toBe(at.getTime());
      });

      it('a 5xx from the engine is a coded provider error and carries no API key', async () => {
        const index = await seedCatalogue();
        fake.failNext(1, 502);
        const err = await rejection(provider().search({ index, query: 'coffee' }));
        expect(err.code).toBe('IN400');
        expect(err.message).not.toContain(fake.apiKey);
      });
    },
  },
);

// ---------------------------------------------------------------------------------------------
// The contract against a real server, when one is configured.

const realUrl = process.env.MEILISEARCH_URL;
const realKey = process.env.MEILISEARCH_API_KEY;
if (realUrl && realKey !== undefined) {
  describeSearchProvider(
    'meilisearch (real server)',
    () => createMeilisearchSearch({ host: realUrl, apiKey: realKey }),
    {
      rawFilter: { filter: 'category = kitchen', ids: ['p01', 'p02', 'p09'] },
      dropIndexes,
      indexPrefix: 'meili',
    },
  );
} else {
  console.log(
    'meilisearch: MEILISEARCH_URL/MEILISEARCH_API_KEY not set, the suite did not run against a real server',
  );
}

// ---------------------------------------------------------------------------------------------
// Connection, auth, timeouts.

describe('createMeilisearchSearch: failures', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });

  it('a wrong API key is IN400 from provider "meilisearch", without the key in the message', async () => {
    const wrong = 'definitely-not-the-key-7f3a9c';
    const err = await rejection(createMeilisearchSearch({ host: fake.url, apiKey: wrong }));
    expect(err.code).toBe('IN400');
    expect(err.provider).toBe('meilisearch');
    expect(err.message).toMatch(/invalid_api_key/);
    expect(err.message).not.toContain(wrong);
    expect(JSON.stringify(err.toJSON())).not.toContain(wrong);
  });

  it('a missing API key is IN400 (missing_authorization_header)', async () => {
    const err = await rejection(createMeilisearchSearch({ host: fake.url, apiKey: '' }));
    expect(err.code).toBe('IN400');
    expect(err.message).toMatch(/missing_authorization_header/);
  });

  it('an unreachable host is a coded network error, quickly', async () => {
    const closed = await startFakeMeilisearch();
    const url = closed.url;
    await closed.close();
    const started = Date.now();
    const err = await rejection(createMeilisearchSearch({ host: url, apiKey: 'k', timeoutMs: 5000 }));
    expect(['IN501', 'IN502', 'IN500']).toContain(err.code);
    expect(err.provider).toBe('meilisearch');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('latency above timeoutMs is IN102, and the key never appears in the message', async () => {
    const slow = await startFakeMeilisearch();
    opened.push(slow);
    const provider = await createMeilisearchSearch({ host: slow.url, apiKey: slow.apiKey, timeoutMs: 300 });
    opened.push(provider);
    const index = uniqueName('meilislow');
    await provider.configureIndex(index, CATALOGUE_INDEX_CONFIG);
    slow.latencyMs = 2000;
    const err = await rejection(provider.search({ index, query: 'coffee' }));
    expect(err.code).toBe('IN102');
    expect(err.message).not.toContain(slow.apiKey);
    expect(await provider.healthCheck()).toBe(false);
    slow.latencyMs = 0;
    expect(await provider.healthCheck()).toBe(true);
  });

  it('a write whose task outlives taskTimeoutMs is IN102', async () => {
    const slow = await startFakeMeilisearch();
    opened.push(slow);
    const provider = await createMeilisearchSearch({
      host: slow.url,
      apiKey: slow.apiKey,
      taskTimeoutMs: 200,
    });
    opened.push(provider);
    slow.taskDelayMs = 3000;
    const err = await rejection(provider.configureIndex(uniqueName('meilitask'), CATALOGUE_INDEX_CONFIG));
    expect(err.code).toBe('IN102');
  });

  it('writes wait for slow tasks: the document is searchable when the promise resolves', async () => {
    const slow = await startFakeMeilisearch({ taskDelayMs: 150 });
    opened.push(slow);
    const provider = await createMeilisearchSearch({ host: slow.url, apiKey: slow.apiKey });
    opened.push(provider);
    const index = uniqueName('meiliwait');
    await provider.configureIndex(index, CATALOGUE_INDEX_CONFIG);
    await provider.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } });
    expect((await provider.search({ index, query: 'espresso' })).hits.map((h) => h.id)).toEqual(['p01']);
    const polls = slow.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/tasks/'));
    expect(polls.length).toBeGreaterThan(1);
  });

  it('applies the indexes option at start and reads settings of indexes configured elsewhere', async () => {
    const index = uniqueName('meilistart');
    const first = await createMeilisearchSearch({
      host: fake.url,
      apiKey: fake.apiKey,
      indexes: { [index]: { searchable: ['name'], filterable: ['category'], sortable: ['price'] } },
    });
    opened.push(first);
    await first.indexDocuments(catalogueDocuments(index));
    // A second provider never configured the index: it learns filterable/sortable from the server.
    const second = await createMeilisearchSearch({ host: fake.url, apiKey: fake.apiKey });
    opened.push(second);
    const r = await second.search({
      index,
      query: '',
      filter: { field: 'category', op: 'eq', value: 'books' },
      sort: ['price:desc'],
    });
    expect(r.hits.map((h) => h.id)).toEqual(['p07', 'p08']);
    expect((await rejection(second.search({ index, query: '', sort: ['name:asc'] }))).code).toBe('IN101');
    await first.deleteIndex(index);
  });

  it('operations after close() reject with a coded error', async () => {
    const provider = await createMeilisearchSearch({ host: fake.url, apiKey: fake.apiKey });
    await provider.close();
    expect((await rejection(provider.search({ index: 'anything', query: '' }))).code).toBe('IN502');
    expect(await provider.healthCheck()).toBe(false);
  });
});

describe('pageWindow', () => {
  it('finds one exhaustive page that contains any offset/limit window', () => {
    expect(pageWindow(0, 20)).toEqual({ hitsPerPage: 20, page: 1, skip: 0 });
    expect(pageWindow(40, 20)).toEqual({ hitsPerPage: 20, page: 3, skip: 0 });
    expect(pageWindow(0, 0)).toEqual({ hitsPerPage: 0, page: 1, skip: 0 });
    for (let offset = 0; offset < 60; offset++) {
      for (const limit of [1, 3, 7, 20]) {
        const { hitsPerPage, page, skip } = pageWindow(offset, limit);
        const start = (page - 1) * hitsPerPage;
        expect(hitsPerPage).toBeGreaterThanOrEqual(limit);
        expect(start + skip).toBe(offset);
        expect(skip + limit).toBeLessThanOrEqual(hitsPerPage);
      }
    }
  });
});

describe('document id encoding', () => {
  it('keeps plain ids and encodes the rest reversibly into [A-Za-z0-9_-]', () => {
    expect(encodeDocumentId('p01')).toBe('p01');
    expect(encodeDocumentId('A-b_9')).toBe('A-b_9');
    for (const id of ['a b', 'é', '../x', '_b64_abc', '"quoted"', '☕']) {
      const enc = encodeDocumentId(id);
      expect(enc).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(enc).not.toBe(id);
      expect(decodeDocumentId(enc)).toBe(id);
    }
  });
});
