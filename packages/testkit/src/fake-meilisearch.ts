import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { badRequest, MeiliError, type MeiliErrorBody } from './fake-meilisearch-errors';
import { createMeiliRouter } from './fake-meilisearch-routes';
import { createMeiliStore } from './fake-meilisearch-store';
import { createMeiliTaskQueue } from './fake-meilisearch-tasks';

export type { MeiliErrorBody } from './fake-meilisearch-errors';

/**
 * A protocol double of the Meilisearch HTTP API (v1.x), on `node:http` only, for testing code that
 * talks to Meilisearch through the official `meilisearch` client without running the engine.
 *
 * What it implements — the routes the official client uses for indexing and searching:
 * `GET /health` (no auth), `GET /version`, `GET|POST /indexes`, `GET|PATCH|DELETE /indexes/:uid`,
 * `GET|PATCH|DELETE /indexes/:uid/settings`, `GET|POST|PUT|DELETE /indexes/:uid/documents`,
 * `POST /indexes/:uid/documents/delete-batch`, `GET|DELETE /indexes/:uid/documents/:id`,
 * `POST /indexes/:uid/search`, `GET /indexes/:uid/stats`, `GET /tasks`, `GET /tasks/:uid`.
 *
 * How it behaves like the engine:
 * - every route but `/health` needs `Authorization: Bearer <apiKey>`: none is 401
 *   `missing_authorization_header`, a wrong one 403 `invalid_api_key`;
 * - errors are `{ message, code, type, link }` with the engine's codes and statuses
 *   (`index_not_found` 404, `invalid_search_filter` 400, `invalid_document_id` in a failed task…);
 * - writes answer 202 with a summarized task and are applied later, one task at a time:
 *   `enqueued` → `processing` → `succeeded`/`failed`, observable through `GET /tasks/:uid`; a
 *   document batch with one invalid document fails as a whole;
 * - filters are parsed with the engine's grammar and semantics (`fake-meilisearch-filter.ts`);
 * - search: typo-free words, prefix matching of the last word, `matchingStrategy`, ranking by
 *   matched words, the `sort` ranking rule's position, `offset/limit` (`estimatedTotalHits`) and
 *   `page/hitsPerPage` (`totalHits`) modes capped by `pagination.maxTotalHits`, `facetDistribution`
 *   and `facetStats`, `_formatted` with the given highlight tags, `_rankingScore`.
 *
 * Not implemented: typo tolerance, synonyms, stop words, phrase search, cropping, geo search,
 * vector/hybrid search, API key management, dumps, swaps, multi-search.
 */
export interface FakeMeilisearchOptions {
  /** The master key clients must send. Default: a random key per server. */
  apiKey?: string;
  /** Delay before every response, health included. Default 0. */
  latencyMs?: number;
  /** How long each task stays enqueued + processing before it is applied. Default 0 (next tick). */
  taskDelayMs?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 0 (a free port). */
  port?: number;
}

export interface FakeMeilisearchRequest {
  method: string;
  /** Path without the query string, e.g. `/indexes/products/search`. */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
}

