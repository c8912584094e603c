import { type Filter, matchesFilter, normalizeFilter, type SearchProvider } from '@fraiseql/core';
import type { SearchSuiteContext } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSearch, type PostgresSearchProvider } from '../src/index.ts';
import { randomDocuments, randomFilters } from './random.ts';
import { type Env, ids } from './specific-helpers.ts';

/** Full-text matching: stemming, languages, prefixes. */
export function wordTests(ctx: SearchSuiteContext, env: () => Env): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: words, stemming and prefixes', () => {
    let english = '';
    let simple: PostgresSearchProvider;
    let simpleIndex = '';
    const docs = [
      { id: 'a', data: { title: 'Running shoes for the trail' } },
      { id: 'b', data: { title: 'A blue widget' } },
      { id: 'c', data: { title: 'Coffee and tea' } },
      { id: 'd', data: { title: 'Tea for two' } },
    ];

    beforeAll(async () => {
      english = ctx.newIndex('en');
      await p().configureIndex(english, { searchable: ['title'] });
      await p().indexDocuments(docs.map((d) => ({ ...d, index: english })));
      simple = await createPostgresSearch({
        sql: env().sql,
        schema: env().schema,
        defaultLanguage: 'simple',
      });
      simpleIndex = ctx.newIndex('si');
      await simple.configureIndex(simpleIndex, { searchable: ['title'] });
      await simple.indexDocuments(docs.map((d) => ({ ...d, index: simpleIndex })));
    });
    afterAll(async () => {
      await simple?.close();
    });
    const en = async (query: string) => ids(await p().search({ index: english, query }));
    const si = async (query: string) => ids(await simple.search({ index: simpleIndex, query }));

    it('the default language is english: words are stemmed', async () => {
      expect(p().language).toBe('english');
      expect(await en('run')).toEqual(['a']);
      expect(await en('runs ')).toEqual(['a']);
      expect(await en('shoe trails ')).toEqual(['a']);
    });

    it('english drops stop words: a query of stop words only matches nothing, elsewhere they are ignored', async () => {
      expect(await en('the')).toEqual([]);
      expect(await en('the trail')).toEqual(['a']);
    });

    it('"simple" matches words exactly (no stemming, no stop words)', async () => {
      expect(simple.language).toBe('simple');
      expect(await si('runs ')).toEqual([]);
      expect(await si('run ')).toEqual([]);
      expect(await si('running ')).toEqual(['a']);
      expect(await si('the ')).toEqual(['a']);
    });

    it('the last word is a prefix unless the query ends with a space', async () => {
      expect(await en('wid')).toEqual(['b']);
      expect(await si('wid')).toEqual(['b']);
      expect(await en('wid ')).toEqual([]);
      expect(await en('blue wid')).toEqual(['b']);
      // Only the last word: "wid" before another word must be a whole word.
      expect(await en('wid blue')).toEqual([]);
    });

    it('websearch syntax: -word excludes, "phrases" keep word order, or is an alternative', async () => {
      expect(await en('tea -coffee')).toEqual(['d']);
      expect(await en('"tea for two"')).toEqual(['d']);
      expect(await en('"two for tea"')).toEqual([]);
      expect(await en('widget or coffee')).toEqual(['b', 'c']);
      // The prefix keeps its place in the parse: "coffee or wid" is an OR, not an AND.
      expect(await en('coffee or wid')).toEqual(['b', 'c']);
    });

    it('scores are higher for matches in an earlier searchable field (weights A, B, …)', async () => {
      const index = ctx.newIndex('w');
      await p().configureIndex(index, { searchable: ['title', 'body'] });
      await p().indexDocuments([
        { id: 'in-body', index, data: { title: 'Other', body: 'lantern' } },
        { id: 'in-title', index, data: { title: 'Lantern', body: 'other' } },
      ]);
      const r = await p().search({ index, query: 'lantern' });
      expect(r.hits.map((h) => h.id)).toEqual(['in-title', 'in-body']);
      expect(r.hits[0]!.score!).toBeGreaterThan(r.hits[1]!.score!);
    });

    const hostile = [
      `'); drop table x; --`,
      'a & | ! :* (',
      'foo:* & !bar',
      ')))((( <-> <2> :*A',
      `\\'\\\\ '' "`,
      '"',
      '-',
      'or',
      '!',
      ':*',
      `'`,
      '\u0000',
      'tea\u0000',
      'x'.repeat(5000),
      '😀 emoji ☕',
    ];

    it('tsquery syntax typed by a user is just text: results or no results, never an error or a side effect', async () => {
      await env().sql.exec(`CREATE TABLE IF NOT EXISTS "${env().schema}".x (id int)`);
      for (const query of hostile) {
        const r = await p().search({ index: english, query });
        expect(Array.isArray(r.hits), query).toBe(true);
        expect(r.totalHits).toBe(r.hits.length);
      }
      // Words inside the noise still count, and every word is required.
      expect(await en(`tea'); --`)).toEqual(['c', 'd']);
      expect(await en(`tea'); drop table x; --`)).toEqual([]);
      expect(await en('tea & | ! :* (')).toEqual(['c', 'd']);
      expect(await en('tea:*')).toEqual(['c', 'd']);
      const still = await env().sql.query(`SELECT to_regclass('"${env().schema}".x')::text AS t`);
      expect(still.rows[0]!.t).not.toBeNull();
      expect((await p().search({ index: english, query: '' })).totalHits).toBe(docs.length);
    });

    it('highlights mark stemmed and prefix matches in the original text', async () => {
      const r = await p().search({ index: english, query: 'run', highlight: ['title'] });
      expect(r.hits[0]!.highlights!.title).toBe('<mark>Running</mark> shoes for the trail');
      const w = await p().search({ index: english, query: 'wid', highlight: ['title'] });
      expect(w.hits[0]!.highlights!.title).toBe('A blue <mark>widget</mark>');
    });

    it('long fields are highlighted as fragments around the matches', async () => {
      const index = ctx.newIndex('long');
      await p().configureIndex(index, { searchable: ['body'] });
      const body = `${'filler '.repeat(300)}needle ${'padding '.repeat(300)}`;
      await p().indexDocument({ id: 'l', index, data: { body } });
      const r = await p().search({ index, query: 'needle', highlight: ['body'] });
      const h = r.hits[0]!.highlights!.body!;
      expect(h).toContain('<mark>needle</mark>');
      expect(h.length).toBeLessThan(body.length / 4);
    });
  });
}

