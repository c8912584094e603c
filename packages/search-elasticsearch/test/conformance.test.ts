import type { SearchProvider } from '@fraiseql/core';
import { describeSearchProvider, type FakeElasticsearch, startFakeElasticsearch } from '@fraiseql/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createElasticsearchSearch, type ElasticsearchSearch } from '../src/index.ts';

const dropIndexes = async (provider: SearchProvider, indexes: string[]) => {
  for (const index of indexes) await (provider as ElasticsearchSearch).deleteIndex(index);
};

// Lucene syntax through `query_string`; the portable filter is ANDed with it.
const rawFilter = { filter: 'category:kitchen', ids: ['p01', 'p02', 'p09'] };

// ---------------------------------------------------------------------------------------------
// The contract, against the protocol double, through the official client.

let fake: FakeElasticsearch;
beforeAll(async () => {
  fake = await startFakeElasticsearch();
});
afterAll(async () => {
  await fake?.close();
});

describeSearchProvider(
  'elasticsearch (protocol double)',
  () => createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey }),
  {
    rawFilter,
    dropIndexes,
    indexPrefix: 'es',
    additionalTests: ({ provider, seedCatalogue }) => {
      it('asks for exact totals, <mark> tags, and writes with refresh=wait_for', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({ index, query: 'coffee', highlight: ['name'] });
        expect(r.totalHitsExact).toBe(true);
        const req = fake.requests.filter((x) => x.path.endsWith('/_search')).at(-1)!;
        expect(req.body).toMatchObject({
          track_total_hits: true,
          highlight: { pre_tags: ['<mark>'], post_tags: ['</mark>'] },
        });
        const bulk = fake.requests.filter((x) => x.path === '/_bulk').at(-1)!;
        expect(bulk.query.refresh).toBe('wait_for');
      });

      it('a JSON rawFilter is a query DSL clause', async () => {
        const index = await seedCatalogue();
        const r = await provider().search({
          index,
          query: '',
          rawFilter: JSON.stringify({ terms: { category: ['books', 'sports'] } }),
          limit: 100,
        });
        expect(r.hits.map((h) => h.id).sort()).toEqual(['p03', 'p04', 'p07', 'p08']);
      });
    },
  },
);

// ---------------------------------------------------------------------------------------------
// The contract against a real cluster, when one is configured.

const realUrl = process.env.ELASTICSEARCH_URL;
const realKey = process.env.ELASTICSEARCH_API_KEY;
if (realUrl) {
  describeSearchProvider(
    'elasticsearch (real cluster)',
    () => createElasticsearchSearch({ node: realUrl, ...(realKey ? { apiKey: realKey } : {}) }),
    { rawFilter, dropIndexes, indexPrefix: 'es' },
  );
} else {
  console.log('elasticsearch: ELASTICSEARCH_URL not set, the suite did not run against a real cluster');
}
