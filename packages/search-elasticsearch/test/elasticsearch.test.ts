import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IntegrationError, isIntegrationError } from '@fraiseql/core';
import {
  CATALOGUE_INDEX_CONFIG,
  catalogueDocuments,
  type FakeElasticsearch,
  startFakeElasticsearch,
  uniqueName,
} from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createElasticsearchSearch,
  type ElasticsearchSearch,
  engineIndexName,
  portableIndexName,
} from '../src/index.ts';

async function rejection(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the promise to reject').toBeDefined();
  expect(isIntegrationError(err), `expected an IntegrationError, got ${String(err)}`).toBe(true);
  return err as IntegrationError;
}

let fake: FakeElasticsearch;
let es: ElasticsearchSearch;
const created: string[] = [];
const newIndex = (tag = 'es') => {
  const name = uniqueName(tag);
  created.push(name);
  return name;
};

beforeAll(async () => {
  fake = await startFakeElasticsearch();
  es = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey });
});
afterAll(async () => {
  for (const i of created) await es.deleteIndex(i).catch(() => undefined);
  await es?.close();
  await fake?.close();
});

describe('mappings', () => {
  it('filterable strings are keyword, searchable+filterable get a text sub-field, numbers are double, no date detection', async () => {
    const index = newIndex();
    await es.configureIndex(index, {
      searchable: ['name', 'description'],
      filterable: ['category', 'name', 'price'],
      sortable: ['price'],
    });
    await es.indexDocument({
      id: 'a',
      index,
      data: { name: 'Blue Mug', description: 'a mug', category: 'kitchen', price: 3, note: '2024-01-01' },
    });
    const res = (await es.client.indices.getMapping({ index })) as Record<string, { mappings: any }>;
    const m = res[index]!.mappings;
    expect(m.properties.category).toMatchObject({ type: 'keyword' });
    expect(m.properties.name).toMatchObject({ type: 'keyword', fields: { text: { type: 'text' } } });
    expect(m.properties.description).toMatchObject({ type: 'text' });
    // A first integer must not make the field `long` (later decimals would be truncated).
    expect(m.properties.price).toMatchObject({ type: 'double' });
    expect(m.properties.note.type).toBe('text');
    expect(m._meta.fraiseql).toEqual({
      searchable: ['name', 'description'],
      filterable: ['category', 'name', 'price'],
      sortable: ['price'],
      primaryKey: 'id',
    });
    await es.indexDocument({ id: 'b', index, data: { name: 'Red Mug', category: 'kitchen', price: 3.75 } });
    const r = await es.search({ index, query: 'mug', filter: { field: 'price', op: 'gt', value: 3.5 } });
    expect(r.hits.map((h) => h.id)).toEqual(['b']);
    // Exact filter on a field that is also searchable.
    const exact = await es.search({
      index,
      query: '',
      filter: { field: 'name', op: 'eq', value: 'Blue Mug' },
    });
    expect(exact.hits.map((h) => h.id)).toEqual(['a']);
  });

  it('another process reads the configuration back from _meta (IN101 checks survive a restart)', async () => {
    const index = newIndex();
    await es.configureIndex(index, CATALOGUE_INDEX_CONFIG as never);
    await es.indexDocuments(catalogueDocuments(index));
    const other = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey });
    try {
      const r = await other.search({
        index,
        query: 'coffee',
        filter: { field: 'category', op: 'eq', value: 'kitchen' },
      });
      expect(r.hits.map((h) => h.id).sort()).toEqual(['p01', 'p02']);
      expect((await rejection(other.search({ index, query: '', sort: ['description:asc'] }))).code).toBe(
        'IN101',
      );
    } finally {
      await other.close();
    }
  });

  it('an index made by another tool is searched with what its mapping allows (text searchable, keyword filterable)', async () => {
    const index = newIndex();
    await es.client.indices.create({
      index,
      mappings: { properties: { title: { type: 'text' }, kind: { type: 'keyword' } } },
    });
    await es.client.index({
      index,
      id: 'x1',
      document: { title: 'Hello world', kind: 'greeting' },
      refresh: true,
    });
    const r = await es.search({
      index,
      query: 'hello',
      filter: { field: 'kind', op: 'eq', value: 'greeting' },
      facets: ['kind'],
    });
    expect(r.hits.map((h) => h.id)).toEqual(['x1']);
    expect(r.facets?.kind).toEqual([{ value: 'greeting', count: 1 }]);
  });

  it('a write to an index never configured creates it (numbers double); its fields are then searchable and filterable', async () => {
    const index = newIndex();
    expect((await rejection(es.search({ index, query: '' }))).code).toBe('IN100');
    await es.indexDocument({ id: 'a', index, data: { title: 'Green tea', kind: 'drink', price: 2 } });
    await es.indexDocument({ id: 'b', index, data: { title: 'Black tea', kind: 'drink', price: 2.5 } });
    const res = (await es.client.indices.getMapping({ index })) as Record<string, { mappings: any }>;
    expect(res[index]!.mappings.properties.price.type).toBe('double');
    const r = await es.search({
      index,
      query: 'tea',
      filter: { field: 'kind', op: 'eq', value: 'drink' },
      sort: ['price:desc'],
    });
    expect(r.hits.map((h) => h.id)).toEqual(['b', 'a']);
  });

  it('index names Elasticsearch refuses are stored encoded and decode back', async () => {
    expect(engineIndexName('Products_2024')).toBe('~products_2024');
    expect(engineIndexName('_private')).toBe('~_private');
    expect(engineIndexName('-dash')).toBe('~-dash');
    expect(engineIndexName('plain-name_1')).toBe('plain-name_1');
    for (const n of ['Products_2024', '_private', '-dash', 'aBc', 'ABC-def_G'])
      expect(portableIndexName(engineIndexName(n))).toBe(n);
    const index = `${newIndex()}_Mixed`;
    created.push(index);
    await es.configureIndex(index, { searchable: ['name'] });
    await es.indexDocument({ id: '1', index, data: { name: 'Mixed case' } });
    expect(fake.indexNames()).toContain(engineIndexName(index));
    expect((await es.search({ index, query: 'mixed' })).hits.map((h) => h.id)).toEqual(['1']);
  });
});

