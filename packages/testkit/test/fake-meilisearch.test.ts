import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMeilisearch, startFakeMeilisearch } from '../src/fake-meilisearch.ts';
import {
  evaluateMeiliFilter,
  MeiliFilterError,
  type MeiliFilterNode,
  parseMeiliFilterParam,
  parseMeiliFilterString,
} from '../src/fake-meilisearch-filter.ts';
import { PRODUCT_CATALOGUE } from '../src/search-fixtures.ts';
import { uniqueName } from '../src/services.ts';

/**
 * The double at the HTTP level (plain fetch). The provider package drives it through the official
 * `meilisearch` client as well (packages/search-meilisearch/test), which testkit cannot depend on.
 */

const parse = (s: string): MeiliFilterNode => parseMeiliFilterString(s)!;

describe('Meilisearch filter syntax (as the engine parses it)', () => {
  it('parses conditions, IN, TO, EXISTS, IS NULL/EMPTY with their negations', () => {
    expect(parse('genres = horror')).toEqual({ kind: 'cmp', field: 'genres', op: '=', value: 'horror' });
    expect(parse('rating.users >= 85')).toEqual({
      kind: 'cmp',
      field: 'rating.users',
      op: '>=',
      value: '85',
    });
    expect(parse('price>5')).toEqual({ kind: 'cmp', field: 'price', op: '>', value: '5' });
    expect(parse('rating 80 TO 89')).toEqual({ kind: 'to', field: 'rating', from: '80', to: '89' });
    expect(parse('genres IN [horror, "sci fi",]')).toEqual({
      kind: 'in',
      field: 'genres',
      values: ['horror', 'sci fi'],
    });
    expect(parse('genres NOT IN [a]')).toEqual({
      kind: 'not',
      item: { kind: 'in', field: 'genres', values: ['a'] },
    });
    expect(parse('release_date EXISTS')).toEqual({ kind: 'exists', field: 'release_date' });
    expect(parse('release_date NOT EXISTS')).toEqual({
      kind: 'not',
      item: { kind: 'exists', field: 'release_date' },
    });
    expect(parse('overview IS NULL')).toEqual({ kind: 'null', field: 'overview' });
    expect(parse('overview IS NOT EMPTY')).toEqual({
      kind: 'not',
      item: { kind: 'empty', field: 'overview' },
    });
    expect(parse('NOT NOT x = 5')).toEqual({ kind: 'cmp', field: 'x', op: '=', value: '5' });
    expect(parse("'dog race' = 'Bernese Mountain'")).toEqual({
      kind: 'cmp',
      field: 'dog race',
      op: '=',
      value: 'Bernese Mountain',
    });
  });

  it('AND binds tighter than OR; parentheses regroup', () => {
    expect(parse('a = 1 OR b = 2 AND c = 3')).toEqual({
      kind: 'or',
      items: [
        { kind: 'cmp', field: 'a', op: '=', value: '1' },
        {
          kind: 'and',
          items: [
            { kind: 'cmp', field: 'b', op: '=', value: '2' },
            { kind: 'cmp', field: 'c', op: '=', value: '3' },
          ],
        },
      ],
    });
    expect(parse('(a = 1 OR b = 2) AND c = 3').kind).toBe('and');
  });

  it('unescapes quoted values like Meilisearch ≥ 1.4 (\\" then \\\\)', () => {
    const value = (s: string) => (parse(`f = ${s}`) as { value: string }).value;
    expect(value(String.raw`"Hello \"world\""`)).toBe('Hello "world"');
    expect(value(String.raw`"aa\\aa"`)).toBe(String.raw`aa\aa`);
    expect(value(String.raw`"\\"`)).toBe('\\');
    expect(value(String.raw`"x\\\""`)).toBe('x\\"');
    expect(value(String.raw`'I\'m "super"'`)).toBe(`I'm "super"`);
    expect(value('"tab\\there"')).toBe('tab\there');
  });

  it('rejects what the engine rejects', () => {
    for (const bad of [
      'category = "unterminated',
      'price = ',
      'brand = AND',
      '(a = 1',
      'a = 1 b = 2',
      'a ~ 1',
      'a IN [1, 2',
      String.raw`brand = "ends with a lone backslash \"`,
      String.raw`f = "bad escape \q"`,
      'title CONTAINS kef',
      '_geoRadius(1, 2, 3)',
    ]) {
      expect(() => parseMeiliFilterString(bad), bad).toThrow(MeiliFilterError);
    }
    expect(() => parseMeiliFilterParam([[['too deep']]])).toThrow(MeiliFilterError);
    expect(() => parseMeiliFilterParam(5)).toThrow(MeiliFilterError);
  });

  it('takes the array form: outer AND, inner OR', () => {
    expect(parseMeiliFilterParam([['a = 1', 'b = 2'], 'c = 3'])).toEqual({
      kind: 'and',
      items: [
        {
          kind: 'or',
          items: [
            { kind: 'cmp', field: 'a', op: '=', value: '1' },
            { kind: 'cmp', field: 'b', op: '=', value: '2' },
          ],
        },
        { kind: 'cmp', field: 'c', op: '=', value: '3' },
      ],
    });
    expect(parseMeiliFilterParam('   ')).toBeNull();
    expect(parseMeiliFilterParam([])).toBeNull();
  });

  it('evaluates with the engine semantics, not the portable ones', () => {
    const doc = {
      brand: 'Café',
      price: 12.5,
      tags: ['A', 'b'],
      n: null,
      e: [],
      nested: [{ x: 1 }, { x: 2 }],
    };
    const ok = (f: string) => evaluateMeiliFilter(parse(f), doc);
    // String equality is case-insensitive; arrays match on any element.
    expect(ok('brand = "CAFÉ"')).toBe(true);
    expect(ok('tags = a')).toBe(true);
    // A value is compared as a string and, when numeric, as a number.
    expect(ok('price = "12.5"')).toBe(true);
    expect(ok('price 12 TO 13')).toBe(true);
    expect(ok('price > 12.5')).toBe(false);
    // != and NOT keep documents without the field.
    expect(ok('missing != x')).toBe(true);
    expect(ok('missing NOT IN [x]')).toBe(true);
    // EXISTS counts null and empty values; IS NULL / IS EMPTY need them.
    expect(ok('n EXISTS')).toBe(true);
    expect(ok('n IS NULL')).toBe(true);
    expect(ok('e IS EMPTY')).toBe(true);
    expect(ok('missing IS NULL')).toBe(false);
    expect(ok('nested.x = 2')).toBe(true);
    // Lexicographic comparison for strings (Meilisearch ≥ 1.15), on normalized values.
    expect(ok('brand > "b"')).toBe(true);
  });
});

