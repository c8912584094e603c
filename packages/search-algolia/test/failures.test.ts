import { createServer, type Server, type Socket } from 'node:net';
import {
  CATALOGUE_INDEX_CONFIG,
  catalogueDocuments,
  type FakeAlgolia,
  PRODUCT_CATALOGUE,
  startFakeAlgolia,
  uniqueName,
} from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AlgoliaSearchProvider, createAlgoliaSearch } from '../src/index.ts';
import { expectNoSecret, rejection } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// Failure behaviour, each against its own double so knobs do not leak into other tests.

describe('algolia provider failures', () => {
  let double: FakeAlgolia;
  const opened: AlgoliaSearchProvider[] = [];
  const open = async (opts: Partial<Parameters<typeof createAlgoliaSearch>[0]> = {}) => {
    const p = await createAlgoliaSearch({
      appId: double.appId,
      apiKey: double.apiKey,
      hosts: [double.url],
      ...opts,
    });
    opened.push(p);
    return p;
  };
  const configured = async (p: AlgoliaSearchProvider) => {
    const index = uniqueName('algf');
    await p.configureIndex(index, structuredClone(CATALOGUE_INDEX_CONFIG) as never);
    return index;
  };

  beforeAll(async () => {
    double = await startFakeAlgolia();
  });
  afterEach(async () => {
    double.latencyMs = 0;
    double.taskDelayMs = 0;
    for (const p of opened.splice(0)) await p.close();
  });
  afterAll(async () => {
    await double?.close();
  });

  it('a wrong API key is IN402 from provider "algolia", and the key is in no message', async () => {
    const wrongKey = 'definitely-wrong-key-0123456789';
    const p = await open({ apiKey: wrongKey });
    const err = await rejection(p.search({ index: 'anything', query: 'x' }));
    expect(err.code).toBe('IN402');
    expect(err.provider).toBe('algolia');
    expect(err.message).toMatch(/Invalid Application-ID or API key/);
    expectNoSecret(err, wrongKey);
    const write = await rejection(p.indexDocument({ id: 'a', index: 'anything', data: { name: 'x' } }));
    expect(write.code).toBe('IN402');
    expectNoSecret(write, wrongKey);
    expect(await p.healthCheck()).toBe(false);
  });

  it('a wrong application id is IN402', async () => {
    const p = await open({ appId: 'NOTMYAPP' });
    expect((await rejection(p.search({ index: 'anything', query: 'x' }))).code).toBe('IN402');
  });

  it('a batch the engine rejects is IN105 with the engine message', async () => {
    const p = await open();
    const index = await configured(p);
    double.failNext(
      1,
      400,
      { message: 'Record at the position 0 objectID=p01 is too big size=20480/10000 bytes', status: 400 },
      (r) => r.path.endsWith('/batch'),
    );
    const err = await rejection(p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } }));
    expect(err.code).toBe('IN105');
    expect(err.message).toMatch(/too big/);
    expectNoSecret(err, double.apiKey);
  });

  it('indexDocuments isolates the records the engine rejects and indexes the rest', async () => {
    const p = await open();
    const index = await configured(p);
    const tooBig = {
      message: 'Record at the position 0 objectID=p02 is too big size=20480/10000 bytes',
      status: 400,
    };
    // Fails every batch carrying p02: first the whole chunk, then p02 alone.
    double.failNext(
      2,
      400,
      tooBig,
      (r) => r.path.endsWith('/batch') && JSON.stringify(r.body).includes('"p02"'),
    );
    const result = await p.indexDocuments(catalogueDocuments(index).slice(0, 3));
    expect(result.succeeded).toBe(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.id).toBe('p02');
    expect(result.failed[0]!.reason).toMatch(/too big/);
    const r = await p.search({ index, query: '' });
    expect(r.hits.map((h) => h.id).sort()).toEqual(['p01', 'p03']);
  });

  it('a task that is not published within taskTimeoutMs is IN105', async () => {
    const p = await open({ taskTimeoutMs: 150 });
    const index = await configured(p);
    double.taskDelayMs = 5_000;
    const err = await rejection(p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } }));
    expect(err.code).toBe('IN105');
    expect(err.message).toMatch(/not published/);
  });

  it('writes resolve only once their task is published, so the next search sees them', async () => {
    const p = await open();
    const index = await configured(p);
    double.taskDelayMs = 250;
    await p.indexDocument({ id: 'p01', index, data: { ...PRODUCT_CATALOGUE.p01! } });
    expect((await p.search({ index, query: 'espresso' })).hits.map((h) => h.id)).toEqual(['p01']);
    await p.deleteDocument(index, 'p01');
    expect((await p.search({ index, query: 'espresso' })).hits).toEqual([]);
    const polls = double
      .requests()
      .filter((r) => r.method === 'GET' && r.path.startsWith(`/1/indexes/${index}/task/`));
    expect(polls.length).toBeGreaterThan(2);
  });

  it('a response slower than timeoutMs is IN102, and healthCheck reports false', async () => {
    const p = await open({ timeoutMs: 300 });
    const index = await configured(p);
    double.latencyMs = 1_500;
    const err = await rejection(p.search({ index, query: 'x' }));
    expect(err.code).toBe('IN102');
    expect(err.provider).toBe('algolia');
    expectNoSecret(err, double.apiKey);
    expect(await p.healthCheck()).toBe(false);
  });

  it('an engine 5xx on every host is IN502', async () => {
    const p = await open();
    const index = await configured(p);
    double.failNext(1, 503, { message: 'Service Unavailable', status: 503 }, (r) =>
      r.path.endsWith('/query'),
    );
    const err = await rejection(p.search({ index, query: 'x' }));
    expect(err.code).toBe('IN502');
  });

  it('search on a missing index, and clearIndex of one, are IN100; deleting from one resolves', async () => {
    const p = await open();
    const missing = uniqueName('algmissing');
    expect((await rejection(p.search({ index: missing, query: '' }))).code).toBe('IN100');
    expect((await rejection(p.clearIndex(missing))).code).toBe('IN100');
    await expect(p.deleteDocument(missing, 'x')).resolves.toBeUndefined();
  });

  it('close() makes later calls reject with a coded error', async () => {
    const p = await open();
    await p.close();
    expect((await rejection(p.search({ index: 'x', query: '' }))).code).toBe('IN502');
  });
});

