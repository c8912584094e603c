import { createServer, type Server, type Socket } from 'node:net';
import { type IntegrationError, isIntegrationError, type SearchProvider } from '@fraiseql/core';
import {
  CATALOGUE_INDEX_CONFIG,
  catalogueDocuments,
  describeSearchProvider,
  type FakeAlgolia,
  PRODUCT_CATALOGUE,
  startFakeAlgolia,
  uniqueName,
} from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AlgoliaSearchProvider, createAlgoliaSearch } from '../src/index.ts';

async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the promise to reject').toBeDefined();
  expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
  return err as IntegrationError;
}

/** The key must not appear anywhere a caller or a log would see it. */
function expectNoSecret(err: IntegrationError, secret: string): void {
  expect(err.message).not.toContain(secret);
  expect(String(err)).not.toContain(secret);
  expect(JSON.stringify(err.toJSON())).not.toContain(secret);
  expect(err.stack ?? '').not.toContain(secret);
}

const dropIndexes = async (provider: SearchProvider, indexes: string[]) => {
  for (const index of indexes) await (provider as AlgoliaSearchProvider).dropIndex(index);
};

const RAW_FILTER = { filter: 'category:kitchen OR category:books', ids: ['p01', 'p02', 'p07', 'p08', 'p09'] };

// ---------------------------------------------------------------------------------------------
// The contract, against the protocol double.

let fake: FakeAlgolia;
beforeAll(async () => {
  fake = await startFakeAlgolia();
});
afterAll(async () => {
  await fake?.close();
});

const queriesOf = (index: string) =>
  fake
    .requests()
    .filter(
      (r) =>
        (r.method === 'POST' && r.path.startsWith(`/1/indexes/${index}`) && r.path.endsWith('/query')) ||
        r.path === '/1/indexes/*/queries',
    );

