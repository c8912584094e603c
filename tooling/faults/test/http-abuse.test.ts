import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROUTES } from '@fraiseql/server';
import { sleep, uniqueName } from '@fraiseql/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildEvent, FixtureChild, killAllChildren } from './support/children';
import { hostileCorpus } from './support/corpus';
import { record, SOAK } from './support/results';
import { MB, quantile, round } from './support/stats';

/**
 * Scenario 4 — HTTP abuse of the server (in its own process, embedded backends): fuzzed paths,
 * queries, headers and bodies (fast-check), hostile values in every field, malformed raw
 * requests, huge bodies, slow clients and many concurrent connections. No 5xx for bad input, no
 * crash, memory that returns to its level; the token on every route but `/health`.
 */

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const FUZZ_RUNS = SOAK ? 20_000 : 1500;
const corpus = hostileCorpus(uniqueName('h').slice(2), 'canary');

let server: FixtureChild | undefined;
let base = '';
let pid = 0;
const dir = mkdtempSync(join(tmpdir(), 'fraiseql-faults-http-'));
const memSamples: { label: string; rss: number; heap: number }[] = [];

async function mem(label: string): Promise<{ rss: number; heap: number }> {
  const before = server!.events.length;
  server!.send('mem');
  const e = await server!.waitEvent(
    (ev) => ev.ev === 'mem' && server!.events.indexOf(ev) >= before,
    10_000,
    'a memory sample',
  );
  const sample = { label, rss: e.rss as number, heap: e.heap as number };
  memSamples.push(sample);
  return sample;
}

