// search-postgres query latency on a generated catalogue (100k documents; 20k with --quick),
// against the same queries written by hand in SQL over the same table and indexes (page + count
// [+ facet] in parallel, as the provider runs them). Each round runs `samples` queries of one
// shape on one side, then the other side; p50/p95 are per round, medians over rounds reported.
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresSearch, tableNameFor } from '@fraiseql/search-postgres';
import { compare, now, percentile, unmeasured } from '../lib/harness.mjs';

export const name = 'search-postgres';

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'to',
  'vi',
  'ze',
  'pa',
  'qu',
  'dor',
  'len',
  'mar',
  'tis',
  'bel',
];
const CATEGORIES = ['kitchen', 'garden', 'office', 'sports', 'toys', 'books', 'audio', 'tools'];

/** Deterministic catalogue: titles from a 400-word vocabulary, categories, prices, tags, dates. */
function catalogue(total, index) {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const vocab = Array.from({ length: 400 }, (_, i) => {
    let w = '';
    for (let n = i, k = 0; k < 3; k++, n = Math.floor(n / SYLLABLES.length))
      w += SYLLABLES[n % SYLLABLES.length];
    return w;
  });
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const words = (n) => Array.from({ length: n }, () => pick(vocab)).join(' ');
  const docs = Array.from({ length: total }, (_, i) => ({
    id: `p${i}`,
    index,
    data: {
      title: words(4),
      description: words(20),
      category: pick(CATEGORIES),
      price: Math.round(rnd() * 100000) / 100,
      tags: [pick(CATEGORIES), pick(vocab)],
      released_at: 1_600_000_000_000 + Math.floor(rnd() * 100_000_000_000),
    },
  }));
  return { vocab, docs };
}

