import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  AlgoliaHttpError,
  type AlgoliaRecord,
  DEFAULT_RANKING,
  type FakeAlgoliaIndex,
  runSearch,
  validateSettings,
} from './fake-algolia-engine';

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

interface Task {
  id: number;
  index: string;
  publishAt: number;
  apply: () => void;
}

interface Failure {
  remaining: number;
  status: number;
  body: unknown;
  match?: (req: FakeAlgoliaRequest) => boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => new Date().toISOString();

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
  const indexes = new Map<string, FakeAlgoliaIndex>();
  const tasks: Task[] = [];
  const failures: Failure[] = [];
  const log: FakeAlgoliaRequest[] = [];
  let nextTaskId = 1000;
  let lastPublishAt = 0;

  const state = {
    latencyMs: opts.latencyMs ?? 0,
    taskDelayMs: opts.taskDelayMs ?? 0,
  };

  /** Applies every task whose time has come, in order. */
  const processTasks = () => {
    const t = Date.now();
    while (tasks.length > 0 && tasks[0]!.publishAt <= t) tasks.shift()!.apply();
  };

  const enqueue = (index: string, apply: () => void): number => {
    const id = nextTaskId++;
    // Tasks publish in order even when taskDelayMs shrinks between two writes.
    const publishAt = Math.max(Date.now() + state.taskDelayMs, lastPublishAt);
    lastPublishAt = publishAt;
    tasks.push({ id, index, publishAt, apply });
    return id;
  };

  const getOrCreate = (name: string): FakeAlgoliaIndex => {
    let idx = indexes.get(name);
    if (!idx) {
      idx = { name, settings: {}, records: new Map(), createdAt: now(), updatedAt: now() };
      indexes.set(name, idx);
    }
    return idx;
  };

  const mustExist = (name: string): FakeAlgoliaIndex => {
    const idx = indexes.get(name);
    if (!idx) throw new AlgoliaHttpError(404, 'Index does not exist');
    return idx;
  };

  const assertWritable = (name: string) => {
    const idx = indexes.get(name);
    if (idx?.primary) {
      throw new AlgoliaHttpError(400, `Cannot write to a replica index; write to its primary ${idx.primary}`);
    }
  };

  /** Detaches a replica: it keeps a copy of the records and becomes a regular index. */
  const detach = (replica: FakeAlgoliaIndex) => {
    replica.records = new Map([...replica.records].map(([k, v]) => [k, structuredClone(v)]));
    delete replica.primary;
  };

  const applySettings = (name: string, body: Record<string, unknown>) => {
    const idx = getOrCreate(name);
    if ('replicas' in body) {
      const wanted = ((body.replicas as string[] | null) ?? []).map((r) =>
        r.replace(/^virtual\((.*)\)$/, '$1'),
      );
      const before = (idx.settings.replicas as string[] | undefined) ?? [];
      for (const old of before) {
        if (!wanted.includes(old)) {
          const r = indexes.get(old);
          if (r && r.primary === name) detach(r);
        }
      }
      for (const r of wanted) {
        if (before.includes(r) && indexes.get(r)?.primary === name) continue;
        const replica = getOrCreate(r);
        // A new standard replica starts with a copy of the primary's settings and mirrors its records.
        const { replicas: _ignored, userData: _userData, ...inherited } = idx.settings;
        replica.settings = structuredClone({ ...inherited, ...replica.settings });
        delete replica.settings.replicas;
        replica.primary = name;
        replica.records = idx.records;
        replica.updatedAt = now();
      }
    }
    for (const [k, v] of Object.entries(body)) {
      if (v === null) delete idx.settings[k];
      else idx.settings[k] = structuredClone(v);
    }
    idx.updatedAt = now();
  };

  const saveRecord = (idx: FakeAlgoliaIndex, record: AlgoliaRecord) => {
    idx.records.set(record.objectID, record);
    idx.updatedAt = now();
  };