beforeAll(async () => {
  server = new FixtureChild('server.mjs', { PGLITE_DIR: dir, FRAISEQL_API_TOKEN: TOKEN }, undefined, [
    '--expose-gc',
  ]);
  const ready: ChildEvent = await server.ready;
  base = ready.url as string;
  pid = ready.pid as number;
  await mem('start');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function alive(): boolean {
  return server!.alive;
}

/** A path for a route template with every `:param` replaced by `value(name)`. */
function pathOf(url: string, value: (name: string) => string): string {
  return url.replace(/:([A-Za-z]+)/g, (_, name: string) => value(name));
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

interface Outcome {
  what: string;
  status: number;
  body: string;
}

async function send(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Outcome | undefined> {
  const what = `${method} ${path.slice(0, 200)}`;
  let url: string;
  try {
    url = new URL(path, base).toString();
  } catch {
    return undefined; // not even a URL a client could send
  }
  try {
    const res = await fetch(url, {
      method,
      headers: init.headers ?? {},
      ...(init.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: init.body } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    return { what, status: res.status, body: (await res.text()).slice(0, 300) };
  } catch (err) {
    // A request fetch itself refuses to send (invalid header value …) tells nothing about the server.
    if (err instanceof TypeError && !alive()) throw new Error(`the server died during ${what}`);
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}

describe('http abuse', () => {
  it('every route but /health needs the token: 401 without, 403 with a wrong one', async () => {
    const results: string[] = [];
    let checked = 0;
    for (const route of ROUTES) {
      const path = pathOf(route.url, (name) => (name === 'queue' ? 'q1' : name === 'index' ? 'idx1' : 'k1'));
      const none = await send(route.method, path);
      const wrong = await send(route.method, path, { headers: auth(`${TOKEN}x`) });
      const malformed = await send(route.method, path, { headers: { authorization: `Basic ${TOKEN}` } });
      checked++;
      if (route.public) {
        if (none!.status >= 400) results.push(`${route.method} ${route.url} public but ${none!.status}`);
        continue;
      }
      if (none!.status !== 401) results.push(`${route.method} ${route.url} without token: ${none!.status}`);
      if (wrong!.status !== 403) results.push(`${route.method} ${route.url} wrong token: ${wrong!.status}`);
      if (malformed!.status !== 401 && malformed!.status !== 403)
        results.push(`${route.method} ${route.url} Basic auth: ${malformed!.status}`);
    }
    // Paths no route serves are not a way around the token either.
    for (const path of [
      '/',
      '/admin',
      '/cache',
      '/queues',
      '/search',
      '/health/../cache/x',
      '/%2e%2e/cache/k',
    ]) {
      const r = await send('GET', path);
      if (r && r.status !== 401 && r.status !== 404) results.push(`GET ${path} without token: ${r.status}`);
    }
    record(
      'http-abuse',
      'auth',
      {
        routes: checked,
        violations: results.length,
        public: ROUTES.filter((r) => r.public)
          .map((r) => r.url)
          .join(' '),
      },
      `${checked} routes: ${results.length} reachable without the right token (public: ${ROUTES.filter(
        (r) => r.public,
      )
        .map((r) => r.url)
        .join(', ')})`,
    );
    expect(results).toEqual([]);
    expect(checked).toBe(ROUTES.length);
  }, 120_000);

  it('fuzzed and hostile requests never get a 5xx and never crash it', async () => {
    const fiveXX: Outcome[] = [];
    const statuses: Record<string, number> = {};
    let sent = 0;
    const note = (o: Outcome | undefined) => {
      if (!o) return;
      sent++;
      statuses[`${Math.floor(o.status / 100)}xx`] = (statuses[`${Math.floor(o.status / 100)}xx`] ?? 0) + 1;
      if (o.status >= 500) fiveXX.push(o);
    };
    // Seed data, so reads and deletes find something to act on.
    note(
      await send('PUT', '/cache/seed', { headers: { ...auth(), 'content-type': 'text/plain' }, body: 'v' }),
    );
    note(
      await send('PUT', '/search/fuzz/settings', {
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ searchable: ['title'], filterable: ['category'], sortable: ['n'] }),
      }),
    );

    // 1. Every hostile string in every field of every route.
    const json = { ...auth(), 'content-type': 'application/json' };
    for (const s of corpus) {
      const enc = encodeURIComponent(s);
      for (const route of ROUTES) {
        const path = pathOf(route.url, () => enc);
        note(await send(route.method, path, { headers: json, body: JSON.stringify({ data: s, query: s }) }));
      }
      const bodies: unknown[] = [
        { query: s },
        { query: 'x', rawFilter: s },
        { query: '', sort: [s] },
        { query: '', facets: [s] },
        { query: '', highlight: [s] },
        { query: '', filter: { field: s, op: 'eq', value: s } },
        { query: '', filter: { field: 'category', op: s, value: 1 } },
        { query: '', filter: { field: 'category', op: 'in', value: [s, 1, null] } },
        { query: '', filter: { and: [{ or: [{ field: 'category', op: 'eq', value: s }] }] } },
        { query: '', limit: s, offset: s },
      ];
      for (const body of bodies)
        note(await send('POST', '/search/fuzz', { headers: json, body: JSON.stringify(body) }));
      note(
        await send('PUT', '/search/fuzz/documents', {
          headers: json,
          body: JSON.stringify([{ id: s, title: s, category: s }]),
        }),
      );
      note(
        await send('PUT', '/search/fuzz/settings', {
          headers: json,
          body: JSON.stringify({ searchable: [s], filterable: [s] }),
        }),
      );
      note(await send('DELETE', `/cache?pattern=${enc}`, { headers: auth() }));
      note(
        await send('PUT', `/cache/${enc}?ttl_ms=${enc}`, {
          headers: { ...auth(), 'content-type': 'text/plain' },
          body: s,
        }),
      );
      note(await send('POST', `/cache/${enc}/incr`, { headers: json, body: JSON.stringify({ delta: s }) }));
      note(
        await send('POST', '/queues/fuzz/jobs', {
          headers: json,
          body: JSON.stringify({ data: s, dedupKey: s, priority: s }),
        }),
      );
      note(
        await send('GET', `/queues/fuzz/jobs?state=${enc}&limit=${enc}&offset=${enc}`, { headers: auth() }),
      );
    }

    // 2. fast-check: arbitrary methods, paths, queries, headers and bodies.
    const param = fc.oneof(
      fc.constantFrom(...corpus),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ minLength: 900, maxLength: 4000 }),
      fc.constantFrom('', 'seed', 'fuzz', '%', '%zz', '%00', '..', '.'),
    );
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
    const requestArb = fc.record({
      route: fc.constantFrom(...ROUTES),
      method: fc.option(fc.constantFrom(...methods), { freq: 4 }),
      params: fc.array(param, { minLength: 3, maxLength: 3 }),
      rawParams: fc.boolean(),
      query: fc.dictionary(
        fc.constantFrom('ttl_ms', 'pattern', 'state', 'limit', 'offset', 'q', '__proto__', 'ttl_ms[]'),
        fc.oneof(param, fc.integer().map(String), fc.double().map(String)),
        { maxKeys: 3 },
      ),
      contentType: fc.option(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-16',
          'application/octet-stream',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'garbage',
        ),
      ),
      body: fc.option(
        fc.oneof(
          fc.json(),
          fc.anything().map((v) => {
            try {
              return JSON.stringify(v) ?? 'null';
            } catch {
              return '{';
            }
          }),
          fc.uint8Array({ maxLength: 2048 }),
          fc.string({ unit: 'binary', maxLength: 500 }),
          fc
            .record({
              data: fc.anything(),
              query: fc.anything(),
              filter: fc.anything(),
              sort: fc.anything(),
              delta: fc.anything(),
              delayMs: fc.anything(),
              searchable: fc.anything(),
            })
            .map((v) => JSON.stringify(v) ?? '{}'),
        ),
      ),
      token: fc.constantFrom('ok', 'ok', 'ok', 'none', 'wrong'),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        let i = 0;
        const path = pathOf(r.route.url, () => {
          const p = r.params[i++ % 3]!;
          return r.rawParams ? p : encodeURIComponent(p);
        });
        const qs = Object.entries(r.query)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&');
        const headers: Record<string, string> = {};
        if (r.token === 'ok') Object.assign(headers, auth());
        if (r.token === 'wrong') Object.assign(headers, auth('nope'));
        if (r.contentType) headers['content-type'] = r.contentType;
        note(
          await send(r.method ?? r.route.method, qs ? `${path}?${qs}` : path, {
            headers,
            ...(r.body !== null ? { body: r.body } : {}),
          }),
        );
        expect(alive(), 'the server process is alive').toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );

    // 3. Malformed requests on a raw socket: answered with a 4xx or closed, never a 5xx.
    const raws = [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /health\r\n\r\n',
      `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(200_000)}\r\n\r\n`,
      'GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n',
      `PUT /cache/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `PUT /cache/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      `PUT /cache/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: -1\r\n\r\n`,
      `PUT /cache/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 99999999999999999999\r\n\r\n`,
      `POST /search/fuzz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":`,
      `GET /slo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nAuthorization: Bearer other\r\n\r\n`,
      `${'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200)}`,
    ];
    const rawStatuses: string[] = [];
    for (const text of raws) {
      const statusesOf = await rawExchange(text, 5000);
      rawStatuses.push(statusesOf.length ? [...new Set(statusesOf)].join('/') : 'closed');
      for (const st of statusesOf) {
        sent++;
        if (st >= 500)
          fiveXX.push({ what: `raw ${JSON.stringify(text.slice(0, 80))}`, status: st, body: '' });
      }
    }
    expect(alive()).toBe(true);
    const health = await send('GET', '/health');
    const m = await mem('after fuzz');
    record(
      'http-abuse',
      'fuzz',
      {
        requests: sent,
        fastCheckRuns: FUZZ_RUNS,
        hostileStrings: corpus.length,
        statuses: JSON.stringify(statuses),
        rawMalformed: rawStatuses.join(' '),
        fiveXX: fiveXX.length,
        healthAfter: health?.status ?? 0,
        rssMB: round(m.rss / MB, 1),
      },
      `${sent} requests (${corpus.length} hostile strings × every field, ${FUZZ_RUNS} fast-check runs, ${raws.length} malformed raw): ` +
        `${Object.entries(statuses)
          .map(([k, v]) => `${k} ${v}`)
          .join(
            ', ',
          )}; 5xx ${fiveXX.length}; raw → ${rawStatuses.join(' ')}; alive, /health ${health?.status}`,
    );
    expect(fiveXX.slice(0, 10)).toEqual([]);
    expect(health?.status).toBe(200);
  }, 600_000);

  it('huge bodies are refused without holding them, and memory returns to its level', async () => {
    const before = await mem('before huge bodies');
    const outcomes: string[] = [];
    const big = (mb: number) => new Uint8Array(mb * MB).fill(97);
    const cases: [string, string, Record<string, string>, number][] = [
      ['PUT', '/cache/huge', { 'content-type': 'application/octet-stream' }, 64],
      ['POST', '/search/fuzz', { 'content-type': 'application/json' }, 32],
      ['PUT', '/search/fuzz/documents', { 'content-type': 'application/json' }, 48],
      ['POST', '/queues/fuzz/jobs', { 'content-type': 'application/json' }, 32],
      ['PUT', '/cache/huge', { 'content-type': 'text/plain' }, 16],
    ];
    for (const [method, path, headers, mb] of cases) {
      const r = await send(method, path, { headers: { ...auth(), ...headers }, body: big(mb) }).catch(
        (err: Error) => ({ what: path, status: 0, body: err.message }),
      );
      outcomes.push(`${method} ${path} ${mb} MB → ${r?.status ?? 'refused'}`);
      if (r && r.status !== 0) expect(r.status, `${method} ${path}`).toBe(413);
    }
    // A chunked upload that never states its size.
    const chunked = await chunkedUpload('/cache/chunked', 40 * MB);
    outcomes.push(`PUT /cache/chunked 40 MB chunked → ${chunked}`);
    // Many concurrent large bodies at once.
    const parallel = await Promise.all(
      Array.from({ length: 20 }, () =>
        send('PUT', '/cache/p', {
          headers: { ...auth(), 'content-type': 'application/octet-stream' },
          body: big(8),
        })
          .then((r) => r?.status ?? 0)
          .catch(() => 0),
      ),
    );
    outcomes.push(`20 × 8 MB at once → ${[...new Set(parallel)].join('/')}`);
    const after = await mem('after huge bodies');
    expect(alive()).toBe(true);
    record(
      'http-abuse',
      'huge-bodies',
      {
        outcomes: outcomes.join('; '),
        rssBeforeMB: round(before.rss / MB, 1),
        rssAfterMB: round(after.rss / MB, 1),
        heapAfterGcGrowthMB: round((after.heap - before.heap) / MB, 1),
      },
      `${outcomes.join('; ')}; heap after GC ${round(before.heap / MB, 1)}→${round(after.heap / MB, 1)} MB, RSS ${round(
        before.rss / MB,
        0,
      )}→${round(after.rss / MB, 0)} MB`,
    );
    expect(chunked === 413 || chunked === 'closed').toBe(true);
    expect(parallel.every((s) => s === 413 || s === 0)).toBe(true);
    expect(after.heap - before.heap).toBeLessThan(64 * MB);
  }, 180_000);

  it('slow clients and many concurrent connections do not starve or crash it', async () => {
    const seeded = await send('PUT', '/cache/seed', {
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: 'v',
    });
    expect(seeded?.status).toBe(204);
    // 1. Slowloris: sockets that send a header byte now and then, never finishing the request.
    const slow: Socket[] = [];
    const slowCount = 200;
    for (let i = 0; i < slowCount; i++) {
      const s = connect(Number(new URL(base).port), '127.0.0.1');
      s.on('error', () => {});
      s.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      slow.push(s);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('X-a: b\r\n');
    }, 500);
    // Meanwhile normal clients are served.
    const latencies: number[] = [];
    const served: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const r = await send('GET', '/cache/seed', { headers: auth() });
      latencies.push(performance.now() - t0);
      served.push(r?.status ?? 0);
      await sleep(20);
    }
    clearInterval(drip);
    for (const s of slow) s.destroy();

    // 2. Many concurrent connections, each with several keep-alive requests.
    const connections = SOAK ? 2000 : 500;
    const perConnection = 4;
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        for (let k = 0; k < perConnection; k++) {
          const st = await new Promise<number>((resolve) => {
            const req = httpRequest(
              `${base}/cache/${c % 2 === 0 ? 'seed' : `missing-${c}`}`,
              { agent, headers: auth(), timeout: 60_000 },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              },
            );
            req.on('error', () => resolve(0));
            req.on('timeout', () => req.destroy());
            req.end();
          });
          statuses.set(st, (statuses.get(st) ?? 0) + 1);
        }
      }),
    );
    const burstMs = performance.now() - t0;
    agent.destroy();
    const after = await mem('after connections');
    expect(alive()).toBe(true);
    const statusText = [...statuses].map(([s, n]) => `${s}×${n}`).join(' ');
    record(
      'http-abuse',
      'slow-and-many',
      {
        slowClients: slowCount,
        servedDuringSlowloris: served.filter((s) => s === 200).length,
        p99DuringSlowlorisMs: round(quantile(latencies, 0.99)),
        connections,
        requests: connections * perConnection,
        statuses: statusText,
        burstS: round(burstMs / 1000),
        rssAfterMB: round(after.rss / MB, 1),
        pid,
      },
      `${slowCount} slowloris sockets: ${served.filter((s) => s === 200).length}/50 normal requests served ` +
        `(p99 ${round(quantile(latencies, 0.99), 0)} ms); ${connections} concurrent keep-alive connections × ${perConnection} requests: ` +
        `${statusText} in ${round(burstMs / 1000, 1)} s; RSS after ${round(after.rss / MB, 0)} MB`,
    );
    expect(served.every((s) => s === 200)).toBe(true);
    expect([...statuses.keys()].every((s) => s === 200 || s === 404)).toBe(true);
  }, 300_000);
});

/** Writes `text` on a fresh socket; resolves the status codes of the responses (empty when closed without one). */
function rawExchange(text: string, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve) => {
    const s = connect(Number(new URL(base).port), '127.0.0.1');
    let got = '';
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve([...got.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])));
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.on('error', finish);
    s.on('close', finish);
    s.write(text);
  });
}

/** A chunked PUT of `bytes` in 64 KiB chunks; the status, or 'closed' when the server hung up first. */
function chunkedUpload(path: string, bytes: number): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    });
    let settled = false;
    const done = (v: number | 'closed') => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    req.on('response', (res) => {
      res.resume();
      done(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', () => done('closed'));
    const chunk = Buffer.alloc(64 * 1024, 98);
    let sentBytes = 0;
    const pump = () => {
      while (!settled && sentBytes < bytes) {
        sentBytes += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!settled) req.end();
    };
    pump();
  });
}
