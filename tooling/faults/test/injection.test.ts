import { createMemoryCache } from '@fraiseql/cache-memory';
import { createPostgresCache } from '@fraiseql/cache-postgres';
import { createRedisCache } from '@fraiseql/cache-redis';
import type { CacheProvider, QueueProvider, SearchProvider } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { createRabbitQueue } from '@fraiseql/queue-rabbitmq';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { createPostgresSearch } from '@fraiseql/search-postgres';
import { checkService, uniqueName, waitFor } from '@fraiseql/testkit';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../redis-server';
import { escapeGlob, globMatches, hostileCorpus, Refused, Tally } from './support/corpus';
import { dropRabbitQueues } from './support/queues';
import { record, SOAK } from './support/results';

/**
 * Scenario 5 — injection. A corpus of hostile index, queue, table, schema names, cache keys and
 * patterns, job data, dedup keys, search values, fields, sorts and raw filters against every
 * backend: each input is refused with a coded IntegrationError or handled literally (checked:
 * what was written is read back unchanged, a pattern deletes exactly the keys its glob matches),
 * never executed (checked afterwards: the canary table still holds its row, no `pwned_*`
 * relation or schema exists, no key escaped its prefix).
 */

const marker = uniqueName('inj').replace(/^inj_/, '');
const decoder = new TextDecoder();
const RUNS = SOAK ? 1000 : 100;

function report(subject: string, t: Tally, extra: Record<string, number | string> = {}): void {
  t.dump(subject);
  record(
    'injection',
    subject,
    {
      tried: t.tried,
      rejectedCoded: t.rejected,
      handledLiterally: t.literal,
      codes: t.codeText(),
      uncoded: t.uncoded.length,
      mismatches: t.mismatches.length,
      knownDeviations: t.deviations.join('; ') || 'none',
      ...extra,
    },
    `${t.tried} hostile inputs: ${t.rejected} refused (${t.codeText()}), ${t.literal} handled literally, ` +
      `${t.mismatches.length} not literal, ${t.uncoded.length} uncoded errors` +
      (t.deviations.length ? ` (known engine deviation: ${t.deviations.join('; ')})` : '') +
      Object.entries(extra)
        .map(([k, v]) => `, ${k} ${v}`)
        .join(''),
  );
}

function expectClean(t: Tally): void {
  expect(t.uncoded, 'errors that are not IntegrationErrors').toEqual([]);
  expect(t.mismatches, 'inputs that were not handled literally').toEqual([]);
  expect(t.literal).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------
// Caches

/** Keys and globs on one cache: literal round trips, exact glob semantics, escaped globs. */
async function cacheInjection(cache: CacheProvider, corpus: string[], t: Tally): Promise<void> {
  const stored: string[] = [];
  for (const [i, key] of corpus.entries()) {
    const ok = await t.try(`set ${JSON.stringify(key)}`, async () => {
      await cache.set(key, `v${i}`);
      const got = await cache.get(key);
      t.same(`get ${JSON.stringify(key)}`, got && decoder.decode(got), `v${i}`);
      t.same(`exists ${JSON.stringify(key)}`, await cache.exists(key), true);
    });
    if (ok) stored.push(key);
  }
  const value = (key: string) => `v${corpus.indexOf(key)}`;
  // Every hostile string as a glob: exactly the stored keys its glob matches are deleted.
  for (const pattern of corpus) {
    const matching = stored.filter((k) => globMatches(pattern, k));
    const handled = await t.try(`deletePattern ${JSON.stringify(pattern)}`, async () => {
      const n = await cache.deletePattern(pattern);
      t.same(`deletePattern ${JSON.stringify(pattern)} count`, n, matching.length);
      for (const k of stored) {
        t.same(
          `after deletePattern ${JSON.stringify(pattern)}: ${JSON.stringify(k)}`,
          await cache.exists(k),
          !matching.includes(k),
        );
      }
    });
    // Refusing a pattern is consistent only when the same string was refused as a key (e.g. NUL
    // on Postgres, whose text cannot hold it); any other valid glob must be served.
    if (!handled && stored.includes(pattern)) {
      t.mismatches.push(`deletePattern ${JSON.stringify(pattern)} refused a glob whose key was accepted`);
    }
    for (const k of matching) await cache.set(k, value(k));
  }
  // Each stored key through its escaped glob: exactly itself.
  for (const k of stored) {
    await t.try(`escaped ${JSON.stringify(k)}`, async () => {
      t.same(`deletePattern(escape(${JSON.stringify(k)}))`, await cache.deletePattern(escapeGlob(k)), 1);
      await cache.set(k, value(k));
    });
  }
  // Arbitrary keys (fast-check): written and read back unchanged, or refused with a code.
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.uint8Array({ maxLength: 64 }),
      async (key, bytes) => {
        await t.try(`fast-check ${JSON.stringify(key)}`, async () => {
          await cache.set(key, bytes);
          const got = await cache.get(key);
          t.same(`fast-check get ${JSON.stringify(key)}`, got && [...got], [...bytes]);
          t.same(`fast-check escaped ${JSON.stringify(key)}`, await cache.deletePattern(escapeGlob(key)), 1);
        });
      },
    ),
    { numRuns: RUNS },
  );
}

