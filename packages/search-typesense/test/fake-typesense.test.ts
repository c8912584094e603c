import { type FakeTypesense, startFakeTypesense, uniqueName } from '@fraiseql/testkit';
import { Client } from 'typesense';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Typesense protocol double, driven by the official client as the provider drives it: if the
 * double and the client disagree on a route, a header or a body shape, these tests fail.
 */
let fake: FakeTypesense;
let client: Client;
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, setLevel() {} };

const docs = [
  { id: 'a', title: 'Red Shoe', brand: 'Acme, Inc.', tags: ['sale', 'new'], price: 10, in_stock: true },
  { id: 'b', title: 'Blue Shoe Rack', brand: 'Acme', tags: ['sale'], price: 25.5, in_stock: false },
  { id: 'c', title: 'Green Hat', tags: [], price: 40 },
];

async function status(run: () => Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await run();
  } catch (err) {
    const e = err as { httpStatus: number; message: string };
    return { status: e.httpStatus, message: e.message };
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  fake = await startFakeTypesense();
  client = new Client({
    nodes: [{ host: fake.host, port: fake.port, protocol: 'http' }],
    apiKey: fake.apiKey,
    numRetries: 0,
    logger: silent as never,
  });
});
afterAll(() => fake.close());

async function collection(extra: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName('fake');
  await client.collections().create({
    name,
    fields: [
      { name: 'title', type: 'string' },
      { name: 'brand', type: 'string', facet: true, optional: true },
      { name: '.*', type: 'auto' },
    ],
    ...extra,
  } as never);
  return name;
}

async function ids(name: string, params: Record<string, unknown>): Promise<string[]> {
  const r = await client
    .collections(name)
    .documents()
    .search({ q: '*', per_page: 250, ...params } as never);
  return (r.hits ?? []).map((h) => String((h.document as { id: string }).id)).sort();
}

