import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EsError } from './errors';
import { route } from './routes';
import { createStore } from './store';

/**
 * A protocol double of the Elasticsearch REST API (8.x/9.x), on `node:http` only, proven with the
 * official `@elastic/elasticsearch` client (which refuses a server that does not answer
 * `X-Elastic-Product: Elasticsearch`).
 *
 * Endpoints: `GET|HEAD /`, `GET /_cluster/health`; indices `PUT|HEAD|GET|DELETE /{index}`,
 * `GET|PUT /{index}/_mapping`, `GET /{index}/_settings`, `POST /{index}/_refresh`; documents
 * `PUT|POST /{index}/_doc/{id}`, `POST /{index}/_doc`, `PUT /{index}/_create/{id}`,
 * `GET|HEAD|DELETE /{index}/_doc/{id}`, `POST [/{index}]/_bulk` (ndjson; index, create, delete,
 * update); search `GET|POST [/{index}]/_search`, `[/{index}]/_count`,
 * `POST /{index}/_delete_by_query`; templates `PUT|GET|HEAD|DELETE /_index_template/{name}`; ILM
 * `PUT|GET|DELETE /_ilm/policy/{name}`; aliases `POST /_aliases`, `GET|HEAD /_alias[/{name}]`,
 * `GET /{index}/_alias[/{name}]`, `PUT|DELETE /{index}/_alias/{name}`. Index expressions take
 * comma lists, `*` patterns and aliases. Query DSL, sort, aggregations and highlighting: see
 * query.ts and search.ts; mappings: mapping.ts.
 *
 * Behaviour kept from the engine: `Authorization: ApiKey <base64(id:key)>` (or Basic, when
 * `basicAuth` is set) on every route, 401 `security_exception` otherwise; error bodies
 * `{ error: { root_cause, type, reason, … }, status }`; near-real-time search (a write is
 * searchable after a refresh: `refresh=true|wait_for`, `_refresh`, or every `refreshIntervalMs`);
 * dynamic mapping and `document_parsing_exception` per bulk item; index name rules
 * (`invalid_index_name_exception`); `max_result_window` 10 000; `track_total_hits` 10 000 by default.
 *
 * Not implemented: scoring identical to Lucene (BM25 is approximated), analyzers other than
 * `standard`, phrase positions, nested/geo/vector fields, scripts, scroll/PIT, data streams, ILM
 * execution (policies are stored, never run), security APIs, snapshots, cluster APIs.
 */
export interface FakeElasticsearchOptions {
  /** The encoded API key (`base64(id:key)`) clients must send. Default: a random key per server. */
  apiKey?: string;
  /** Also accept HTTP Basic auth with these credentials. Default: API key only. */
  basicAuth?: { username: string; password: string };
  /** Delay before every response. Default 0. */
  latencyMs?: number;
  /** Periodic refresh (`index.refresh_interval`), in ms. Default 1000. */
  refreshIntervalMs?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 0 (a free port). */
  port?: number;
}

export interface FakeElasticsearchRequest {
  method: string;
  /** Path without the query string, e.g. `/products/_search`. */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body, or the raw text of an ndjson body (`_bulk`). */
  body?: unknown;
}

