import { Client, errors } from '@elastic/elasticsearch';
import { type FakeElasticsearch, startFakeElasticsearch } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The protocol double itself, through the official client: the REST shapes the provider relies
 * on, and the engine behaviours (near-real-time refresh, templates, aliases) it must not hide.
 */
let fake: FakeElasticsearch;
let es: Client;

beforeAll(async () => {
  fake = await startFakeElasticsearch({ refreshIntervalMs: 60_000 });
  es = new Client({ node: fake.url, auth: { apiKey: fake.apiKey }, maxRetries: 0 });
});
afterAll(async () => {
  await es?.close();
  await fake?.close();
});

const status = async (p: Promise<unknown>): Promise<{ status?: number; type?: string }> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(errors.ResponseError);
  const r = err as errors.ResponseError;
  return { status: r.meta.statusCode, type: (r.meta.body as { error?: { type?: string } })?.error?.type };
};

describe('fake elasticsearch', () => {
  it('answers the product header and ES error bodies; refuses bad index names', async () => {
    const info = await es.info();
    expect(info.tagline).toBe('You Know, for Search');
    const res = await fetch(`${fake.url}/`, { headers: { authorization: `ApiKey ${fake.apiKey}` } });
    expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
    const anon = await fetch(`${fake.url}/_search`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({
      error: { type: 'security_exception', root_cause: [{ type: 'security_exception' }] },
      status: 401,
    });
    expect(await status(es.indices.create({ index: 'Upper' }))).toEqual({
      status: 400,
      type: 'invalid_index_name_exception',
    });
    expect(await status(es.indices.create({ index: '_under' }))).toEqual({
      status: 400,
      type: 'invalid_index_name_exception',
    });
    expect(await status(es.search({ index: 'missing-index' }))).toEqual({
      status: 404,
      type: 'index_not_found_exception',
    });
  });

  it('is near-real-time: a write is searchable after a refresh, but readable by id at once', async () => {
    await es.indices.create({ index: 'nrt' });
    await es.index({ index: 'nrt', id: '1', document: { title: 'fresh' } });
    expect((await es.get({ index: 'nrt', id: '1' }))._source).toEqual({ title: 'fresh' });
    expect((await es.count({ index: 'nrt' })).count).toBe(0);
    await es.indices.refresh({ index: 'nrt' });
    expect((await es.count({ index: 'nrt' })).count).toBe(1);
    await es.index({ index: 'nrt', id: '2', document: { title: 'waited' }, refresh: 'wait_for' });
    expect((await es.count({ index: 'nrt' })).count).toBe(2);
    expect(await status(es.create({ index: 'nrt', id: '2', document: { title: 'again' } }))).toEqual({
      status: 409,
      type: 'version_conflict_engine_exception',
    });
    const del = await es.deleteByQuery({
      index: 'nrt',
      query: { term: { 'title.keyword': 'fresh' } },
      refresh: true,
    });
    expect(del).toMatchObject({ total: 1, deleted: 1, failures: [] });
    expect((await es.count({ index: 'nrt' })).count).toBe(1);
  });

  it('dynamic mapping, bool queries, query_string, date math, sort, terms aggregations, highlight', async () => {
    await es.indices.create({
      index: 'events-1',
      mappings: { properties: { at: { type: 'date' }, kind: { type: 'keyword' }, msg: { type: 'text' } } },
    });
    const now = Date.now();
    await es.bulk({
      refresh: true,
      operations: [
        { index: { _index: 'events-1', _id: 'a' } },
        { at: new Date(now - 3_600_000).toISOString(), kind: 'error', msg: 'Disk almost full', n: 3 },
        { index: { _index: 'events-1', _id: 'b' } },
        { at: new Date(now - 3 * 86_400_000).toISOString(), kind: 'error', msg: 'Disk failure', n: 1 },
        { index: { _index: 'events-1', _id: 'c' } },
        { at: now - 60_000, kind: 'info', msg: 'All good', n: 2 },
      ],
    });
    const mapping = await es.indices.getMapping({ index: 'events-1' });
    expect(mapping['events-1']!.mappings.properties!.n).toEqual({ type: 'long' });
    const recent = await es.search({
      index: 'events-*',
      query: { bool: { must: [{ term: { kind: 'error' } }, { range: { at: { gte: 'now-24h' } } }] } },
    });
    expect(recent.hits.hits.map((h) => h._id)).toEqual(['a']);
    const qs = await es.search({
      index: 'events-1',
      query: { query_string: { query: 'kind:error AND NOT msg:failure' } },
    });
    expect(qs.hits.hits.map((h) => h._id)).toEqual(['a']);
    const sorted = await es.search({
      index: 'events-1',
      sort: [{ n: { order: 'desc' } }],
      track_total_hits: true,
    });
    expect(sorted.hits.hits.map((h) => [h._id, h.sort])).toEqual([
      ['a', [3]],
      ['c', [2]],
      ['b', [1]],
    ]);
    expect(sorted.hits.total).toEqual({ value: 3, relation: 'eq' });
    const aggs = await es.search({
      index: 'events-1',
      size: 0,
      aggs: { kinds: { terms: { field: 'kind' } } },
    });
    expect((aggs.aggregations!.kinds as { buckets: unknown[] }).buckets).toEqual([
      { key: 'error', doc_count: 2 },
      { key: 'info', doc_count: 1 },
    ]);
    expect(await status(es.search({ index: 'events-1', aggs: { m: { terms: { field: 'msg' } } } }))).toEqual({
      status: 400,
      type: 'illegal_argument_exception',
    });
    const hl = await es.search({
      index: 'events-1',
      query: { match: { msg: 'disk' } },
      highlight: { pre_tags: ['<b>'], post_tags: ['</b>'], fields: { msg: { number_of_fragments: 0 } } },
    });
    // BM25: the shorter field ranks first.
    expect(hl.hits.hits.map((h) => h.highlight?.msg)).toEqual([
      ['<b>Disk</b> failure'],
      ['<b>Disk</b> almost full'],
    ]);
  });

  it('index templates, ILM policies and atomic alias actions', async () => {
    await es.ilm.putLifecycle({
      name: 'keep7',
      policy: { phases: { delete: { min_age: '7d', actions: { delete: {} } } } },
    });
    await es.indices.putIndexTemplate({
      name: 'logs_tpl',
      index_patterns: ['logs_x-*'],
      template: {
        settings: { 'index.lifecycle.name': 'keep7' },
        mappings: { properties: { level: { type: 'keyword' } } },
        aliases: { logs_x: {} },
      },
    });
    await es.index({ index: 'logs_x-2026.01.01', id: '1', document: { level: 'warn' }, refresh: true });
    expect(
      (await es.indices.getMapping({ index: 'logs_x-2026.01.01' }))['logs_x-2026.01.01']!.mappings.properties!
        .level,
    ).toEqual({ type: 'keyword' });
    expect(Object.keys(await es.indices.getAlias({ name: 'logs_x' }))).toEqual(['logs_x-2026.01.01']);
    const policy = await es.ilm.getLifecycle({ name: 'keep7' });
    expect((policy.keep7 as unknown as { in_use_by: { indices: string[] } }).in_use_by.indices).toEqual([
      'logs_x-2026.01.01',
    ]);
    expect((await es.search({ index: 'logs_x', query: { term: { level: 'warn' } } })).hits.hits).toHaveLength(
      1,
    );

    await es.indices.create({ index: 'v1' });
    await es.indices.create({ index: 'v2' });
    await es.indices.updateAliases({ actions: [{ add: { index: 'v1', alias: 'cur' } }] });
    // One bad action: nothing of the request is applied.
    expect(
      await status(
        es.indices.updateAliases({
          actions: [{ add: { index: 'v2', alias: 'cur' } }, { remove: { index: 'v1', alias: 'nope' } }],
        }),
      ),
    ).toMatchObject({ status: 404 });
    expect(Object.keys(await es.indices.getAlias({ name: 'cur' }))).toEqual(['v1']);
    await es.indices.updateAliases({
      actions: [{ remove: { index: 'v1', alias: 'cur' } }, { add: { index: 'v2', alias: 'cur' } }],
    });
    expect(Object.keys(await es.indices.getAlias({ name: 'cur' }))).toEqual(['v2']);
    expect(await es.indices.existsAlias({ name: 'cur' })).toBe(true);
    expect(await es.indices.exists({ index: 'cur' })).toBe(true);
    await es.indices.deleteIndexTemplate({ name: 'logs_tpl' });
    expect(await es.indices.existsIndexTemplate({ name: 'logs_tpl' })).toBe(false);
  });
});
