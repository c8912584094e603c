import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { AlgoliaHttpError } from './fake-algolia-errors';
import { createAlgoliaRouter } from './fake-algolia-routes';
import { createAlgoliaStore } from './fake-algolia-store';
import { createAlgoliaTaskQueue } from './fake-algolia-tasks';

export {
  type AlgoliaFilterAtom,
  AlgoliaFilterSyntaxError,
  matchesAlgoliaFilter,
  type ParsedAlgoliaFilter,
  parseAlgoliaFilters,
} from './fake-algolia-filters';

/**
 * A protocol double of the Algolia Search REST API (v1) on `node:http`, for testing providers
 * built on the official `algoliasearch` v5 client without an Algolia account. It implements the
 * routes that client uses for search, indexing and settings, from Algolia's API reference and
 * the client's source:
 *
 * - `POST /1/indexes/{index}/query`, `POST /1/indexes/*\/queries` (multi-query, `params` string or
 *   flattened parameters), `GET /1/indexes` (list);
 * - `POST /1/indexes/{index}/batch` (`addObject`, `updateObject`, `partialUpdateObject`,
 *   `partialUpdateObjectNoCreate`, `deleteObject`, `delete`, `clear`),
 *   `GET|PUT|DELETE /1/indexes/{index}/{objectID}`, `POST /1/indexes/{index}/clear`,
 *   `DELETE /1/indexes/{index}`;
 * - `GET|PUT /1/indexes/{index}/settings` (partial update; standard replicas created from the
 *   primary's `replicas` and kept in sync with its records, `ranking` honoured per replica,
 *   replicas read-only), `GET /1/indexes/{index}/task/{taskID}`, `GET /1/isalive`.
 *
 * Behaviour a provider relies on and that the double reproduces faithfully:
 * - authentication by `x-algolia-application-id` + `x-algolia-api-key` (headers or query
 *   parameters); anything else is `403 {"message":"Invalid Application-ID or API key","status":403}`;
 * - errors are Algolia's body `{"message": "…", "status": N}`: 404 `Index does not exist` for a
 *   search, settings read or clear on a missing index, 400 for an invalid filter (a real parser of
 *   Algolia's `filters` syntax, see fake-algolia-filters.ts), unknown parameters and settings;
 * - writes are asynchronous: each returns a `taskID`, the change is applied (and visible to
 *   searches) only once the task is published, `taskDelayMs` after the request, in order;
 *   `GET …/task/{id}` says `notPublished` until then;
 * - records are stored as sent (plus `objectID`); searches follow the index settings.
 *
 * Where the documentation is silent the double picks the conservative reading: deleting a missing
 * record or index succeeds (with a task), a batch on a missing index creates it, `!=` is the
 * complement of `=`.
 *
 * Knobs: `latencyMs` (delay before every response), `taskDelayMs` (how long a task stays
 * `notPublished`), `failNext(n, status, body?, match?)` (the next `n` authenticated requests,
 * optionally only those `match` accepts, answer `status` with `body`).
 */

export interface FakeAlgoliaOptions {
  /** Application id the double accepts. Default: a random `FAKE…` id. */
  appId?: string;
  /** API key the double accepts. Default: a random key. */
  apiKey?: string;
  /** Delay before every response, in ms. Default 0. */
  latencyMs?: number;
  /** How long a write task stays `notPublished` (and its change invisible), in ms. Default 0. */
  taskDelayMs?: number;
}

export interface FakeAlgoliaRequest {
  method: string;
  path: string;
  body?: unknown;
}

export interface FakeAlgolia {
  /** Base URL, e.g. `http://127.0.0.1:43123` (pass it as a host to the client). */
  readonly url: string;
  readonly appId: string;
  readonly apiKey: string;
  /** Delay before every response, in ms (writable). */
  latencyMs: number;
  /** How long a write task stays `notPublished`, in ms (writable). */
  taskDelayMs: number;
  /**
   * The next `n` authenticated requests (only those `match` accepts, when given) answer `status`
   * with `body` (default Algolia's `{"message", "status"}` body).
   */
  failNext(n: number, status: number, body?: unknown, match?: (req: FakeAlgoliaRequest) => boolean): void;
  /** Requests received so far (authenticated or not), oldest first. */
  requests(): FakeAlgoliaRequest[];
  /** Names of the indexes that exist (primaries and replicas). */
  indexNames(): string[];
  /** Stops the server and drops every connection. Idempotent. */
  close(): Promise<void>;
}

interface Failure {
  remaining: number;
  status: number;
  body: unknown;
  match?: (req: FakeAlgoliaRequest) => boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let buf = Buffer.concat(chunks);
  if (buf.length === 0) return undefined;
  if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new AlgoliaHttpError(400, 'Invalid JSON');
  }
}

/** Starts an Algolia protocol double on 127.0.0.1 (a random port). */
export async function startFakeAlgolia(opts: FakeAlgoliaOptions = {}): Promise<FakeAlgolia> {
  const appId = opts.appId ?? `FAKE${randomBytes(4).toString('hex').toUpperCase()}`;
  const apiKey = opts.apiKey ?? `fake-admin-${randomBytes(12).toString('hex')}`;
  const failures: Failure[] = [];
  const log: FakeAlgoliaRequest[] = [];

  const state = {
    latencyMs: opts.latencyMs ?? 0,
    taskDelayMs: opts.taskDelayMs ?? 0,
  };
  const taskQueue = createAlgoliaTaskQueue(() => state.taskDelayMs);
  const { processTasks } = taskQueue;
  const store = createAlgoliaStore(taskQueue.enqueue);
  const { indexes } = store;
  const route = createAlgoliaRouter(store, taskQueue);

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      let body: unknown;
      try {
        body = await readBody(req);
      } catch (err) {
        if (state.latencyMs > 0) await sleep(state.latencyMs);
        const e = err as AlgoliaHttpError;
        send(res, e.status ?? 400, { message: e.message, status: e.status ?? 400 });
        return;
      }
      const entry: FakeAlgoliaRequest = {
        method,
        path: url.pathname,
        ...(body === undefined ? {} : { body }),
      };
      log.push(entry);
      if (log.length > 5000) log.shift();
      if (state.latencyMs > 0) await sleep(state.latencyMs);

      const header = (name: string) => {
        const h = req.headers[name];
        return (Array.isArray(h) ? h[0] : h) ?? url.searchParams.get(name) ?? undefined;
      };
      if (header('x-algolia-application-id') !== appId || header('x-algolia-api-key') !== apiKey) {
        send(res, 403, { message: 'Invalid Application-ID or API key', status: 403 });
        return;
      }
      const failure = failures.find((f) => f.remaining > 0 && (!f.match || f.match(entry)));
      if (failure) {
        failure.remaining--;
        send(
          res,
          failure.status,
          failure.body ?? { message: `Injected failure (HTTP ${failure.status})`, status: failure.status },
        );
        return;
      }
      processTasks();
      const [status, payload] = await route(method, url.pathname, body, url);
      send(res, status, payload);
    } catch (err) {
      if (err instanceof AlgoliaHttpError) {
        send(res, err.status, { message: err.message, status: err.status });
      } else {
        send(res, 500, { message: `Internal error: ${(err as Error).message}`, status: 500 });
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    appId,
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
    failNext(n, status, body, match) {
      failures.push({ remaining: n, status, body, ...(match ? { match } : {}) });
    },
    requests: () => [...log],
    indexNames: () => {
      processTasks();
      return [...indexes.keys()];
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