/** The SQL filter translator against the in-memory evaluator, and paging totals. */
export function filterTests(ctx: SearchSuiteContext): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: the filter translator agrees with the in-memory evaluator', () => {
    it('random documents × random filters select the same ids as matchesFilter', async () => {
      const index = ctx.newIndex('rnd');
      const docs = randomDocuments(80, 7);
      await p().configureIndex(index, { searchable: ['s'], filterable: ['n', 's', 'b', 'o.x', 'm'] });
      expect(await p().indexDocuments(docs.map((d) => ({ id: d.id, index, data: d.data })))).toEqual({
        succeeded: docs.length,
        failed: [],
      });
      let selective = 0;
      for (const filter of randomFilters(150, 11)) {
        const nf = normalizeFilter(filter);
        const expected = docs
          .filter((d) => matchesFilter(nf, d.data))
          .map((d) => d.id)
          .sort();
        const r = await p().search({ index, query: '', filter: filter as Filter, limit: 1000 });
        expect(ids(r), JSON.stringify(filter)).toEqual(expected);
        expect(r.totalHits).toBe(expected.length);
        if (expected.length > 0 && expected.length < docs.length) selective++;
      }
      // The data is varied enough that most filters select some documents but not all.
      expect(selective).toBeGreaterThan(100);
    });

    it('totalHits is the same on every page, past the last match, and with limit 0 (words + filter + sort)', async () => {
      const index = ctx.newIndex('tot');
      await p().configureIndex(index, { searchable: ['t'], filterable: ['n'], sortable: ['n'] });
      const docs = Array.from({ length: 60 }, (_, i) => ({
        id: `d${i}`,
        index,
        data: { t: i % 3 === 0 ? 'red apple' : 'green pear', n: i },
      }));
      await p().indexDocuments(docs);
      const expected = docs.filter((d) => d.data.t === 'red apple' && d.data.n >= 10).map((d) => d.id);
      // With facets the page's own scan counts the matches; without, a count runs beside it.
      for (const facets of [undefined, ['n']]) {
        const q = {
          index,
          query: 'appl',
          filter: { field: 'n', op: 'gte', value: 10 } as Filter,
          sort: ['n:desc'],
          ...(facets ? { facets } : {}),
        };
        const seen: string[] = [];
        for (const offset of [0, 7, 14]) {
          const r = await p().search({ ...q, limit: 7, offset, highlight: ['t'] });
          expect(r.totalHits).toBe(expected.length);
          for (const h of r.hits) expect(h.highlights?.t).toBe('red <mark>apple</mark>');
          seen.push(...r.hits.map((h) => h.id));
        }
        expect(seen).toEqual([...expected].reverse());
        for (const page of [
          { limit: 5, offset: expected.length },
          { limit: 5, offset: 500 },
          { limit: 0, offset: 0 },
        ]) {
          const r = await p().search({ ...q, ...page });
          expect(r.hits).toEqual([]);
          expect(r.totalHits, JSON.stringify(page)).toBe(expected.length);
          if (facets) expect(r.facets?.n).toHaveLength(expected.length);
        }
        const none = await p().search({ ...q, query: 'banana' });
        expect(none).toMatchObject({ hits: [], totalHits: 0 });
      }
    });
  });
}