export async function run(ctx) {
  const total = ctx.quick ? 20_000 : 100_000;
  const samples = ctx.quick ? 30 : 60;
  const rounds = ctx.quick ? 3 : 5;
  const docsLabel = `${total / 1000}k docs`;
  const shapes = [
    ['oneWord', 'one word as typed (prefix), first page + count'],
    ['page', 'two words + filter + sort + facet + highlight'],
    ['browse', 'no words, filter + sort (browse)'],
  ];
  const metricsOf = (what) => [
    {
      key: 'p50',
      benchmark: `search-postgres: ${what}, p50 (${docsLabel})`,
      unit: 'ms',
      higherIsBetter: false,
      aim: 0.8,
    },
    {
      key: 'p95',
      benchmark: `search-postgres: ${what}, p95 (${docsLabel})`,
      unit: 'ms',
      higherIsBetter: false,
      aim: 0.8,
    },
  ];
  const peerName = 'the same query hand-written in SQL';
  if (!ctx.services.postgres.up) {
    return shapes
      .flatMap(([, w]) => metricsOf(w))
      .map((m) => unmeasured({ ...m, peerName }, 'PostgreSQL unreachable'));
  }
  const url = ctx.services.postgres.url;
  const schema = `bench_search_${process.pid}`;
  const index = 'products';
  const { vocab, docs } = catalogue(total, index);
  const sql = await createSqlClient({ url });
  const search = await createPostgresSearch({ sql, schema });
  const rows = [];
  try {
    await search.configureIndex(index, {
      searchable: ['title', 'description'],
      filterable: ['category', 'price', 'tags', 'released_at'],
      sortable: ['price', 'released_at'],
    });
    const t = now();
    for (let i = 0; i < total; i += 10_000) {
      const r = await search.indexDocuments(docs.slice(i, i + 10_000));
      if (r.failed.length > 0) throw new Error(`indexing failed: ${JSON.stringify(r.failed.slice(0, 3))}`);
    }
    ctx.log(`    indexed ${total} documents in ${((now() - t) / 1000).toFixed(1)} s`);
    const table = `"${schema}"."${tableNameFor(index)}"`;
    await sql.exec(`VACUUM ANALYZE ${table}`);
    const word = (i) => vocab[(i * 37) % vocab.length];
    const prefix = (i) => vocab[(i * 53 + 11) % vocab.length].slice(0, 4);

    const ours = {
      oneWord: (i) => search.search({ index, query: prefix(i) }),
      page: (i) =>
        search.search({
          index,
          query: `${word(i)} ${prefix(i + 1)}`,
          filter: {
            and: [
              { field: 'category', op: 'in', value: ['kitchen', 'garden', 'office'] },
              { field: 'price', op: 'lt', value: 800 },
            ],
          },
          sort: ['price:asc'],
          facets: ['category'],
          highlight: ['title'],
        }),
      browse: (i) =>
        search.search({
          index,
          query: '',
          filter: { field: 'category', op: 'eq', value: CATEGORIES[i % 8] },
          sort: ['released_at:desc'],
        }),
    };
    const hand = {
      oneWord: (i) =>
        Promise.all([
          sql.query(
            `SELECT id, doc, ts_rank_cd(tsv, q, 32) AS score FROM ${table}, to_tsquery('english', $1) q
              WHERE tsv @@ q ORDER BY score DESC, id LIMIT 20`,
            [`${prefix(i)}:*`],
          ),
          sql.query(`SELECT count(*) FROM ${table} WHERE tsv @@ to_tsquery('english', $1)`, [
            `${prefix(i)}:*`,
          ]),
        ]),
      page: (i) => {
        const q = `websearch_to_tsquery('english', $1) && to_tsquery('english', $2)`;
        const where = `tsv @@ (${q}) AND doc->>'category' IN ($3, $4, $5) AND (doc->>'price')::numeric < $6`;
        const params = [word(i), `${prefix(i + 1)}:*`, 'kitchen', 'garden', 'office', 800];
        return Promise.all([
          sql.query(
            `SELECT id, doc, ts_headline('english', doc->>'title', ${q}, 'StartSel=<mark>, StopSel=</mark>, HighlightAll=true') AS h
               FROM (SELECT id, doc FROM ${table} WHERE ${where} ORDER BY (doc->>'price')::numeric, id LIMIT 20) p`,
            params,
          ),
          sql.query(`SELECT count(*) FROM ${table} WHERE ${where}`, params),
          sql.query(
            `SELECT doc->>'category' AS v, count(*) FROM ${table} WHERE ${where} GROUP BY 1 ORDER BY 2 DESC`,
            params,
          ),
        ]);
      },
      browse: (i) =>
        Promise.all([
          sql.query(
            `SELECT id, doc FROM ${table} WHERE doc @> $1::jsonb ORDER BY (doc->>'released_at')::numeric DESC, id LIMIT 20`,
            [JSON.stringify({ category: CATEGORIES[i % 8] })],
          ),
          sql.query(`SELECT count(*) FROM ${table} WHERE doc @> $1::jsonb`, [
            JSON.stringify({ category: CATEGORIES[i % 8] }),
          ]),
        ]),
    };
    // Both sides must find the same documents before anything is timed.
    const a = await ours.oneWord(3);
    const [b] = await hand.oneWord(3);
    if (a.totalHits === 0 || a.hits.length !== b.rows.length)
      throw new Error('search-postgres: sanity check failed');

    const timed = (fn) => {
      let offset = 0;
      return async () => {
        const ms = [];
        for (let k = 0; k < samples; k++) {
          const i = offset++;
          const t0 = now();
          await fn(i);
          ms.push(now() - t0);
        }
        return { p50: percentile(ms, 50), p95: percentile(ms, 95) };
      };
    };
    for (const [key, what] of shapes) {
      rows.push(
        ...(await compare({
          peerName,
          rounds,
          log: ctx.log,
          metrics: metricsOf(what),
          ours: timed(ours[key]),
          peer: timed(hand[key]),
        })),
      );
    }
  } finally {
    await search.close();
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await sql.close();
  }
  return rows;
}