describe('bulk', () => {
  it('reports the documents Elasticsearch refuses, with the engine reason, and indexes the rest', async () => {
    const index = newIndex();
    await es.configureIndex(index, { searchable: ['name'], filterable: ['price'] });
    await es.indexDocument({ id: 'first', index, data: { name: 'First', price: 1 } });
    const result = await es.indexDocuments([
      { id: 'ok1', index, data: { name: 'Fine', price: 2 } },
      { id: 'bad-price', index, data: { name: 'Broken', price: 'not a number' } },
      { id: 'bad-shape', index, data: { name: { nested: 'object where text was mapped' } } },
      { id: 'x'.repeat(600), index, data: { name: 'Long id' } },
      { id: 'ok2', index, data: { name: 'Also fine', price: 3 } },
    ]);
    expect(result.succeeded).toBe(2);
    const byId = Object.fromEntries(result.failed.map((f) => [f.id.slice(0, 10), f.reason]));
    expect(Object.keys(byId).sort()).toEqual(['bad-price', 'bad-shape', 'xxxxxxxxxx']);
    expect(byId['bad-price']).toMatch(/document_parsing_exception: .*\[price\]/);
    expect(byId['bad-shape']).toMatch(/document_parsing_exception/);
    expect(byId.xxxxxxxxxx).toMatch(/512 bytes/);
    const all = await es.search({ index, query: '', limit: 100 });
    expect(all.hits.map((h) => h.id).sort()).toEqual(['first', 'ok1', 'ok2']);
  });

  it('a refused single write is IN105 with the engine reason', async () => {
    const index = newIndex();
    await es.configureIndex(index, { searchable: ['name'], filterable: ['price'] });
    await es.indexDocument({ id: 'a', index, data: { name: 'A', price: 1 } });
    const err = await rejection(es.indexDocument({ id: 'b', index, data: { name: 'B', price: 'cheap' } }));
    expect(err.code).toBe('IN105');
    expect(err.provider).toBe('elasticsearch');
    expect(err.message).toMatch(/\[elasticsearch\] indexing document "b": document_parsing_exception/);
  });

  it('splits large inputs into batches of batchSize', async () => {
    const small = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey, batchSize: 3 });
    try {
      const index = newIndex();
      await small.configureIndex(index, { searchable: ['name'] });
      const before = fake.requests.filter((r) => r.path === '/_bulk').length;
      const docs = Array.from({ length: 7 }, (_, i) => ({ id: `d${i}`, index, data: { name: `Item ${i}` } }));
      expect(await small.indexDocuments(docs)).toEqual({ succeeded: 7, failed: [] });
      expect(fake.requests.filter((r) => r.path === '/_bulk').length - before).toBe(3);
    } finally {
      await small.close();
    }
  });
});