/** Registered on a server only (see `postgresSearchTests`). */
export function scaleTests(ctx: SearchSuiteContext): void {
  const p = () => ctx.provider() as PostgresSearchProvider;

  describe('postgresql: scale', () => {
    // The test's timeout is the requirement: indexing and querying 100k documents within a minute.
    it('100,000 documents index and query correctly within a minute', async () => {
      await scaleTest(p(), ctx.newIndex('big'));
    }, 60_000);
  });
}

const WORDS = [
  'amber',
  'basil',
  'cedar',
  'delta',
  'ember',
  'fjord',
  'grove',
  'harbor',
  'indigo',
  'juniper',
  'kelp',
  'lumen',
  'marble',
  'nectar',
  'onyx',
  'pepper',
  'quartz',
  'raven',
  'saffron',
  'thistle',
];
const CATEGORIES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

async function scaleTest(provider: SearchProvider, index: string): Promise<void> {
  const n = 100_000;
  await provider.configureIndex(index, {
    searchable: ['title'],
    filterable: ['category', 'price', 'tags'],
    sortable: ['price'],
  });
  // Deterministic data, so expected counts are computed here and compared exactly.
  const docs = Array.from({ length: n }, (_, i) => {
    const w1 = WORDS[i % WORDS.length]!;
    const w2 = WORDS[(i * 7 + 3) % WORDS.length]!;
    return {
      id: `doc${i}`,
      index,
      data: {
        title: `${w1} ${w2} item ${i}`,
        category: CATEGORIES[i % CATEGORIES.length]!,
        price: i % 1000,
        tags: [`t${i % 3}`, `u${i % 4}`],
      },
    };
  });
  for (let i = 0; i < n; i += 20_000) {
    const r = await provider.indexDocuments(docs.slice(i, i + 20_000));
    expect(r.failed).toEqual([]);
    expect(r.succeeded).toBe(Math.min(20_000, n - i));
  }
  const hasWord = (d: (typeof docs)[number], w: string) => d.data.title.split(' ').includes(w);

  const browse = await provider.search({ index, query: '', limit: 5 });
  expect(browse.totalHits).toBe(n);
  expect(browse.totalHitsExact).toBe(true);

  const amber = docs.filter((d) => hasWord(d, 'amber'));
  const r1 = await provider.search({ index, query: 'amber', limit: 10 });
  expect(r1.totalHits).toBe(amber.length);
  expect(r1.hits).toHaveLength(10);

  // Words + filter + sort + facets, every number checked.
  const match = docs.filter(
    (d) =>
      hasWord(d, 'cedar') && d.data.category === 'gamma' && d.data.price < 500 && d.data.tags.includes('t1'),
  );
  const r2 = await provider.search({
    index,
    query: 'cedar',
    filter: {
      and: [
        { field: 'category', op: 'eq', value: 'gamma' },
        { field: 'price', op: 'lt', value: 500 },
        { field: 'tags', op: 'eq', value: 't1' },
      ],
    },
    sort: ['price:desc'],
    limit: 20,
    facets: ['tags'],
  });
  expect(r2.totalHits).toBe(match.length);
  expect(match.length).toBeGreaterThan(20);
  const prices = r2.hits.map((h) => (h.document as { price: number }).price);
  expect(prices).toEqual([...prices].sort((a, b) => b - a));
  expect(prices[0]).toBe(Math.max(...match.map((d) => d.data.price)));
  const tagCounts = new Map<string, number>();
  for (const d of match) for (const t of d.data.tags) tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
  expect(new Map(r2.facets!.tags!.map((f) => [f.value, f.count]))).toEqual(tagCounts);

  // Browse sorted + deep page, stable order.
  const r3 = await provider.search({ index, query: '', sort: ['price:asc'], offset: 99_990, limit: 10 });
  expect(r3.totalHits).toBe(n);
  expect(r3.hits.map((h) => (h.document as { price: number }).price)).toEqual(Array(10).fill(999));

  // Facets over everything.
  const r4 = await provider.search({ index, query: '', facets: ['category'], limit: 0 });
  expect(r4.facets!.category).toEqual(
    CATEGORIES.map((c) => ({ value: c, count: n / CATEGORIES.length })).sort((a, b) =>
      a.value < b.value ? -1 : 1,
    ),
  );
  // Prefix of the last word over the whole index.
  const r5 = await provider.search({ index, query: 'saff' });
  expect(r5.totalHits).toBe(docs.filter((d) => hasWord(d, 'saffron')).length);
}