describe('algolia provider against unreachable hosts', () => {
  let blackhole: Server;
  let blackholePort = 0;
  const sockets = new Set<Socket>();
  let closedPort = 0;

  beforeAll(async () => {
    // Accepts connections and never answers: the worst case for a client's timeouts.
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    blackholePort = (blackhole.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  it('a refused connection is IN501 (not a hang across hosts)', async () => {
    const p = await createAlgoliaSearch({
      appId: 'APP',
      apiKey: 'secret-key-1234',
      hosts: [`http://127.0.0.1:${closedPort}`],
    });
    try {
      const err = await rejection(p.search({ index: 'x', query: '' }));
      expect(err.code).toBe('IN501');
      expectNoSecret(err, 'secret-key-1234');
      expect(await p.healthCheck()).toBe(false);
    } finally {
      await p.close();
    }
  });

  it('hosts that accept but never answer are IN102 within the deadline, across every host', async () => {
    const p = await createAlgoliaSearch({
      appId: 'APP',
      apiKey: 'secret-key-1234',
      timeoutMs: 400,
      hosts: [
        `http://127.0.0.1:${blackholePort}`,
        `127.0.0.1:${closedPort}`,
        `http://127.0.0.1:${blackholePort}`,
      ],
    });
    try {
      const err = await rejection(p.search({ index: 'x', query: '' }));
      expect(err.code).toBe('IN102');
    } finally {
      await p.close();
    }
  });
});

describe('createAlgoliaSearch options', () => {
  it('requires appId and apiKey (IN001) and rejects malformed hosts and timeouts (IN002)', async () => {
    expect((await rejection(createAlgoliaSearch({ appId: '', apiKey: 'k' }))).code).toBe('IN001');
    expect((await rejection(createAlgoliaSearch({ appId: 'A', apiKey: '' }))).code).toBe('IN001');
    expect(
      (await rejection(createAlgoliaSearch({ appId: 'A', apiKey: 'k', hosts: ['http://x/path'] }))).code,
    ).toBe('IN002');
    expect((await rejection(createAlgoliaSearch({ appId: 'A', apiKey: 'k', timeoutMs: -1 }))).code).toBe(
      'IN002',
    );
  });

  it('configures the indexes it is given at start', async () => {
    const double = await startFakeAlgolia();
    const index = uniqueName('algopt');
    const p = await createAlgoliaSearch({
      appId: double.appId,
      apiKey: double.apiKey,
      hosts: [double.url],
      indexes: { [index]: { searchable: ['name'], filterable: ['rank'], sortable: ['rank'] } },
    });
    try {
      expect(double.indexNames()).toEqual(
        expect.arrayContaining([index, `${index}_rank_asc`, `${index}_rank_desc`]),
      );
      const err = await rejection(p.configureIndex(index, { searchable: [] }));
      expect(err.code).toBe('IN002');
    } finally {
      await p.close();
      await double.close();
    }
  });
});