describe('Typesense protocol double', () => {
  it("answers /health without a key and refuses a wrong key with Typesense's 401 body", async () => {
    const wrong = new Client({
      nodes: [{ host: fake.host, port: fake.port, protocol: 'http' }],
      apiKey: 'nope',
      numRetries: 0,
      logger: silent as never,
    });
    expect(await wrong.health.retrieve()).toEqual({ ok: true });
    const r = await status(() => wrong.collections().retrieve());
    expect(r.status).toBe(401);
    expect(r.message).toContain('Forbidden - a valid `x-typesense-api-key` header must be sent.');
  });

  it('detects types of auto fields and reports per-document import results', async () => {
    const name = await collection();
    const results = await client
      .collections(name)
      .documents()
      .import([...docs, { id: 'd', title: 'Odd', price: 'cheap' }, { id: 5, title: 'Bad id' }] as object[], {
        action: 'upsert',
        throwOnFail: false,
      });
    expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(results[3]!.error).toBe('Field `price` must be an int64.');
    expect(results[4]!.error).toBe("Document's `id` field should be a string.");
    const schema = await client.collections(name).retrieve();
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      title: 'string',
      price: 'int64',
      tags: 'string[]',
      in_stock: 'bool',
      '.*': 'auto',
    });
    expect(schema.num_documents).toBe(3);
  });

  it('parses filter_by like the server: one precedence for && and ||, backtick lists, ranges', async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    // Left to right: (a || b) && c.
    expect(await ids(name, { filter_by: 'price:=10 || price:=40 && in_stock:=true' })).toEqual(['a']);
    expect(await ids(name, { filter_by: 'price:=10 || (price:=40 && in_stock:=true)' })).toEqual(['a']);
    expect(await ids(name, { filter_by: 'price:[20..40]' })).toEqual(['b', 'c']);
    expect(await ids(name, { filter_by: 'price:>=25 && price:<40' })).toEqual(['b']);
    expect(await ids(name, { filter_by: 'brand:=[`Acme, Inc.`, Other]' })).toEqual(['a']);
    // Exact match compares whole values by tokens (case and punctuation ignored); `:` wants the words.
    expect(await ids(name, { filter_by: 'brand:=acme' })).toEqual(['b']);
    expect(await ids(name, { filter_by: 'brand:acme' })).toEqual(['a', 'b']);
    expect(await ids(name, { filter_by: 'tags:=sale' })).toEqual(['a', 'b']);
  });

  it('evaluates != as the complement over the collection (documents without the field included)', async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    expect(await ids(name, { filter_by: 'brand:!=Acme' })).toEqual(['a', 'c']);
    expect(await ids(name, { filter_by: 'in_stock:!=true' })).toEqual(['b', 'c']);
    expect(await ids(name, { filter_by: 'tags:!=[new]' })).toEqual(['b', 'c']);
    expect(await ids(name, { filter_by: 'price:!=[10,40]' })).toEqual(['b']);
  });

  it("answers bad requests with Typesense's statuses and messages", async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    const search = (params: Record<string, unknown>) => () =>
      client
        .collections(name)
        .documents()
        .search({ q: '*', ...params } as never);
    expect(await status(search({ filter_by: 'nope:=1' }))).toMatchObject({
      status: 404,
      message: expect.stringContaining('Could not find a filter field named `nope` in the schema.'),
    });
    expect(await status(search({ filter_by: 'price:=10 &&' }))).toMatchObject({ status: 400 });
    expect(await status(search({ filter_by: 'price:=10.5' }))).toMatchObject({
      status: 400,
      message: expect.stringContaining('Not an int64.'),
    });
    expect(await status(search({ per_page: 251 }))).toMatchObject({
      status: 422,
      message: expect.stringContaining('Only upto 250 hits can be fetched per page.'),
    });
    expect(await status(search({ sort_by: 'a:asc,b:asc,c:asc,d:asc' }))).toMatchObject({ status: 400 });
    expect(await status(search({ facet_by: 'title' }))).toMatchObject({ status: 404 });
    expect(await status(() => client.collections(uniqueName('none')).retrieve())).toMatchObject({
      status: 404,
      message: expect.stringContaining('Not Found'),
    });
    expect(await status(() => client.collections(name).documents('zzz').delete())).toMatchObject({
      status: 404,
      message: expect.stringContaining('Could not find a document with id: zzz'),
    });
    expect(await status(() => client.collections().create({ name, fields: [] } as never))).toMatchObject({
      status: 409,
    });
  });

  it('serves multi_search with per-search errors in the results', async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    const r = (await client.multiSearch.perform({
      searches: [
        { collection: name, q: 'shoe', query_by: 'title', sort_by: 'price:desc' },
        { collection: name, q: '*', filter_by: 'nope:=1' },
      ],
    } as never)) as unknown as { results: Record<string, unknown>[] };
    expect((r.results[0]!.hits as { document: { id: string } }[]).map((h) => h.document.id)).toEqual([
      'b',
      'a',
    ]);
    expect(r.results[1]).toMatchObject({ code: 404 });
  });

  it('highlights with the given tags, drops and corrects words unless told not to', async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    const r = await client
      .collections(name)
      .documents()
      .search({
        q: 'red sho',
        query_by: 'title',
        highlight_full_fields: 'title',
        highlight_start_tag: '<b>',
        highlight_end_tag: '</b>',
      } as never);
    expect(r.hits!.map((h) => h.highlight)).toEqual([
      {
        title: {
          matched_tokens: ['Red', 'Shoe'],
          snippet: '<b>Red</b> <b>Shoe</b>',
          value: '<b>Red</b> <b>Shoe</b>',
        },
      },
    ]);
    // Defaults: a word no document has is dropped, a misspelt one corrected.
    expect(await ids(name, { q: 'green zeppelin', query_by: 'title' })).toEqual(['c']);
    expect(await ids(name, { q: 'grean', query_by: 'title' })).toEqual(['c']);
    expect(await ids(name, { q: 'green zeppelin', query_by: 'title', drop_tokens_threshold: 0 })).toEqual([]);
    expect(await ids(name, { q: 'grean', query_by: 'title', num_typos: 0 })).toEqual([]);
  });

  it('alters schemas, deletes by filter, and can inject latency and failures', async () => {
    const name = await collection();
    await client
      .collections(name)
      .documents()
      .import(docs as never, { action: 'upsert' } as never);
    expect(
      await status(() =>
        client.collections(name).update({ fields: [{ name: 'title', type: 'string' }] } as never),
      ),
    ).toMatchObject({
      status: 400,
      message: expect.stringContaining('is already part of the schema'),
    });
    await client.collections(name).update({
      fields: [
        { name: 'brand', drop: true },
        { name: 'brand', type: 'string', facet: false, optional: true },
      ],
    } as never);
    expect(await client.collections(name).documents().delete({ filter_by: 'price:<30' })).toEqual({
      num_deleted: 2,
    });
    expect(await ids(name, {})).toEqual(['c']);
    fake.failNext(1, 500, { message: 'boom' });
    expect(await status(() => client.collections(name).retrieve())).toMatchObject({ status: 500 });
    expect((await client.collections(name).retrieve()).name).toBe(name);
  });
});