// ---------------------------------------------------------------------------------------------
// Queues

/** Queue names, job data and dedup keys; data is checked as a worker receives it. */
async function queueInjection(
  queue: QueueProvider,
  corpus: string[],
  t: Tally,
  created: string[],
): Promise<void> {
  for (const name of corpus) {
    await t.try(`queue ${JSON.stringify(name)}`, async () => {
      await queue.enqueue(name, { n: 1 });
      created.push(name);
      t.same(`queueLength(${JSON.stringify(name)})`, await queue.queueLength(name), 1);
    });
  }
  const dataQueue = uniqueName('injdata');
  created.push(dataQueue);
  const expected = new Map<string, unknown>();
  for (const s of corpus) {
    const data = { s, nested: { [s]: [s] } };
    await t.try(`job data ${JSON.stringify(s)}`, async () => {
      expected.set(await queue.enqueue(dataQueue, data), data);
    });
  }
  const received = new Map<string, unknown>();
  const worker = queue.process(dataQueue, async (job) => {
    received.set(job.id, job.data);
  });
  try {
    await waitFor(() => received.size >= expected.size, 30_000, 'every hostile job to be delivered', 20);
  } finally {
    await worker.close({ timeoutMs: 2000 });
  }
  for (const [id, data] of expected) t.same(`job ${id} data`, received.get(id), data);

  if (queue.capabilities.dedup) {
    const dedupQueue = uniqueName('injdedup');
    created.push(dedupQueue);
    const ids = new Map<string, string>();
    for (const key of corpus) {
      await t.try(`dedupKey ${JSON.stringify(key)}`, async () => {
        const a = await queue.enqueue(dedupQueue, { key }, { dedupKey: key });
        const b = await queue.enqueue(dedupQueue, { key }, { dedupKey: key });
        t.same(`dedupKey ${JSON.stringify(key)} twice`, b, a);
        ids.set(key, a);
      });
    }
    t.same('distinct dedup keys give distinct jobs', new Set(ids.values()).size, ids.size);
  }
}

// ---------------------------------------------------------------------------------------------
// Search

/**
 * Known deviations of an engine, outside our code, that the report names instead of hiding.
 * PGlite (through 0.3) decodes text results with a BOM-stripping TextDecoder: a text value that
 * starts with U+FEFF comes back without it (the server keeps it).
 */
interface Quirks {
  stripsLeadingBom?: boolean;
}