describe('auth and errors', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });

  it('a wrong API key is IN406 "authentication failed", without the key in the message', async () => {
    const wrong = Buffer.from('keyid123:definitely-not-the-secret-7f3a9c').toString('base64');
    const err = await rejection(createElasticsearchSearch({ node: fake.url, apiKey: wrong }));
    expect(err.code).toBe('IN406');
    expect(err.provider).toBe('elasticsearch');
    expect(err.httpStatus).toBe(502);
    expect(err.message).toMatch(/authentication failed.*security_exception/);
    const shown = JSON.stringify(err.toJSON()) + err.message;
    expect(shown).not.toContain(wrong);
    expect(shown).not.toContain('definitely-not-the-secret-7f3a9c');
  });

  it('no credentials at all is IN406 (missing authentication credentials)', async () => {
    const err = await rejection(createElasticsearchSearch({ node: fake.url }));
    expect(err.code).toBe('IN406');
    expect(err.message).toMatch(/missing authentication credentials/);
  });

  it('Basic auth works when the cluster has users', async () => {
    const withUsers = await startFakeElasticsearch({
      basicAuth: { username: 'elastic', password: 'changeme-42' },
    });
    opened.push(withUsers);
    const ok = await createElasticsearchSearch({
      node: withUsers.url,
      auth: { username: 'elastic', password: 'changeme-42' },
    });
    opened.push(ok);
    expect(await ok.healthCheck()).toBe(true);
    const err = await rejection(
      createElasticsearchSearch({
        node: withUsers.url,
        auth: { username: 'elastic', password: 'wrong-pass-99' },
      }),
    );
    expect(err.code).toBe('IN406');
    expect(err.message).not.toContain('wrong-pass-99');
  });

  it('a server that is not Elasticsearch (no X-Elastic-Product) is IN406', async () => {
    const impostor = createServer((_req, res) => {
      const body = JSON.stringify({ version: { number: '9.0.0' }, tagline: 'You Know, for Search' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    try {
      const port = (impostor.address() as AddressInfo).port;
      const err = await rejection(
        createElasticsearchSearch({
          node: `http://127.0.0.1:${port}`,
          apiKey: 'a2V5OnNlY3JldA==',
          maxRetries: 0,
        }),
      );
      expect(err.code).toBe('IN406');
      expect(err.message).toMatch(/not Elasticsearch/);
    } finally {
      impostor.closeAllConnections();
      await new Promise<void>((r) => impostor.close(() => r()));
    }
  });

  it('an unreachable node is IN501 (connection refused)', async () => {
    const dead = await startFakeElasticsearch();
    const url = dead.url;
    await dead.close();
    const err = await rejection(
      createElasticsearchSearch({ node: url, apiKey: 'a2V5OnNlY3JldA==', maxRetries: 0 }),
    );
    expect(err.code).toBe('IN501');
  });

  it('a slow node is IN102 after timeoutMs', async () => {
    const slow = await startFakeElasticsearch({ latencyMs: 1500 });
    opened.push(slow);
    const err = await rejection(
      createElasticsearchSearch({ node: slow.url, apiKey: slow.apiKey, timeoutMs: 100, maxRetries: 0 }),
    );
    expect(err.code).toBe('IN102');
  });

  it('5xx answers are IN502 (retryable), search syntax errors IN101, a missing index IN100', async () => {
    const index = newIndex();
    await es.configureIndex(index, CATALOGUE_INDEX_CONFIG as never);
    const own = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey, maxRetries: 0 });
    opened.push(own);
    await own.search({ index, query: '' });
    fake.failNext(1, 500);
    const five = await rejection(own.search({ index, query: '' }));
    expect(five.code).toBe('IN502');
    expect(five.isTransient).toBe(true);
    const bad = await rejection(own.search({ index, query: '', rawFilter: 'category:(kitchen' }));
    expect(bad.code).toBe('IN101');
    expect((await rejection(own.search({ index, query: '', offset: 9990, limit: 20 }))).code).toBe('IN101');
    const missing = await rejection(own.search({ index: uniqueName('nothere'), query: 'x' }));
    expect(missing.code).toBe('IN100');
    expect(missing.toJSON().error).toMatchObject({
      code: 'IN100',
      resource_type: 'index',
      provider: 'elasticsearch',
    });
    expect((await rejection(own.deleteDocument(uniqueName('nothere'), 'x'))).code).toBe('IN100');
    expect((await rejection(own.clearIndex(uniqueName('nothere')))).code).toBe('IN100');
  });

  it('options are checked: no node is IN001, a bad batchSize IN002; a closed provider is IN502', async () => {
    expect((await rejection(createElasticsearchSearch({} as never))).code).toBe('IN001');
    expect(
      (await rejection(createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey, batchSize: 0 })))
        .code,
    ).toBe('IN002');
    const own = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey });
    await own.close();
    expect(await own.healthCheck()).toBe(false);
    expect((await rejection(own.search({ index: 'x', query: '' }))).code).toBe('IN502');
  });
});

