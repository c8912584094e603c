// Indexing throughput and query latency of @fraiseql/search-postgres on a Postgres server
// (DATABASE_URL) or PGlite (--pglite), next to the same queries written by hand in SQL.
//   node tooling/bench/search-postgres.mjs [--pglite] [--docs 100000] [--samples 200]
// Build first (pnpm build). Prints one JSON line: bulk-index docs/s, and p50/p95 latency (ms) per
// query shape for the provider and for the hand-written SQL over the same table and indexes.
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresSearch, tableNameFor } from '@fraiseql/search-postgres';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const pglite = args.includes('--pglite');
const total = flag('docs', 100_000);
const samples = flag('samples', 200);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_search_${process.pid}`;
const index = 'products';

// Deterministic pseudo-random catalogue: titles from a 400-word vocabulary, a few categories,
// prices, tags and a date, so every query below has thousands of candidates.
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const syllables = [
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
const vocab = Array.from({ length: 400 }, (_, i) => {
  let w = '';
  for (let n = i, k = 0; k < 3; k++, n = Math.floor(n / syllables.length))
    w += syllables[n % syllables.length];
  return w;
});
const pick = (list) => list[Math.floor(rnd() * list.length)];
const categories = ['kitchen', 'garden', 'office', 'sports', 'toys', 'books', 'audio', 'tools'];
const words = (n) => Array.from({ length: n }, () => pick(vocab)).join(' ');
const docs = Array.from({ length: total }, (_, i) => ({
  id: `p${i}`,
  index,
  data: {
    title: words(4),
    description: words(20),
    category: pick(categories),
    price: Math.round(rnd() * 100000) / 100,
    tags: [pick(categories), pick(vocab)],
    released_at: 1_600_000_000_000 + Math.floor(rnd() * 100_000_000_000),
  },
}));

const sql = pglite ? await createSqlClient({}) : await createSqlClient({ url });
const search = await createPostgresSearch({ sql, schema });
const rate = (n, ms) => Math.round((n / ms) * 1000);
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const round = (x) => +x.toFixed(2);

async function time(fn) {
  for (let i = 0; i < Math.min(10, samples); i++) await fn(i); // warm-up (plans, caches)
  const ms = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return { p50: round(pct(ms, 50)), p95: round(pct(ms, 95)) };
}

try {
  await search.configureIndex(index, {
    searchable: ['title', 'description'],
    filterable: ['category', 'price', 'tags', 'released_at'],
    sortable: ['price', 'released_at'],
  });
  const t = performance.now();
  for (let i = 0; i < total; i += 10_000) {
    const r = await search.indexDocuments(docs.slice(i, i + 10_000));
    if (r.failed.length > 0) throw new Error(`indexing failed: ${JSON.stringify(r.failed.slice(0, 3))}`);
  }
  const indexPerSec = rate(total, performance.now() - t);
  if (!pglite) await sql.exec(`ANALYZE "${schema}"."${tableNameFor(index)}"`);

  const table = `"${schema}"."${tableNameFor(index)}"`;
  const word = (i) => vocab[(i * 37) % vocab.length];
  const prefix = (i) => vocab[(i * 53 + 11) % vocab.length].slice(0, 4);

  // 1. One word, as typed (prefix), first page.
  const oneWord = await time((i) => search.search({ index, query: prefix(i) }));
  const oneWordSql = await time((i) =>
    Promise.all([
      sql.query(
        `SELECT id, doc, ts_rank_cd(tsv, q, 32) AS score FROM ${table}, to_tsquery('english', $1) q
          WHERE tsv @@ q ORDER BY score DESC, id LIMIT 20`,
        [`${prefix(i)}:*`],
      ),
      sql.query(`SELECT count(*) FROM ${table} WHERE tsv @@ to_tsquery('english', $1)`, [`${prefix(i)}:*`]),
    ]),
  );

  // 2. Two words + filter + sort + facet + highlight: the "search page" query.
  const full = (i) => ({
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
  });
  const searchPage = await time((i) => search.search(full(i)));
  const searchPageSql = await time((i) => {
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
  });

  // 3. Browse: filter + sort, no words.
  const browse = await time((i) =>
    search.search({
      index,
      query: '',
      filter: { field: 'category', op: 'eq', value: categories[i % 8] },
      sort: ['released_at:desc'],
    }),
  );
  const browseSql = await time((i) =>
    Promise.all([
      sql.query(
        `SELECT id, doc FROM ${table} WHERE doc @> $1::jsonb ORDER BY (doc->>'released_at')::numeric DESC, id LIMIT 20`,
        [JSON.stringify({ category: categories[i % 8] })],
      ),
      sql.query(`SELECT count(*) FROM ${table} WHERE doc @> $1::jsonb`, [
        JSON.stringify({ category: categories[i % 8] }),
      ]),
    ]),
  );

  console.log(
    JSON.stringify({
      backend: pglite ? 'pglite' : 'postgres',
      docs: total,
      samples,
      indexDocsPerSec: indexPerSec,
      latencyMs: {
        oneWordPrefix: { provider: oneWord, handSql: oneWordSql },
        wordsFilterSortFacetHighlight: { provider: searchPage, handSql: searchPageSql },
        browseFilterSort: { provider: browse, handSql: browseSql },
      },
    }),
  );
} finally {
  await search.close();
  if (!pglite) await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.close();
}