  const batch = (name: string, body: unknown): { taskID: number; objectIDs: string[] } => {
    const requests = (body as { requests?: unknown })?.requests;
    if (!Array.isArray(requests))
      throw new AlgoliaHttpError(400, 'Invalid batch: "requests" must be an array');
    assertWritable(name);
    const ops: (() => void)[] = [];
    const objectIDs: string[] = [];
    requests.forEach((r, position) => {
      const { action, body: recordBody } = (r ?? {}) as { action?: unknown; body?: unknown };
      const isObject = recordBody && typeof recordBody === 'object' && !Array.isArray(recordBody);
      if (action === 'clear' || action === 'delete') {
        ops.push(() => {
          const idx = indexes.get(name);
          if (!idx) return;
          if (action === 'clear') idx.records.clear();
          else indexes.delete(name);
        });
        return;
      }
      if (!isObject)
        throw new AlgoliaHttpError(
          400,
          `Invalid batch request at position ${position}: body must be an object`,
        );
      const rec = recordBody as Record<string, unknown>;
      let objectID = rec.objectID;
      if (objectID !== undefined && typeof objectID !== 'string' && typeof objectID !== 'number') {
        throw new AlgoliaHttpError(400, `objectID must be a string at position ${position}`);
      }
      if (objectID === undefined || objectID === '') {
        if (action !== 'addObject') {
          throw new AlgoliaHttpError(
            400,
            `Missing objectID for action ${String(action)} at position ${position}`,
          );
        }
        objectID = randomBytes(8).toString('hex');
      }
      const id = String(objectID);
      objectIDs.push(id);
      switch (action) {
        case 'addObject':
        case 'updateObject':
          ops.push(() => saveRecord(getOrCreate(name), { ...structuredClone(rec), objectID: id }));
          break;
        case 'partialUpdateObject':
        case 'partialUpdateObjectNoCreate':
          ops.push(() => {
            const idx = getOrCreate(name);
            const existing = idx.records.get(id);
            if (!existing && action === 'partialUpdateObjectNoCreate') return;
            saveRecord(idx, { ...(existing ?? {}), ...structuredClone(rec), objectID: id });
          });
          break;
        case 'deleteObject':
          ops.push(() => indexes.get(name)?.records.delete(id));
          break;
        default:
          throw new AlgoliaHttpError(400, `Invalid action ${JSON.stringify(action)} at position ${position}`);
      }
    });
    const taskID = enqueue(name, () => {
      for (const op of ops) op();
    });
    return { taskID, objectIDs };
  };

  const searchOne = (name: string, params: Record<string, unknown>) => {
    const idx = mustExist(name);
    return runSearch(idx, params);
  };

  const settingsOf = (idx: FakeAlgoliaIndex) => {
    const out: Record<string, unknown> = {
      minWordSizefor1Typo: 4,
      minWordSizefor2Typos: 8,
      hitsPerPage: 20,
      maxValuesPerFacet: 100,
      paginationLimitedTo: 1000,
      searchableAttributes: null,
      attributesForFaceting: null,
      unretrievableAttributes: null,
      ranking: DEFAULT_RANKING,
      customRanking: null,
      highlightPreTag: '<em>',
      highlightPostTag: '</em>',
      queryType: 'prefixLast',
      typoTolerance: true,
      ...structuredClone(idx.settings),
    };
    if (idx.primary) out.primary = idx.primary;
    return out;
  };

  const route = async (method: string, path: string, body: unknown, url: URL): Promise<[number, unknown]> => {
    if (path === '/1/isalive' && method === 'GET') return [200, { message: 'server is alive' }];
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== '1' || parts[1] !== 'indexes') throw new AlgoliaHttpError(404, 'Not Found');
    const [, , index, sub, extra] = parts;

    if (index === undefined) {
      if (method !== 'GET') throw new AlgoliaHttpError(404, 'Not Found');
      const items = [...indexes.values()].map((i) => ({
        name: i.name,
        createdAt: i.createdAt,
        updatedAt: i.updatedAt,
        entries: i.records.size,
        dataSize: 0,
        fileSize: 0,
        lastBuildTimeS: 0,
        numberOfPendingTasks: tasks.filter((t) => t.index === i.name).length,
        pendingTask: tasks.some((t) => t.index === i.name),
        ...(i.primary ? { primary: i.primary } : {}),
        ...(i.settings.replicas ? { replicas: i.settings.replicas } : {}),
      }));
      const hitsPerPage = Number(url.searchParams.get('hitsPerPage') ?? 100);
      const page = Number(url.searchParams.get('page') ?? 0);
      return [
        200,
        {
          items: items.slice(page * hitsPerPage, (page + 1) * hitsPerPage),
          nbPages: Math.ceil(items.length / hitsPerPage),
        },
      ];
    }