export interface FakeElasticsearch {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The encoded API key: pass it as `auth: { apiKey }` to the client. */
  readonly apiKey: string;
  /** Delay before every response; writable at any time. */
  latencyMs: number;
  /**
   * The next `n` requests (any route) answer `status` with `body` instead of being handled.
   * Defaults: 500 and an `internal_server_error` body.
   */
  failNext(n: number, status?: number, body?: unknown): void;
  /** Requests received so far (the latest 1000), oldest first. */
  readonly requests: readonly FakeElasticsearchRequest[];
  /** Names of the existing indices (for assertions). */
  indexNames(): string[];
  /** Stops the server, drops open connections and timers. Idempotent. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** Starts an Elasticsearch protocol double on a free port. */
export async function startFakeElasticsearch(
  opts: FakeElasticsearchOptions = {},
): Promise<FakeElasticsearch> {
  const apiKey =
    opts.apiKey ??
    Buffer.from(`fake${randomBytes(6).toString('hex')}:${randomBytes(16).toString('hex')}`).toString(
      'base64',
    );
  const basic = opts.basicAuth
    ? `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}`
    : undefined;
  const store = createStore();
  const requests: FakeElasticsearchRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let latencyMs = opts.latencyMs ?? 0;
  let failRequests: { left: number; status: number; body: unknown } | undefined;

  const refresher = setInterval(
    () => store.refresh([...store.indices.values()].filter((i) => i.dirty)),
    opts.refreshIntervalMs ?? 1000,
  );
  refresher.unref();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          reject(new EsError(413, 'content_too_long_exception', 'request content length is too long'));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    product = true,
  ): void => {
    if (res.destroyed || res.headersSent) return;
    const accept = String(req.headers.accept ?? '');
    const compat = /compatible-with=(\d+)/.exec(accept)?.[1];
    const headers: Record<string, string | number> = {
      'content-type': compat
        ? `application/vnd.elasticsearch+json;compatible-with=${compat}`
        : 'application/json',
    };
    if (product) headers['x-elastic-product'] = 'Elasticsearch';
    if (status === 401) headers['www-authenticate'] = 'ApiKey, Basic realm="security", charset="UTF-8"';
    const text = body === undefined || req.method === 'HEAD' ? '' : JSON.stringify(body);
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(status, headers);
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const parts = url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      });
    const params = Object.fromEntries(url.searchParams);
    const record: FakeElasticsearchRequest = { method, path: url.pathname, query: params };
    requests.push(record);
    if (requests.length > 1000) requests.shift();
    try {
      const text = await readBody(req);
      if (latencyMs > 0) await sleep(latencyMs);
      if (closed) return;
      if (failRequests && failRequests.left > 0) {
        failRequests.left--;
        send(req, res, failRequests.status, failRequests.body);
        return;
      }
      const auth = req.headers.authorization;
      if (auth === undefined) {
        throw new EsError(
          401,
          'security_exception',
          `missing authentication credentials for REST request [${url.pathname}${url.search}]`,
          { header: { 'WWW-Authenticate': ['ApiKey', 'Basic realm="security", charset="UTF-8"'] } },
        );
      }
      if (auth !== `ApiKey ${apiKey}` && auth !== basic) {
        throw new EsError(
          401,
          'security_exception',
          'unable to authenticate with provided credentials and anonymous access is not allowed for this request',
          { header: { 'WWW-Authenticate': ['ApiKey', 'Basic realm="security", charset="UTF-8"'] } },
        );
      }
      const isBulk = parts.at(-1) === '_bulk';
      let body: Record<string, unknown> | undefined;
      if (text.trim().length > 0 && !isBulk) {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new EsError(
            400,
            'x_content_parse_exception',
            `[1:1] Unexpected character: ${(err as Error).message}`,
          );
        }
        record.body = body;
      } else if (isBulk) record.body = text;
      const reply = route(store, { method, parts, params, body, text, started });
      send(req, res, reply.status, reply.body);
    } catch (err) {
      if (err instanceof EsError) send(req, res, err.status, err.toBody(), err.status !== 401);
      else send(req, res, 500, new EsError(500, 'exception', `fake elasticsearch: ${String(err)}`).toBody());
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    apiKey,
    get latencyMs() {
      return latencyMs;
    },
    set latencyMs(ms: number) {
      latencyMs = ms;
    },
    failNext(n, status = 500, body) {
      failRequests = {
        left: n,
        status,
        body: body ?? new EsError(status, 'internal_server_error', 'Injected by the fake').toBody(),
      };
    },
    requests,
    indexNames: () => [...store.indices.keys()].sort(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(refresher);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