export interface FakeMeilisearch {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly apiKey: string;
  /** Delay before every response; writable at any time. */
  latencyMs: number;
  /** Time each task spends enqueued + processing; writable at any time. */
  taskDelayMs: number;
  /**
   * The next `n` requests (any route) answer `status` with `body` instead of being handled.
   * Defaults: 500 and the engine's `internal` error body.
   */
  failNext(n: number, status?: number, body?: unknown): void;
  /** The next `n` tasks to be processed fail with `error` (default: an `internal` error). */
  failNextTasks(n: number, error?: Partial<MeiliErrorBody>): void;
  /** Requests received so far (the latest 1000), oldest first. */
  readonly requests: readonly FakeMeilisearchRequest[];
  /** Stops the server, drops open connections and pending tasks. Idempotent. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** Starts a Meilisearch protocol double on a free port. */
export async function startFakeMeilisearch(opts: FakeMeilisearchOptions = {}): Promise<FakeMeilisearch> {
  const apiKey = opts.apiKey ?? `fake-meili-${randomBytes(12).toString('hex')}`;
  const requests: FakeMeilisearchRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let failRequests: { left: number; status: number; body: unknown } | undefined;

  const state = {
    latencyMs: opts.latencyMs ?? 0,
    taskDelayMs: opts.taskDelayMs ?? 0,
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return;
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const taskQueue = createMeiliTaskQueue({
    sleep,
    get closed() {
      return closed;
    },
    get taskDelayMs() {
      return state.taskDelayMs;
    },
  });
  const route = createMeiliRouter(createMeiliStore(taskQueue));

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          reject(
            new MeiliError(
              413,
              'payload_too_large',
              'The provided payload reached the size limit. The maximum accepted payload size is 100 MiB.',
            ),
          );
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    if (res.destroyed || res.headersSent) return;
    if (body === undefined) {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
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
    const query = Object.fromEntries(url.searchParams);
    const record: FakeMeilisearchRequest = { method, path: url.pathname, query };
    requests.push(record);
    if (requests.length > 1000) requests.shift();
    try {
      const text = await readBody(req);
      if (state.latencyMs > 0) await sleep(state.latencyMs);
      if (closed) return;
      if (failRequests && failRequests.left > 0) {
        failRequests.left--;
        send(res, failRequests.status, failRequests.body);
        return;
      }
      if (parts.length === 1 && parts[0] === 'health' && method === 'GET') {
        send(res, 200, { status: 'available' });
        return;
      }
      const auth = req.headers.authorization;
      if (auth === undefined) {
        throw new MeiliError(
          401,
          'missing_authorization_header',
          'The Authorization header is missing. It must use the bearer authorization method.',
          'auth',
        );
      }
      if (auth !== `Bearer ${apiKey}`)
        throw new MeiliError(403, 'invalid_api_key', 'The provided API key is invalid.', 'auth');
      let body: unknown;
      if (text.length > 0 && method !== 'GET') {
        const type = req.headers['content-type'];
        if (!type) {
          throw new MeiliError(
            415,
            'missing_content_type',
            'A Content-Type header is missing. Accepted values for the Content-Type header are: `application/json`',
          );
        }
        if (!/^application\/json\b/i.test(type)) {
          throw new MeiliError(
            415,
            'invalid_content_type',
            `The Content-Type \`${type}\` is invalid. Accepted values for the Content-Type header are: \`application/json\``,
          );
        }
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw badRequest(
            'malformed_payload',
            `The json payload provided is malformed. \`${(err as Error).message}\`.`,
          );
        }
        record.body = body;
      }
      const reply = route(method, parts, query, body);
      send(res, reply.status, reply.body);
    } catch (err) {
      if (err instanceof MeiliError) send(res, err.status, err.toBody());
      else
        send(
          res,
          500,
          new MeiliError(
            500,
            'internal',
            `An internal error has occurred. \`${String(err)}\`.`,
            'internal',
          ).toBody(),
        );
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

  const fake: FakeMeilisearch = {
    url: `http://${host}:${address.port}`,
    apiKey,
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(ms: number) {
      state.latencyMs = ms;
    },
    get taskDelayMs() {
      return state.taskDelayMs;
    },
    set taskDelayMs(ms: number) {
      state.taskDelayMs = ms;
    },
    failNext(n, status = 500, body) {
      failRequests = {
        left: n,
        status,
        body:
          body === undefined
            ? new MeiliError(
                500,
                'internal',
                'An internal error has occurred. `Injected by the fake`.',
                'internal',
              ).toBody()
            : body,
      };
    },
    failNextTasks(n, error = {}) {
      taskQueue.failTasks = {
        left: n,
        error: {
          message: error.message ?? 'An internal error has occurred. `Injected by the fake`.',
          code: error.code ?? 'internal',
          type: error.type ?? 'internal',
          link: error.link ?? `https://docs.meilisearch.com/errors#${error.code ?? 'internal'}`,
        },
      };
    },
    requests,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      taskQueue.queue.length = 0;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