    if (index === '*' && sub === 'queries' && method === 'POST') {
      const requests = (body as { requests?: unknown })?.requests;
      if (!Array.isArray(requests))
        throw new AlgoliaHttpError(400, 'Invalid multi-query: "requests" must be an array');
      const results = requests.map((r) => {
        const { indexName, params, type, ...rest } = (r ?? {}) as Record<string, unknown>;
        if (typeof indexName !== 'string')
          throw new AlgoliaHttpError(400, 'Missing indexName in multi-query');
        if (type !== undefined && type !== 'default')
          throw new AlgoliaHttpError(400, `Unsupported query type ${String(type)}`);
        const merged: Record<string, unknown> = { ...rest };
        if (typeof params === 'string') {
          for (const [k, v] of new URLSearchParams(params)) {
            try {
              merged[k] = JSON.parse(v);
            } catch {
              merged[k] = v;
            }
          }
        }
        for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
        return { ...searchOne(indexName, merged), index: indexName };
      });
      return [200, { results }];
    }

    if (sub === undefined) {
      if (method === 'DELETE') {
        const idx = indexes.get(index);
        if (idx) assertWritable(index);
        const taskID = enqueue(index, () => {
          const target = indexes.get(index);
          if (!target) return;
          for (const r of (target.settings.replicas as string[] | undefined) ?? []) {
            const replica = indexes.get(r);
            if (replica?.primary === index) detach(replica);
          }
          indexes.delete(index);
        });
        return [200, { taskID, deletedAt: now() }];
      }
      throw new AlgoliaHttpError(404, 'Not Found');
    }

    if (sub === 'query' && method === 'POST') {
      return [200, searchOne(index, (body as Record<string, unknown>) ?? {})];
    }
    if (sub === 'batch' && method === 'POST') return [200, batch(index, body)];
    if (sub === 'settings') {
      if (method === 'GET') return [200, settingsOf(mustExist(index))];
      if (method === 'PUT') {
        const settings = validateSettings(body);
        const idx = indexes.get(index);
        if (idx?.primary && 'replicas' in settings) {
          throw new AlgoliaHttpError(400, 'A replica index cannot have replicas');
        }
        for (const r of (settings.replicas as string[] | null | undefined) ?? []) {
          if (r === index) throw new AlgoliaHttpError(400, 'An index cannot be its own replica');
          const other = indexes.get(r.replace(/^virtual\((.*)\)$/, '$1'));
          if (other?.primary && other.primary !== index) {
            throw new AlgoliaHttpError(400, `Index ${r} is already a replica of ${other.primary}`);
          }
        }
        const taskID = enqueue(index, () => applySettings(index, settings));
        return [200, { taskID, updatedAt: now() }];
      }
    }
    if (sub === 'clear' && method === 'POST') {
      mustExist(index);
      assertWritable(index);
      const taskID = enqueue(index, () => indexes.get(index)?.records.clear());
      return [200, { taskID, updatedAt: now() }];
    }
    if (sub === 'task' && method === 'GET' && extra !== undefined) {
      const id = Number(extra);
      if (!Number.isInteger(id) || id < 1000 || id >= nextTaskId)
        throw new AlgoliaHttpError(404, 'Task does not exist');
      const pending = tasks.some((t) => t.id === id);
      return [200, { status: pending ? 'notPublished' : 'published', pendingTask: pending }];
    }
    if (
      extra === undefined &&
      sub !== undefined &&
      !['query', 'batch', 'settings', 'clear', 'task'].includes(sub)
    ) {
      const objectID = sub;
      if (method === 'GET') {
        const rec = mustExist(index).records.get(objectID);
        if (!rec) throw new AlgoliaHttpError(404, 'ObjectID does not exist');
        return [200, structuredClone(rec)];
      }
      if (method === 'DELETE') {
        assertWritable(index);
        const taskID = enqueue(index, () => indexes.get(index)?.records.delete(objectID));
        return [200, { taskID, deletedAt: now() }];
      }
      if (method === 'PUT') {
        if (!body || typeof body !== 'object' || Array.isArray(body))
          throw new AlgoliaHttpError(400, 'Record must be an object');
        assertWritable(index);
        const rec = { ...structuredClone(body as Record<string, unknown>), objectID };
        const taskID = enqueue(index, () => saveRecord(getOrCreate(index), rec));
        return [200, { taskID, objectID, updatedAt: now() }];
      }
    }
    throw new AlgoliaHttpError(404, 'Not Found');
  };

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