describeSearchProvider(
  'algolia (protocol double)',
  () => createAlgoliaSearch({ appId: fake.appId, apiKey: fake.apiKey, hosts: [fake.url] }),
  {
    rawFilter: RAW_FILTER,
    dropIndexes,
    indexPrefix: 'alg',
    additionalTests: ({ provider, newIndex, seedCatalogue }) => {
      it('searches with offset/length, <mark> tags and deterministic all-words matching', async () => {
        const index = await seedCatalogue();
        await provider().search({ index, query: 'coffee', limit: 3, offset: 1, highlight: ['name'] });
        const body = queriesOf(index).at(-1)!.body as Record<string, unknown>;
        expect(body).toMatchObject({
          query: 'coffee',
          offset: 1,
          length: 3,
          typoTolerance: false,
          queryType: 'prefixLast',
          removeWordsIfNoResults: 'none',
          highlightPreTag: '<mark>',
          highlightPostTag: '</mark>',
          attributesToHighlight: ['name'],
        });
      });

      it('sends portable filters in Algolia syntax: quoted strings, numeric comparisons, _fields for exists', async () => {
        const index = await seedCatalogue();
        await provider().search({
          index,
          query: '',
          filter: {
            and: [
              { field: 'brand', op: 'eq', value: 'O"R' },
              { field: 'price', op: 'gte', value: 10 },
              { field: 'category', op: 'exists' },
            ],
          },
        });
        expect((queriesOf(index).at(-1)!.body as { filters: string }).filters).toBe(
          'brand:"O\\"R" AND price >= 10 AND _fields:"category"',
        );
      });

      it('runs an OR group mixing numeric and string conditions as disjoint queries in one multi-query', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({
          index,
          query: '',
          filter: {
            or: [
              { field: 'category', op: 'eq', value: 'books' },
              { field: 'price', op: 'gt', value: 250 },
            ],
          },
          sort: ['price:desc'],
          facets: ['category'],
        });
        expect(r.hits.map((h) => h.id)).toEqual(['p06', 'p07', 'p08']);
        expect(r.totalHits).toBe(3);
        expect(r.facets?.category).toEqual([
          { value: 'books', count: 2 },
          { value: 'electronics', count: 1 },
        ]);
        const multi = fake
          .requests()
          .filter((q) => q.path === '/1/indexes/*/queries')
          .at(-1)!;
        const filters = (multi.body as { requests: { filters: string; indexName: string }[] }).requests.map(
          (q) => q.filters,
        );
        expect(filters).toEqual(['category:"books"', 'price > 250 AND NOT category:"books"']);
        // Algolia itself refuses such an OR in one filter, and so does the double.
        const err = await rejection(
          provider().search({ index, query: '', rawFilter: '(category:books OR price > 250)' }),
        );
        expect(err.code).toBe('IN101');
        expect(err.message).toMatch(/different types/);
      });

      it('pages a mixed OR filter across its queries without gaps or repeats', async () => {
        const index = await seedCatalogue();
        const filter = {
          or: [
            { field: 'tags', op: 'eq' as const, value: 'coffee' },
            { field: 'price', op: 'lt' as const, value: 30 },
          ],
        };
        const all = await provider().search({ index, query: '', filter, sort: ['price:asc'], limit: 100 });
        expect(all.hits.map((h) => h.id)).toEqual(['p08', 'p02', 'p04', 'p01']);
        const pages: string[] = [];
        for (let offset = 0; offset < 4; offset += 3) {
          const page = await provider().search({
            index,
            query: '',
            filter,
            sort: ['price:asc'],
            limit: 3,
            offset,
          });
          expect(page.totalHits).toBe(4);
          pages.push(...page.hits.map((h) => h.id));
        }
        expect(pages).toEqual(['p08', 'p02', 'p04', 'p01']);
      });

      it('sorts through standard replicas: one per sortable field and direction, multi-key ones on first use', async () => {
        const index = await seedCatalogue();
        for (const field of CATALOGUE_INDEX_CONFIG.sortable!) {
          expect(fake.indexNames()).toContain(`${index}_${field}_asc`);
          expect(fake.indexNames()).toContain(`${index}_${field}_desc`);
        }
        await provider().search({ index, query: '', sort: ['price:desc'] });
        expect(fake.requests().at(-1)!.path).toBe(`/1/indexes/${index}_price_desc/query`);
        expect(fake.indexNames()).not.toContain(`${index}_category_asc_price_desc`);
        await provider().search({ index, query: '', sort: ['category:asc', 'price:desc'] });
        expect(fake.indexNames()).toContain(`${index}_category_asc_price_desc`);
      });

      it('hides the provider attributes (_fields, _sort) from hits and refuses documents that carry them', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({ index, query: 'espresso' });
        expect(Object.keys(r.hits[0]!.document).sort()).toEqual(Object.keys(PRODUCT_CATALOGUE.p01!).sort());
        const err = await rejection(provider().indexDocument({ id: 'x', index, data: { _fields: ['a'] } }));
        expect(err.code).toBe('IN107');
      });

      it('keeps the index configuration in the index settings, so a new provider instance enforces it', async () => {
        const index = await seedCatalogue();
        const other = await createAlgoliaSearch({
          appId: fake.appId,
          apiKey: fake.apiKey,
          hosts: [fake.url],
        });
        try {
          const sorted = await other.search({ index, query: '', sort: ['price:asc'], limit: 2 });
          expect(sorted.hits.map((h) => h.id)).toEqual(['p08', 'p02']);
          const err = await rejection(
            other.search({ index, query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
          );
          expect(err.code).toBe('IN101');
          // A multi-key replica created by one instance is reused by the next (no settings change).
          await provider().search({ index, query: '', sort: ['category:desc', 'price:asc'] });
          const before = fake.requests().filter((r) => r.method === 'PUT').length;
          const r = await other.search({ index, query: '', sort: ['category:desc', 'price:asc'], limit: 1 });
          expect(r.hits.map((h) => h.id)).toEqual(['p04']);
          expect(fake.requests().filter((q) => q.method === 'PUT').length).toBe(before);
        } finally {
          await other.close();
        }
      });

      it('a syntax error in rawFilter is IN101 with the engine message', async () => {
        const index = await seedCatalogue();
        const err = await rejection(
          provider().search({ index, query: '', rawFilter: 'category:"unterminated' }),
        );
        expect(err.code).toBe('IN101');
        expect(err.message).toMatch(/incomplete string/);
      });

      it('dropIndex removes the index and its replicas; a missing index is fine', async () => {
        const index = newIndex();
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['rank'] });
        expect(fake.indexNames()).toEqual(
          expect.arrayContaining([index, `${index}_rank_asc`, `${index}_rank_desc`]),
        );
        await (provider() as AlgoliaSearchProvider).dropIndex(index);
        expect(fake.indexNames().filter((n) => n.startsWith(index))).toEqual([]);
        await expect((provider() as AlgoliaSearchProvider).dropIndex(index)).resolves.toBeUndefined();
      });

      it('reconfiguring drops the replicas of fields that are no longer sortable', async () => {
        const index = newIndex();
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['a', 'b'] });
        await provider().configureIndex(index, { searchable: ['name'], sortable: ['b'] });
        const names = fake.indexNames().filter((n) => n.startsWith(`${index}_`));
        expect(names.sort()).toEqual([`${index}_b_asc`, `${index}_b_desc`]);
      });
    },
  },
);

// ---------------------------------------------------------------------------------------------
// The contract against a real Algolia application, when credentials are given.

