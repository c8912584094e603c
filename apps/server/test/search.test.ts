import { uniqueName } from '@fraiseql/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, type Harness, harness, json } from './helpers.ts';

let h: Harness;

afterEach(async () => {
  await h?.close();
});

const BOOKS = [
  { id: 'b1', title: 'Dune', genre: 'scifi', price: 12 },
  { id: 'b2', title: 'Dune Messiah', genre: 'scifi', price: 9 },
  { id: 'b3', title: 'Emma', genre: 'classic', price: 5 },
];

async function withBooks(opts: Parameters<typeof harness>[1] = {}) {
  h = await harness(undefined, { without: ['queue'], ...opts });
  const index = uniqueName('books');
  const settings = await h.call({
    method: 'PUT',
    url: `/search/${index}/settings`,
    payload: { searchable: ['title'], filterable: ['genre', 'price'], sortable: ['price'] },
  });
  expect(settings.statusCode).toBe(204);
  const put = await h.call({ method: 'PUT', url: `/search/${index}/documents`, payload: BOOKS });
  expect(put.statusCode).toBe(200);
  expect(json(put)).toEqual({ succeeded: 3, failed: [] });
  return index;
}

describe('POST /search/:index', () => {
  it('searches with the SearchQuery of the body (filter, sort, limit, facets, highlight)', async () => {
    const index = await withBooks();
    const res = await h.call({
      method: 'POST',
      url: `/search/${index}`,
      payload: {
        query: 'dune',
        filter: { field: 'price', op: 'lt', value: 100 },
        sort: ['price:asc'],
        limit: 10,
        facets: ['genre'],
        highlight: ['title'],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = json(res);
    expect(body.hits.map((hit: { id: string }) => hit.id)).toEqual(['b2', 'b1']);
    expect(body.totalHits).toBe(2);
    expect(body.hits[0].highlights.title).toContain('<mark>Dune</mark>');
    expect(body.facets.genre).toEqual([{ value: 'scifi', count: 2 }]);
    h.search.assertSearched(index, 'dune');
  });

  it('browses with an empty or missing body', async () => {
    const index = await withBooks();
    for (const payload of [undefined, {}]) {
      const res = await h.call({ method: 'POST', url: `/search/${index}`, ...(payload ? { payload } : {}) });
      expect(res.statusCode).toBe(200);
      expect(json(res).totalHits).toBe(3);
    }
  });

  it('400 IN101 for a bad query body, naming the field', async () => {
    const index = await withBooks();
    const cases: [unknown, string][] = [
      [{ query: 1 }, 'query'],
      [{ limit: 1001 }, 'limit'],
      [{ offset: -1 }, 'offset'],
      [{ sort: 'price:asc' }, 'sort'],
      [{ index: 'other' }, 'index'],
      [{ filter: { field: 'title', op: 'eq', value: 'x' } }, 'title'],
      [{ filter: { field: 'price', op: 'between', value: 1 } }, 'price'],
      [['dune'], 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await h.call({ method: 'POST', url: `/search/${index}`, payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'IN101', field });
    }
  });

  it('400 IN101 for malformed JSON and 415 for an unsupported content type', async () => {
    h = await harness(undefined, { without: ['queue'] });
    const bad = await h.call({
      method: 'POST',
      url: '/search/products',
      payload: '{"query": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('IN101');
    const xml = await h.call({
      method: 'POST',
      url: '/search/products',
      payload: '<q/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    expect(errorOf(xml).code).toBe('IN101');
  });

  it('400 IN106 for an invalid index name', async () => {
    h = await harness(undefined, { without: ['queue'] });
    for (const name of ['bad%20name', 'a.b', 'x'.repeat(65), '%C3%A9t%C3%A9']) {
      const res = await h.call({ method: 'POST', url: `/search/${name}`, payload: {} });
      expect(res.statusCode, name).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'IN106', field: 'index' });
    }
  });
});

describe('PUT /search/:index/documents', () => {
  it('207 with per-document failures; the valid documents are indexed', async () => {
    h = await harness(undefined, { without: ['queue'] });
    const index = uniqueName('docs');
    const res = await h.call({
      method: 'PUT',
      url: `/search/${index}/documents`,
      payload: [{ id: 'a', n: 1 }, { n: 2 }, { id: 7, n: 3 }, { id: '', n: 4 }, { id: 1.5 }],
    });
    expect(res.statusCode).toBe(207);
    const body = json(res);
    expect(body.succeeded).toBe(2);
    expect(body.failed.map((f: { id: string }) => f.id)).toEqual(['', '', '1.5']);
    expect(body.failed[0].reason).toMatch(/position 1.*"id"/);
    expect(h.search.documents(index).map((d) => d.id)).toEqual(['a', '7']);
    // The document keeps its primary key field.
    expect(h.search.documents(index)[0]!.data).toEqual({ id: 'a', n: 1 });
  });

  it('uses ?primary_key=, the primaryKey of the settings, or the primaryKeys option', async () => {
    h = await harness(undefined, { without: ['queue'], primaryKeys: { fromopts: 'code' } });
    const q = await h.call({
      method: 'PUT',
      url: '/search/byquery/documents?primary_key=sku',
      payload: [{ sku: 'S1' }],
    });
    expect(json(q)).toEqual({ succeeded: 1, failed: [] });
    expect(h.search.documents('byquery')[0]!.id).toBe('S1');

    await h.call({
      method: 'PUT',
      url: '/search/bysettings/settings',
      payload: { searchable: ['t'], primaryKey: 'isbn' },
    });
    const s = await h.call({
      method: 'PUT',
      url: '/search/bysettings/documents',
      payload: [{ isbn: '978', t: 'x' }],
    });
    expect(json(s)).toEqual({ succeeded: 1, failed: [] });
    expect(h.search.documents('bysettings')[0]!.id).toBe('978');

    const o = await h.call({ method: 'PUT', url: '/search/fromopts/documents', payload: [{ code: 42 }] });
    expect(json(o)).toEqual({ succeeded: 1, failed: [] });
    expect(h.search.documents('fromopts')[0]!.id).toBe('42');
  });

  it('200 for an empty array; 400 IN107 for a body that is not an array of objects', async () => {
    h = await harness(undefined, { without: ['queue'] });
    const empty = await h.call({ method: 'PUT', url: '/search/e/documents', payload: [] });
    expect(empty.statusCode).toBe(200);
    expect(json(empty)).toEqual({ succeeded: 0, failed: [] });
    for (const payload of [{ id: 'a' }, [1, 2], ['a'], [[]]]) {
      const res = await h.call({ method: 'PUT', url: '/search/e/documents', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('IN107');
    }
  });

  it('413 IN107 over the documents body limit, which is separate from the others', async () => {
    h = await harness(undefined, {
      without: ['queue'],
      documentsBodyLimitBytes: 2048,
      bodyLimitBytes: 100_000,
    });
    const docs = Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, text: 'x'.repeat(50) }));
    const res = await h.call({ method: 'PUT', url: '/search/big/documents', payload: docs });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res)).toMatchObject({ code: 'IN107', message: expect.stringContaining('2048') });
    const search = await h.call({ method: 'POST', url: '/search/big', payload: { query: 'x'.repeat(5000) } });
    expect(search.statusCode).toBe(200);
  });
});

describe('DELETE /search/:index/documents[/:id]', () => {
  it('deletes one document (idempotently) and clears an index', async () => {
    const index = await withBooks();
    const del = await h.call({ method: 'DELETE', url: `/search/${index}/documents/b1` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await h.call({ method: 'DELETE', url: `/search/${index}/documents/b1` })).statusCode).toBe(204);
    expect(h.search.documents(index).map((d) => d.id)).toEqual(['b2', 'b3']);
    const clear = await h.call({ method: 'DELETE', url: `/search/${index}/documents` });
    expect(clear.statusCode).toBe(204);
    expect(h.search.documents(index)).toEqual([]);
  });

  it('400 for an invalid index', async () => {
    h = await harness(undefined, { without: ['queue'] });
    const res = await h.call({ method: 'DELETE', url: '/search/no%20pe/documents/x' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('IN106');
  });
});

describe('PUT /search/:index/settings', () => {
  it('configures the index: filtering on an undeclared field is then IN101', async () => {
    const index = await withBooks();
    const res = await h.call({
      method: 'POST',
      url: `/search/${index}`,
      payload: { query: '', filter: { field: 'title', op: 'eq', value: 'Emma' } },
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('IN101');
  });

  it('400 IN002 for settings that are not an IndexConfig', async () => {
    h = await harness(undefined, { without: ['queue'] });
    for (const payload of [
      {},
      { searchable: 'title' },
      { searchable: ['t'], extra: 1 },
      { searchable: [1] },
    ]) {
      const res = await h.call({ method: 'PUT', url: '/search/s/settings', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('IN002');
    }
  });
});