async function searchInjection(
  search: SearchProvider,
  corpus: string[],
  t: Tally,
  quirks: Quirks = {},
): Promise<void> {
  for (const name of corpus) {
    await t.try(`index ${JSON.stringify(name)}`, async () => {
      await search.configureIndex(name, { searchable: ['title'], filterable: ['category'] });
      await search.indexDocument({ id: '1', index: name, data: { title: 'needle', category: 'c' } });
      t.same(
        `index ${JSON.stringify(name)} hit`,
        (await search.search({ index: name, query: 'needle' })).totalHits,
        1,
      );
      await search.clearIndex(name);
    });
  }
  const index = uniqueName('inj');
  await search.configureIndex(index, {
    searchable: ['title', 'body'],
    filterable: ['category', 'tag', 'n'],
    sortable: ['n'],
  });
  const docs = corpus.map((s, i) => ({
    id: `d${i}`,
    index,
    data: { title: `title${i} ${s}`, body: s, category: s, tag: [s, 'common'], n: i },
  }));
  // A document the engine cannot store (NUL in a jsonb string) must be reported per document.
  const bulk = await search.indexDocuments(docs);
  const refusedDocs = new Set(bulk.failed.map((f) => f.id));
  for (const d of docs) {
    await t.try(`document ${d.id}`, async () => {
      if (refusedDocs.has(d.id)) throw new Refused('per-document failure');
    });
  }
  const indexed = docs.filter((d) => !refusedDocs.has(d.id));
  // Hostile ids: stored as given or refused per document, never a failed batch.
  for (const id of corpus) {
    await t.try(`document id ${JSON.stringify(id)}`, async () => {
      const r = await search.indexDocuments([
        { id, index, data: { title: 'idcheck', category: 'ids', n: -1 } },
      ]);
      if (r.failed.length > 0) throw new Refused('per-document failure');
      const hits = await search.search({
        index,
        query: '',
        filter: { field: 'category', op: 'eq', value: 'ids' },
      });
      const expected = quirks.stripsLeadingBom && id.startsWith('\ufeff') ? id.slice(1) : id;
      if (expected !== id)
        t.deviations.push(`document id ${JSON.stringify(id)} reads back as ${JSON.stringify(expected)}`);
      t.same(
        `document id ${JSON.stringify(id)} stored as given`,
        hits.hits.map((h) => h.id),
        [expected],
      );
      await search.deleteDocument(index, id);
    });
  }
  for (const [i, s] of corpus.entries()) {
    const expectIds = indexed.filter((d) => d.data.category === s).map((d) => d.id);
    await t.try(`filter eq ${JSON.stringify(s)}`, async () => {
      const r = await search.search({
        index,
        query: '',
        filter: { field: 'category', op: 'eq', value: s },
        limit: 1000,
      });
      t.same(`filter category = ${JSON.stringify(s)}`, r.hits.map((h) => h.id).sort(), expectIds.sort());
    });
    await t.try(`filter in ${JSON.stringify(s)}`, async () => {
      const r = await search.search({
        index,
        query: '',
        filter: { field: 'tag', op: 'eq', value: s },
        limit: 1000,
      });
      t.same(`filter tag contains ${JSON.stringify(s)}`, r.hits.map((h) => h.id).sort(), expectIds.sort());
    });
    await t.try(`query ${JSON.stringify(s)}`, async () => {
      await search.search({ index, query: s, limit: 5, highlight: ['title'] });
    });
    await t.try(`rawFilter ${JSON.stringify(s)}`, async () => {
      await search.search({ index, query: '', rawFilter: s, limit: 5 });
    });
    await t.try(`sort ${JSON.stringify(s)}`, async () => {
      await search.search({ index, query: '', sort: [s], limit: 5 });
    });
    await t.try(`facet ${JSON.stringify(s)}`, async () => {
      await search.search({ index, query: '', facets: [s], limit: 5 });
    });
    // Hostile field names in the index settings: refused, or a working field of exactly that name.
    const fieldIndex = `${index}_f${i}`;
    await t.try(`field ${JSON.stringify(s)}`, async () => {
      await search.configureIndex(fieldIndex, { searchable: [s], filterable: [s] });
      // A dotted field name is a path into nested objects (core's documented field syntax).
      const data = s
        .split('.')
        .reverse()
        .reduce<unknown>((inner, part) => ({ [part]: inner }), 'needle') as Record<string, unknown>;
      await search.indexDocument({ id: 'x', index: fieldIndex, data });
      const r = await search.search({
        index: fieldIndex,
        query: '',
        filter: { field: s, op: 'eq', value: 'needle' },
      });
      t.same(
        `field ${JSON.stringify(s)} filter`,
        r.hits.map((h) => h.id),
        ['x'],
      );
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Postgres side effects

async function makeCanary(sql: SqlClient, schema: string): Promise<void> {
  await sql.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; CREATE TABLE "${schema}".canary (x int)`);
  await sql.query(`INSERT INTO "${schema}".canary VALUES (42)`);
}

/** What a hostile payload would have left behind, had it run. */
async function sideEffects(sql: SqlClient, schema: string): Promise<string[]> {
  const found: string[] = [];
  const canary = await sql
    .query<{ x: number }>(`SELECT x FROM "${schema}".canary`)
    .then((r) => r.rows.map((row) => Number(row.x)))
    .catch((err: Error) => [`canary unreadable: ${err.message}`]);
  if (JSON.stringify(canary) !== '[42]') found.push(`canary table changed: ${JSON.stringify(canary)}`);
  const rels = await sql.query<{ relname: string }>(
    'SELECT relname FROM pg_class WHERE strpos(relname, $1) > 0 AND relname LIKE $2',
    [marker, 'pwned%'],
  );
  for (const r of rels.rows) found.push(`relation ${r.relname}`);
  const schemas = await sql.query<{ nspname: string }>(
    'SELECT nspname FROM pg_namespace WHERE strpos(nspname, $1) > 0 AND nspname LIKE $2',
    [marker, 'pwned%'],
  );
  for (const r of schemas.rows) found.push(`schema ${r.nspname}`);
  return found;
}

/**
 * Schema/table/language names from configuration: refused, or used as exactly that name. Each
 * hostile name is prefixed with this run's marker, so an accepted one is a fresh, unique schema
 * (or a table inside `schema`) that can be checked and dropped without touching anyone else's.
 */
async function configNames(sql: SqlClient, schema: string, corpus: string[], t: Tally, created: string[]) {
  const exists = async (nsp: string, rel?: string) =>
    (rel === undefined
      ? await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [nsp])
      : await sql.query(
          'SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
          [nsp, rel],
        )
    ).rowCount === 1;
  for (const hostile of corpus) {
    const name = `f${marker}${hostile}`;
    await t.try(`queue schema ${JSON.stringify(name)}`, async () => {
      created.push(name);
      const q = await createPostgresQueue({ sql, schema: name });
      await q.close();
      t.same(`queue schema ${JSON.stringify(name)} created literally`, await exists(name), true);
    });
    await t.try(`search schema ${JSON.stringify(name)}`, async () => {
      created.push(name);
      const s = await createPostgresSearch({ sql, schema: name });
      await s.close();
      t.same(`search schema ${JSON.stringify(name)} created literally`, await exists(name), true);
    });
    await t.try(`cache table ${JSON.stringify(name)}`, async () => {
      const c = await createPostgresCache({ sql, table: `${schema}.${name}` });
      await c.close();
      t.same(`cache table ${JSON.stringify(name)} created literally`, await exists(schema, name), true);
    });
    await t.try(`search language ${JSON.stringify(hostile)}`, async () => {
      const langSchema = uniqueName('faults_injl');
      created.push(langSchema);
      const s = await createPostgresSearch({ sql, schema: langSchema, defaultLanguage: hostile });
      try {
        await s.configureIndex('lang', { searchable: ['title'] });
        await s.indexDocument({ id: '1', index: 'lang', data: { title: 'x' } });
      } finally {
        await s.close();
      }
    });
  }
}

/** Every Postgres-backed provider on one SqlClient (a server or PGlite). */
function describePostgres(label: string, open: () => Promise<SqlClient | undefined>, quirks: Quirks = {}) {
  describe(`injection: ${label}`, () => {
    let sql: SqlClient | undefined;
    const schema = uniqueName('faults_inj');
    const corpus = hostileCorpus(marker, `"${schema}".canary`);
    const dropSchemas: string[] = [schema];
    beforeAll(async () => {
      sql = await open();
      if (sql) await makeCanary(sql, schema);
    });
    afterAll(async () => {
      if (!sql) return;
      for (const s of new Set(dropSchemas)) {
        // Only names this run made: unique (marker or uniqueName), and only if they exist.
        const found = await sql
          .query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [s])
          .catch(() => undefined);
        if (found?.rowCount === 1) await sql.exec(`DROP SCHEMA ${quoteAny(s)} CASCADE`);
      }
      await sql.close();
    }, 60_000);

    it('cache, queue, search and config names on Postgres: refused or literal, never executed', async () => {
      const db = sql!;
      const t = new Tally();
      const cache = await createPostgresCache({ sql: db, table: `${schema}.cache`, prefix: 'p:' });
      const other = await createPostgresCache({ sql: db, table: `${schema}.cache`, prefix: 'canary:' });
      await other.set('canary', 'alive');
      try {
        await cacheInjection(cache, corpus, t);
        await cache.deletePattern('*');
        t.same('other prefix untouched', decoder.decode((await other.get('canary'))!), 'alive');
      } finally {
        await cache.close();
        await other.close();
      }
      const queue = await createPostgresQueue({ sql: db, schema, queueDefaults: { retryDelayMs: 10 } });
      try {
        await queueInjection(queue, corpus, t, []);
      } finally {
        await queue.close();
      }
      const search = await createPostgresSearch({ sql: db, schema });
      try {
        await searchInjection(search, corpus, t, quirks);
      } finally {
        await search.close();
      }
      await configNames(db, schema, corpus, t, dropSchemas);
      const effects = await sideEffects(db, schema);
      report(label, t, { sideEffects: effects.length });
      expect(effects, 'traces of an executed payload').toEqual([]);
      expectClean(t);
    }, 240_000);
  });
}

/** A schema name as a quoted identifier, whatever it contains (for cleanup of accepted names). */
function quoteAny(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const pg = await checkService('postgres');
if (pg.available) describePostgres('postgresql', () => createSqlClient({ url: pg.url }));
describePostgres('pglite', () => createSqlClient({}), { stripsLeadingBom: true });

// ---------------------------------------------------------------------------------------------
// Redis: a dedicated server, so that every key on it can be checked afterwards

describe.skipIf(!redisServerInstalled())('injection: redis', () => {
  let server: RedisServer | undefined;
  afterAll(async () => server?.stop());

  it('cache keys, patterns, prefixes, queue names and job data: refused or literal', async () => {
    server = await startRedisServer();
    const corpus = hostileCorpus(marker, 'canary');
    const t = new Tally();
    const prefixes = ['p:', 'canary:'];
    const cache = await createRedisCache({ url: server.url, prefix: 'p:' });
    const other = await createRedisCache({ url: server.url, prefix: 'canary:' });
    await other.set('canary', 'alive');
    try {
      await cacheInjection(cache, corpus, t);
      await cache.deletePattern('*');
      t.same('other prefix untouched', decoder.decode((await other.get('canary'))!), 'alive');
      // Hostile prefixes: a glob in the prefix must not widen what deletePattern reaches.
      for (const prefix of corpus) {
        await t.try(`cache prefix ${JSON.stringify(prefix)}`, async () => {
          const c = await createRedisCache({ url: server!.url, prefix });
          try {
            prefixes.push(prefix);
            await c.set('k', 'v');
            await c.deletePattern('*');
            t.same(
              `prefix ${JSON.stringify(prefix)}: canary`,
              decoder.decode((await other.get('canary'))!),
              'alive',
            );
          } finally {
            await c.close();
          }
        });
      }
    } finally {
      await cache.close();
      await other.close();
    }
    const queue = await createRedisQueue({
      url: server.url,
      prefix: '{q}',
      queueDefaults: { retryDelayMs: 10 },
    });
    prefixes.push('{q}');
    try {
      await queueInjection(queue, corpus, t, []);
    } finally {
      await queue.close();
    }
    for (const prefix of corpus) {
      await t.try(`queue prefix ${JSON.stringify(prefix)}`, async () => {
        const q = await createRedisQueue({ url: server!.url, prefix });
        try {
          prefixes.push(prefix);
          await q.enqueue('plain', { x: 1 });
          t.same(`queue prefix ${JSON.stringify(prefix)} length`, await q.queueLength('plain'), 1);
        } finally {
          await q.close();
        }
      });
    }
    // Every key on this server belongs to a prefix that was used: nothing escaped or was created elsewhere.
    const admin = new Redis(server.url);
    const strays: string[] = [];
    try {
      let cursor = '0';
      let scanned = 0;
      do {
        const [next, keys] = await admin.scanBuffer(cursor, 'COUNT', 1000);
        cursor = String(next);
        for (const raw of keys) {
          scanned++;
          const key = raw.toString('utf8');
          if (!prefixes.some((p) => key.startsWith(p))) strays.push(key);
        }
      } while (cursor !== '0' && scanned < 1_000_000);
      t.same('canary', await admin.get('canary:canary'), 'alive');
    } finally {
      admin.disconnect();
    }
    report('redis', t, { straysOutsidePrefixes: strays.length });
    expect(strays).toEqual([]);
    expectClean(t);
  }, 240_000);
});

describe('injection: memory cache', () => {
  it('keys and patterns: refused or literal', async () => {
    const corpus = hostileCorpus(marker, 'canary');
    const t = new Tally();
    const cache = await createMemoryCache({ prefix: 'p:' });
    try {
      await cacheInjection(cache, corpus, t);
    } finally {
      await cache.close();
    }
    report('memory', t);
    expectClean(t);
  }, 120_000);
});

const amqp = await checkService('rabbitmq');
describe.skipIf(!amqp.available)('injection: rabbitmq', () => {
  it('queue names, prefixes and job data: refused or literal', async () => {
    const corpus = hostileCorpus(marker, 'canary');
    const t = new Tally();
    const prefix = uniqueName('faults_inj');
    const queue = await createRabbitQueue({ url: amqp.url, prefix, queueDefaults: { retryDelayMs: 10 } });
    const created: string[] = [];
    try {
      await queueInjection(queue, corpus, t, created);
      // Prefixes (marker first, so an accepted one names fresh broker objects of this run only).
      for (const hostile of corpus) {
        const p = `f${marker}${hostile}`;
        await t.try(`prefix ${JSON.stringify(p)}`, async () => {
          const q = await createRabbitQueue({ url: amqp.url, prefix: p });
          try {
            await q.enqueue('plain', { x: 1 });
            t.same(`prefix ${JSON.stringify(p)} queue length`, await q.queueLength('plain'), 1);
          } finally {
            await dropRabbitQueues(q, amqp.url, p, ['plain']);
          }
        });
      }
    } finally {
      await dropRabbitQueues(queue, amqp.url, prefix, created);
    }
    report('rabbitmq', t);
    expectClean(t);
  }, 180_000);
});