async function api(
  fake: FakeMeilisearch,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = fake.apiKey,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function waitTask(fake: FakeMeilisearch, taskUid: number): Promise<any> {
  for (;;) {
    const { body } = await api(fake, 'GET', `/tasks/${taskUid}`);
    if (body.status === 'succeeded' || body.status === 'failed') return body;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('startFakeMeilisearch (HTTP)', () => {
  let fake: FakeMeilisearch;
  let uid = '';

  beforeAll(async () => {
    fake = await startFakeMeilisearch();
    uid = uniqueName('fake');
    const settings = await api(fake, 'PATCH', `/indexes/${uid}/settings`, {
      searchableAttributes: ['name', 'description'],
      filterableAttributes: ['category', 'price', 'tags'],
      sortableAttributes: ['price'],
    });
    expect(settings.status).toBe(202);
    await waitTask(fake, settings.body.taskUid);
    const docs = Object.entries(PRODUCT_CATALOGUE).map(([id, d]) => ({ id, ...d }));
    const added = await api(fake, 'POST', `/indexes/${uid}/documents?primaryKey=id`, docs);
    expect(await waitTask(fake, added.body.taskUid)).toMatchObject({ status: 'succeeded' });
  });

  afterAll(async () => {
    await fake.close();
  });

  it('requires the bearer key everywhere but /health, with the engine error bodies', async () => {
    expect(await api(fake, 'GET', '/health', undefined, null)).toEqual({
      status: 200,
      body: { status: 'available' },
    });
    expect(await api(fake, 'GET', '/indexes', undefined, null)).toEqual({
      status: 401,
      body: {
        message: 'The Authorization header is missing. It must use the bearer authorization method.',
        code: 'missing_authorization_header',
        type: 'auth',
        link: 'https://docs.meilisearch.com/errors#missing_authorization_header',
      },
    });
    const wrong = await api(fake, 'GET', '/indexes', undefined, 'nope');
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'invalid_api_key', type: 'auth' });
  });

  it('answers writes with 202 + a summarized task, applied later', async () => {
    const res = await api(fake, 'DELETE', `/indexes/${uid}/documents/does-not-exist`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ indexUid: uid, status: 'enqueued', type: 'documentDeletion' });
    expect(typeof res.body.taskUid).toBe('number');
    const task = await waitTask(fake, res.body.taskUid);
    expect(task).toMatchObject({
      status: 'succeeded',
      details: { providedIds: 1, deletedDocuments: 0 },
      error: null,
    });
  });

  it('searches words with a prefix last word, every word in "all" mode', async () => {
    const ids = async (q: string, extra: object = {}) =>
      (await api(fake, 'POST', `/indexes/${uid}/search`, { q, matchingStrategy: 'all', ...extra })).body.hits
        .map((h: any) => h.id)
        .sort();
    expect(await ids('headph')).toEqual(['p06']);
    expect(await ids('coffee mug')).toEqual(['p02']);
    expect(await ids('creme brulee')).toEqual(['p09']);
    expect(await ids('clack')).toEqual([]);
    const last = await api(fake, 'POST', `/indexes/${uid}/search`, { q: 'coffee zeppelin' });
    // "last" (the default) drops words from the end until something matches.
    expect(last.body.hits.map((h: any) => h.id).sort()).toEqual(['p01', 'p02']);
  });

  it('highlights with the given tags, only the typed prefix of the last word', async () => {
    const r = await api(fake, 'POST', `/indexes/${uid}/search`, {
      q: 'noise headph',
      attributesToHighlight: ['name'],
      highlightPreTag: '<mark>',
      highlightPostTag: '</mark>',
    });
    expect(r.body.hits[0]._formatted.name).toBe('<mark>Noise</mark> Cancelling <mark>Headph</mark>ones');
    // Numbers are strings in _formatted, as in the engine.
    expect(r.body.hits[0]._formatted.price).toBe('299.75');
  });

  it('offset/limit mode estimates, page mode counts; both capped by maxTotalHits', async () => {
    const a = await api(fake, 'POST', `/indexes/${uid}/search`, { q: '', limit: 2, offset: 1 });
    expect(a.body).toMatchObject({ limit: 2, offset: 1, estimatedTotalHits: 10 });
    expect(a.body.totalHits).toBeUndefined();
    const b = await api(fake, 'POST', `/indexes/${uid}/search`, { q: '', hitsPerPage: 3, page: 4 });
    expect(b.body).toMatchObject({ hitsPerPage: 3, page: 4, totalPages: 4, totalHits: 10 });
    expect(b.body.hits).toHaveLength(1);
  });

  it('facets count every element of array fields over the matched set', async () => {
    const r = await api(fake, 'POST', `/indexes/${uid}/search`, {
      q: 'coffee',
      facets: ['category', 'price'],
    });
    expect(r.body.facetDistribution).toEqual({ category: { kitchen: 2 }, price: { '12.5': 1, '199.5': 1 } });
    expect(r.body.facetStats).toEqual({ price: { min: 12.5, max: 199.5 } });
  });

  it('validates search requests like the engine', async () => {
    const cases: [object, number, string][] = [
      [{ limit: -1 }, 400, 'invalid_search_limit'],
      [{ offset: 1.5 }, 400, 'invalid_search_offset'],
      [{ unknownParam: 1 }, 400, 'bad_request'],
      [{ filter: 'description = x' }, 400, 'invalid_search_filter'],
      [{ sort: ['name:asc'] }, 400, 'invalid_search_sort'],
      [{ sort: ['price'] }, 400, 'invalid_search_sort'],
      [{ facets: ['description'] }, 400, 'invalid_search_facets'],
      [{ matchingStrategy: 'some' }, 400, 'invalid_search_matching_strategy'],
    ];
    for (const [body, status, code] of cases) {
      const r = await api(fake, 'POST', `/indexes/${uid}/search`, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.code, JSON.stringify(body)).toBe(code);
      expect(r.body.link).toBe(`https://docs.meilisearch.com/errors#${code}`);
    }
    expect((await api(fake, 'POST', '/indexes/nope-nope/search', {})).body.code).toBe('index_not_found');
    expect((await api(fake, 'POST', '/indexes/bad%20uid/search', {})).body.code).toBe('invalid_index_uid');
  });

  it('an invalid document fails its whole batch, in the task', async () => {
    const other = uniqueName('fake');
    const res = await api(fake, 'POST', `/indexes/${other}/documents?primaryKey=id`, [
      { id: 'ok', name: 'x' },
      { name: 'no id' },
    ]);
    const task = await waitTask(fake, res.body.taskUid);
    expect(task.status).toBe('failed');
    expect(task.error).toMatchObject({ code: 'missing_document_id', type: 'invalid_request' });
    expect(task.details).toMatchObject({ receivedDocuments: 2, indexedDocuments: 0 });
    expect((await api(fake, 'GET', `/indexes/${other}`)).status).toBe(404);
  });

  it('failNext answers the next requests with the given status and body', async () => {
    fake.failNext(2, 503, { message: 'busy', code: 'too_many_search_requests', type: 'system', link: 'x' });
    expect((await api(fake, 'GET', '/health')).status).toBe(503);
    expect((await api(fake, 'GET', '/version')).body.code).toBe('too_many_search_requests');
    expect((await api(fake, 'GET', '/health')).status).toBe(200);
  });

  it('failNextTasks fails the next task with the given engine error', async () => {
    fake.failNextTasks(1, { message: 'boom', code: 'internal', type: 'internal' });
    const res = await api(fake, 'DELETE', `/indexes/${uid}/documents/nothing`);
    expect(await waitTask(fake, res.body.taskUid)).toMatchObject({
      status: 'failed',
      error: { message: 'boom', code: 'internal' },
    });
  });

  it('latencyMs delays responses; close() drops a request in flight', async () => {
    const slow = await startFakeMeilisearch({ latencyMs: 5000 });
    const pending = fetch(`${slow.url}/health`).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((r) => setTimeout(r, 50));
    await slow.close();
    expect(await pending).toBe('dropped');
    await slow.close();
  });
});