const realAppId = process.env.ALGOLIA_APP_ID;
const realApiKey = process.env.ALGOLIA_API_KEY;
if (realAppId && realApiKey) {
  describeSearchProvider(
    'algolia (real application)',
    () =>
      createAlgoliaSearch({
        appId: realAppId,
        apiKey: realApiKey,
        timeoutMs: 15_000,
        taskTimeoutMs: 120_000,
      }),
    { rawFilter: RAW_FILTER, dropIndexes, indexPrefix: 'fraiseql_test' },
  );
} else {
  console.log(
    '[search-algolia] real Algolia suite not run: set ALGOLIA_APP_ID and ALGOLIA_API_KEY to run it against an application.',
  );
}

// ---------------------------------------------------------------------------------------------
// Failure behaviour, each against its own double so knobs do not leak into other tests.

describe('algolia provider failures', () => {
  let double: FakeAlgolia;
  const opened: AlgoliaSearchProvider[] = [];
  const open = async (opts: Partial<Parameters<typeof createAlgoliaSearch>[0]> = {}) => {
    const p = await createAlgoliaSearch({
      appId: double.appId,
      apiKey: double.apiKey,
      hosts: [double.url],
      ...opts,
    });
    opened.push(p);
    return p;
  };
  const configured = async (p: AlgoliaSearchProvider) => {
    const index = uniqueName('algf');
    await p.configureIndex(index, structuredClone(CATALOGUE_INDEX_CONFIG) as never);
    return index;
  };

  beforeAll(async () => {
    double = await startFakeAlgolia();
  });
  afterEach(async () => {
    double.latencyMs = 0;
    double.taskDelayMs = 0;
    for (const p of opened.splice(0)) await p.close();
  });
  afterAll(async () => {
    await double?.close();
  });

  it('a wrong API key is IN402 from provider "algolia", and the key is in no message', async () => {
    const wrongKey = 'definitely-wrong-key-0123456789';
    const p = await open({ apiKey: wrongKey });
    const err = await rejection(p.search({ index: 'anything', query: 'x' }));
    expect(err.code).toBe('IN402');
    expect(err.provider).toBe('algolia');
    expect(err.message).toMatch(/Invalid Application-ID or API key/);
    expectNoSecret(err, wrongKey);
    const write = await rejection(p.indexDocument({ id: 'a', index: 'anything', data: { name: 'x' } }));
    expect(write.code).toBe('IN402');
    expectNoSecret(write, wrongKey);
    expect(await p.healthCheck()).toBe(false);
  });

  it('a wrong application id is IN402', async () => {
    const p = await open({ appId: 'NOTMYAPP' });
    expect((await rejection(p.search({ index: 'anything', query: 'x' }))).code).toBe('IN402');
  });

  it('a batch the engine rejects is IN105 with the engine message', async () => {
    const p = await open();
    const index = await configured(p);
    double.failNext(
      1,
      400,
      { message: 'Record at the position 0 objectID=p01 is too big size=20480/10000 bytes', status: 400 },
      (r) => r.path.endsWith('/batch'),
    );
    const err = await rejection(p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } }));
    expect(err.code).toBe('IN105');
    expect(err.message).toMatch(/too big/);
    expectNoSecret(err, double.apiKey);
  });

  it('indexDocuments isolates the records the engine rejects and indexes the rest', async () => {
    const p = await open();
    const index = await configured(p);
    const tooBig = {
      message: 'Record at the position 0 objectID=p02 is too big size=20480/10000 bytes',
      status: 400,
    };
    // Fails every batch carrying p02: first the whole chunk, then p02 alone.
    double.failNext(
      2,
      400,
      tooBig,
      (r) => r.path.endsWith('/batch') && JSON.stringify(r.body).includes('"p02"'),
    );
    const result = await p.indexDocuments(catalogueDocuments(index).slice(0, 3));
    expect(result.succeeded).toBe(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.id).toBe('p02');
    expect(result.failed[0]!.reason).toMatch(/too big/);
    const r = await p.search({ index, query: '' });
    expect(r.hits.map((h) => h.id).sort()).toEqual(['p01', 'p03']);
  });

  it('a task that is not published within taskTimeoutMs is IN105', async () => {
    const p = await open({ taskTimeoutMs: 150 });
    const index = await configured(p);
    double.taskDelayMs = 5_000;
    const err = await rejection(p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } }));
    expect(err.code).toBe('IN105');
    expect(err.message).toMatch(/not published/);
  });

  it('writes resolve only once their task is published, so the next search sees them', async () => {
    const p = await open();
    const index = await configured(p);
    double.taskDelayMs = 250;
    await p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } });
    expect((await p.search({ index, query: 'espresso' })).hits.map((h) => h.id)).toEqual(['p01']);
    await p.deleteDocument(index, 'p01');
    expect((await p.search({ index, query: 'espresso' })).hits).toEqual([]);
    const polls = double
      .requests()
      .filter((r) => r.method === 'GET' && r.path.startsWith(`/1/indexes/${index}/task/`));
    expect(polls.length).toBeGreaterThan(2);
  });

  it('a response slower than timeoutMs is IN102, and healthCheck reports false', async () => {
    const p = await open({ timeoutMs: 300 });
    const index = await configured(p);
    double.latencyMs = 1_500;
    const err = await rejection(p.search({ index, query: 'x' }));
    expect(err.code).toBe('IN102');
    expect(err.provider).toBe('algolia');
    expectNoSecret(err, double.apiKey);
    expect(await p.healthCheck()).toBe(false);
  });

  it('an engine 5xx on every host is IN502', async () => {
    const p = await open();
    const index = await configured(p);
    double.failNext(1, 503, { message: 'Service Unavailable', status: 503 }, (r) =>
      r.path.endsWith('/query'),
    );
    const err = await rejection(p.search({ index, query: 'x' }));
    expect(err.code).toBe('IN502');
  });

  it('search on a missing index, and clearIndex of one, are IN100; deleting from one resolves', async () => {
    const p = await open();
    const missing = uniqueName('algmissing');
    expect((await rejection(p.search({ index: missing, query: '' }))).code).toBe('IN100');
    expect((await rejection(p.clearIndex(missing))).code).toBe('IN100');
    await expect(p.deleteDocument(missing, 'x')).resolves.toBeUndefined();
  });

  it('close() makes later calls reject with a coded error', async () => {
    const p = await open();
    await p.close();
    expect((await rejection(p.search({ index: 'x', query: '' }))).code).toBe('IN502');
  });
});

