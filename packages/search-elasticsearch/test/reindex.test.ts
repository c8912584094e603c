import type { SearchProvider } from '@fraiseql/core';
import { describeReindex, type FakeElasticsearch, startFakeElasticsearch } from '@fraiseql/testkit';
import { afterAll, beforeAll } from 'vitest';
import { createElasticsearchSearch, type ElasticsearchSearch, portableIndexName } from '../src/index.ts';

/**
 * The names a user can see: aliases, and indexes that no alias hides. A rebuilt index keeps its
 * concrete `<index>__<timestamp>` name behind the live alias (Elasticsearch cannot rename), so it
 * is listed under the live name.
 */
async function publicNames(p: SearchProvider): Promise<string[]> {
  const res = (await (p as ElasticsearchSearch).client.indices.getAlias()) as Record<
    string,
    { aliases?: Record<string, unknown> }
  >;
  const names = new Set<string>();
  for (const [index, v] of Object.entries(res)) {
    const aliases = Object.keys(v.aliases ?? {});
    if (aliases.length === 0) names.add(portableIndexName(index));
    for (const a of aliases) names.add(portableIndexName(a));
  }
  return [...names];
}

let fake: FakeElasticsearch;
beforeAll(async () => {
  fake = await startFakeElasticsearch();
});
afterAll(async () => {
  await fake?.close();
});

describeReindex(
  'elasticsearch (protocol double)',
  () => createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey }),
  {
    listIndexes: publicNames,
    dropIndexes: async (p, names) => {
      for (const name of names) await (p as ElasticsearchSearch).deleteIndex(name);
    },
  },
);

const realUrl = process.env.ELASTICSEARCH_URL;
if (realUrl) {
  const realKey = process.env.ELASTICSEARCH_API_KEY;
  describeReindex(
    'elasticsearch (real cluster)',
    () => createElasticsearchSearch({ node: realUrl, ...(realKey ? { apiKey: realKey } : {}) }),
    {
      listIndexes: publicNames,
      dropIndexes: async (p, names) => {
        for (const name of names) await (p as ElasticsearchSearch).deleteIndex(name);
      },
    },
  );
}