describe('aliases capability', () => {
  it('the first swap turns the live index into an alias in one atomic request; later swaps move it', async () => {
    const live = newIndex('eslive');
    await es.configureIndex(live, { searchable: ['name'] });
    await es.indexDocument({ id: 'v1', index: live, data: { name: 'Version one' } });
    const next = `${live}__1`;
    const next2 = `${live}__2`;
    await es.aliases.prepareIndex(live, next);
    // Without a config, the rebuilt index gets the live mapping (and its _meta configuration).
    expect(await rejection(es.search({ index: next, query: '', sort: ['name:asc'] }))).toMatchObject({
      code: 'IN101',
    });
    await es.indexDocument({ id: 'v2', index: next, data: { name: 'Version two' } });
    await expect(es.aliases.prepareIndex(live, next)).rejects.toMatchObject({ code: 'IN103' });
    await es.aliases.swapIndex(live, next);
    const swap = fake.requests.filter((r) => r.path === '/_aliases').at(-1)!;
    expect((swap.body as { actions: unknown[] }).actions).toEqual([
      { remove_index: { index: live } },
      { add: { index: next, alias: live } },
    ]);
    expect(await es.aliases.indicesOf(live)).toEqual([next]);
    expect((await es.search({ index: live, query: 'version' })).hits.map((h) => h.id)).toEqual(['v2']);
    // Writes through the live name go to the index behind the alias.
    await es.indexDocument({ id: 'v2b', index: live, data: { name: 'Version two bis' } });
    await es.aliases.prepareIndex(live, next2, { searchable: ['name'], sortable: ['name'] });
    await es.indexDocument({ id: 'v3', index: next2, data: { name: 'Version three' } });
    await es.aliases.swapIndex(live, next2);
    expect(await es.aliases.indicesOf(live)).toEqual([next2]);
    expect(fake.indexNames()).not.toContain(next);
    const r = await es.search({ index: live, query: 'version', sort: ['name:asc'] });
    expect(r.hits.map((h) => h.id)).toEqual(['v3']);
    await es.aliases.dropIndex(`${live}__never`);
    await es.deleteIndex(live);
    expect(fake.indexNames()).not.toContain(next2);
  });
});