describe('algolia provider against unreachable hosts', () => {
  let blackhole: Server;
  let blackholePort = 0;
  const sockets = new Set<Socket>();
  let closedPort = 0;

  beforeAll(async () => {
    // Accepts connections and never answers: the worst case for a client's timeouts.
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    blackholePort = (blackhole.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  it('a refused connection is IN501 (not a hang across hosts)', async () => {
    const p = await createAlgoliaSearch({
      appId: 'APP',
      apiKey: 'secret-key-1234',
      hosts: [`http://127.0.0.1:${closedPort}`],
    });
    try {
      const err = await rejection(p.search({ index: 'x', query: '' }));
      expect(err.code).toBe('IN501');
      expectNoSecret(err, 'secret-key-1234');
      expect(await p.healthCheck()).toBe(false);
    } finally {
      await p.close();
    }
  });

  it('hosts that accept but never answer are IN102 within the deadline, across every host', async () => {
    const p = await createAlgoliaSearch({
      appId: 'APP',
      apiKey: 'secret-key-1234',
      timeoutMs: 400,
      hosts: [
        `http://127.0.0.1:${blackholePort}`,
        `127.0.0.1:${closedPort}`,
        `http://127.0.0.1:${blackholePort}`,
      ],
    });
    try {
      const err = await rejection(p.search({ index: 'x', query: '' }));
      expect(err.code).toBe('IN102');
    } finally {
      await p.close();
    }
  });
});

describe('createAlgoliaSearch options', () => {
  it('requires appId and apiKey (IN001) and rejects malformed hosts and timeouts (IN002)', async () => {
    expect((await rejection(createAlgoliaSearch({ appId: '', apiKey: 'k' }))).code).toBe('IN001');
    expect((await rejection(createAlgoliaSearch({ appId: 'A', apiKey: '' }))).code).toBe('IN001');
    expect(
      (await rejection(createAlgoliaSearch({ appId: 'A', apiKey: 'k', hosts: ['http://x/path'] }))).code,
    ).toBe('IN002');
    expect((await rejection(createAlgoliaSearch({ appId: 'A', apiKey: 'k', timeoutMs: -1 }))).code).toBe(
      'IN002',
    );
  });

  it('configures the indexes it is given at start', async () => {
    const double = await startFakeAlgolia();
    const index = uniqueName('algopt');
    const p = await createAlgoliaSearch({
      appId: double.appId,
      apiKey: double.apiKey,
      hosts: [double.url],
      indexes: { [index]: { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] } },
    });
    try {
      expect(double.indexNames()).toEqual(
        expect.arrayContaining([index, `${index}_rank_asc`, `${index}_rank_desc`]),
      );
      const err = await rejection(p.configureIndex(index, { searchable: [] }));
      expect(err.code).toBe('IN002');
    } finally {
      await p.close();
      await double.close();
    }
  });
});
