import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  applySettings,
  badRequest,
  describeJson,
  FakeIndex,
  MeiliError,
  type MeiliErrorBody,
  validateSettingsPatch,
} from './fake-meilisearch-engine';

export type { MeiliErrorBody } from './fake-meilisearch-engine';

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

type TaskStatus = 'enqueued' | 'processing' | 'succeeded' | 'failed' | 'canceled';

interface Task {
  uid: number;
  batchUid: number | null;
  indexUid: string | null;
  status: TaskStatus;
  type: string;
  canceledBy: null;
  details: Record<string, unknown>;
  error: MeiliErrorBody | null;
  duration: string | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface QueuedTask {
  task: Task;
  /** Applies the write; throws a MeiliError to fail the task. Returns details to merge. */
  apply: () => Record<string, unknown> | undefined;
}

const INDEX_UID = /^[A-Za-z0-9_-]{1,400}$/;
const DOC_ID = /^[A-Za-z0-9_-]+$/;
const MAX_BODY_BYTES = 100 * 1024 * 1024;

const notFoundIndex = (uid: string): MeiliError =>
  new MeiliError(404, 'index_not_found', `Index \`${uid}\` not found.`);

function checkIndexUid(uid: string): void {
  if (!INDEX_UID.test(uid)) {
    throw badRequest(
      'invalid_index_uid',
      `\`${uid}\` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 400 bytes.`,
    );
  }
}

function isoDuration(ms: number): string {
  return `PT${(ms / 1000).toFixed(6)}S`;
}

/** Meilisearch's document id rule: an integer, or 1-511 bytes of `[A-Za-z0-9_-]`. */
function documentId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && DOC_ID.test(value) && Buffer.byteLength(value) <= 511) return value;
  return undefined;
}

function checkGeo(doc: Record<string, unknown>, id: string): void {
  if (!Object.hasOwn(doc, '_geo') || doc._geo === null) return;
  const geo = doc._geo;
  const shown = JSON.stringify(id);
  if (typeof geo !== 'object' || Array.isArray(geo)) {
    throw badRequest(
      'invalid_document_geo_field',
      `The \`_geo\` field in the document with the id: \`${shown}\` is not an object. Was expecting an object with the \`_geo.lat\` and \`_geo.lng\` fields but instead got \`${JSON.stringify(geo)}\`.`,
    );
  }
  for (const key of ['lat', 'lng'] as const) {
    const v = (geo as Record<string, unknown>)[key];
    const ok = typeof v === 'number' || (typeof v === 'string' && Number.isFinite(Number(v)));
    if (!ok) {
      throw badRequest(
        'invalid_document_geo_field',
        `Could not find ${key === 'lat' ? 'latitude' : 'longitude'} in the document with the id: \`${shown}\`. Was expecting a \`_geo.${key}\` field.`,
      );
    }
  }
}

/** Starts a Meilisearch protocol double on a free port. */
export async function startFakeMeilisearch(opts: FakeMeilisearchOptions = {}): Promise<FakeMeilisearch> {
  const apiKey = opts.apiKey ?? `fake-meili-${randomBytes(12).toString('hex')}`;
  const indexes = new Map<string, FakeIndex>();
  const tasks = new Map<number, Task>();
  const queue: QueuedTask[] = [];
  const requests: FakeMeilisearchRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let nextTaskUid = 0;
  let nextBatchUid = 0;
  let processing = false;
  let closed = false;
  let failRequests: { left: number; status: number; body: unknown } | undefined;
  let failTasks: { left: number; error: MeiliErrorBody } | undefined;

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

  // ---- tasks -------------------------------------------------------------------------------

  const enqueue = (
    indexUid: string | null,
    type: string,
    details: Record<string, unknown>,
    apply: QueuedTask['apply'],
  ) => {
    const task: Task = {
      uid: nextTaskUid++,
      batchUid: null,
      indexUid,
      status: 'enqueued',
      type,
      canceledBy: null,
      details,
      error: null,
      duration: null,
      enqueuedAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    tasks.set(task.uid, task);
    queue.push({ task, apply });
    void pump();
    return { taskUid: task.uid, indexUid, status: task.status, type, enqueuedAt: task.enqueuedAt };
  };

  // One task at a time, in uid order, like the engine's scheduler.
  const pump = async (): Promise<void> => {
    if (processing || closed) return;
    processing = true;
    try {
      while (queue.length > 0 && !closed) {
        const { task, apply } = queue[0]!;
        await sleep(Math.max(0, state.taskDelayMs / 2));
        if (closed) return;
        task.status = 'processing';
        task.batchUid = nextBatchUid++;
        task.startedAt = new Date().toISOString();
        const started = performance.now();
        await sleep(Math.max(0, state.taskDelayMs / 2));
        if (closed) return;
        queue.shift();
        try {
          if (failTasks && failTasks.left > 0) {
            failTasks.left--;
            const e = failTasks.error;
            throw new MeiliError(500, e.code, e.message, e.type as MeiliError['type']);
          }
          const extra = apply();
          if (extra) Object.assign(task.details, extra);
          task.status = 'succeeded';
        } catch (err) {
          task.status = 'failed';
          task.error =
            err instanceof MeiliError
              ? err.toBody()
              : new MeiliError(
                  500,
                  'internal',
                  `An internal error has occurred. \`${String(err)}\`.`,
                  'internal',
                ).toBody();
          if ('receivedDocuments' in task.details) task.details.indexedDocuments = 0;
          if ('providedIds' in task.details) task.details.deletedDocuments = 0;
        }
        task.finishedAt = new Date().toISOString();
        task.duration = isoDuration(performance.now() - started);
      }
    } finally {
      processing = false;
    }
  };

  const getIndex = (uid: string): FakeIndex => {
    const index = indexes.get(uid);
    if (!index) throw notFoundIndex(uid);
    return index;
  };

  // ---- documents ---------------------------------------------------------------------------

  const addDocuments = (uid: string, body: unknown, query: Record<string, string>, replace: boolean) => {
    const docs = Array.isArray(body) ? body : [body];
    docs.forEach((d, i) => {
      if (d === null || typeof d !== 'object' || Array.isArray(d)) {
        throw badRequest(
          'malformed_payload',
          `The \`json\` payload provided is malformed. \`Couldn't serialize document value: invalid type: ${describeJson(d)} at document ${i}, expected a map\`.`,
        );
      }
    });
    const wantedPk = query.primaryKey;
    return enqueue(
      uid,
      'documentAdditionOrUpdate',
      { receivedDocuments: docs.length, indexedDocuments: null },
      () => {
        const existing = indexes.get(uid);
        const index = existing ?? new FakeIndex(uid);
        let pk = index.primaryKey;
        if (pk && wantedPk && wantedPk !== pk) {
          throw badRequest(
            'index_primary_key_already_exists',
            `Index \`${uid}\`: Index already has a primary key: \`${pk}\`.`,
          );
        }
        if (!pk) pk = wantedPk ?? null;
        if (!pk) {
          const candidates = [
            ...new Set(docs.flatMap((d) => Object.keys(d as object).filter((k) => /id$/i.test(k)))),
          ];
          if (candidates.length === 0) {
            throw badRequest(
              'index_primary_key_no_candidate_found',
              'The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.',
            );
          }
          if (candidates.length > 1) {
            throw badRequest(
              'index_primary_key_multiple_candidates_found',
              `The primary key inference failed as the engine found ${candidates.length} fields ending with \`id\` in their names: '${candidates.join("' and '")}'. Please specify the primary key manually using the \`primaryKey\` query parameter.`,
            );
          }
          pk = candidates[0]!;
        }
        // The whole batch is validated before anything is written: one bad document fails the task.
        const prepared: [string, Record<string, unknown>][] = [];
        for (const d of docs as Record<string, unknown>[]) {
          if (!Object.hasOwn(d, pk)) {
            throw badRequest(
              'missing_document_id',
              `Document doesn't have a \`${pk}\` attribute: \`${JSON.stringify(d)}\`.`,
            );
          }
          const id = documentId(d[pk]);
          if (id === undefined) {
            throw badRequest(
              'invalid_document_id',
              `Document identifier \`${JSON.stringify(d[pk])}\` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes.`,
            );
          }
          checkGeo(d, id);
          prepared.push([id, structuredClone(d)]);
        }
        if (!existing) indexes.set(uid, index);
        index.primaryKey = pk;
        for (const [id, d] of prepared) {
          const old = index.docs.get(id);
          index.docs.set(id, !replace && old ? { ...old, ...d } : d);
        }
        index.touch();
        return { indexedDocuments: prepared.length };
      },
    );
  };

  const deleteDocuments = (uid: string, ids: string[] | 'all') =>
    enqueue(
      uid,
      'documentDeletion',
      ids === 'all'
        ? { providedIds: 0, deletedDocuments: null, originalFilter: null }
        : { providedIds: ids.length, deletedDocuments: null, originalFilter: null },
      () => {
        const index = getIndex(uid);
        let deleted = 0;
        if (ids === 'all') {
          deleted = index.docs.size;
          index.docs.clear();
        } else {
          for (const id of ids) if (index.docs.delete(id)) deleted++;
        }
        index.touch();
        return { deletedDocuments: deleted };
      },
    );

  // ---- routing -----------------------------------------------------------------------------

  type Reply = { status: number; body?: unknown };

  const route = (method: string, parts: string[], query: Record<string, string>, body: unknown): Reply => {
    const [root, uid, sub, subId, extra] = parts;
    const ok = (b: unknown, status = 200): Reply => ({ status, body: b });
    const accepted = (b: unknown): Reply => ({ status: 202, body: b });

    if (root === 'version' && parts.length === 1 && method === 'GET') {
      return ok({ commitSha: 'fake', commitDate: '2025-06-09T00:00:00Z', pkgVersion: '1.15.0' });
    }
    if (root === 'tasks') {
      if (parts.length === 1 && method === 'GET') {
        const limit = query.limit ? Number(query.limit) : 20;
        const from = query.from ? Number(query.from) : undefined;
        const uids = query.uids?.split(',').map(Number);
        const statuses = query.statuses?.split(',');
        const types = query.types?.split(',');
        const indexUids = query.indexUids?.split(',');
        const all = [...tasks.values()]
          .filter(
            (t) =>
              (!uids || uids.includes(t.uid)) &&
              (!statuses || statuses.includes(t.status)) &&
              (!types || types.includes(t.type)) &&
              (!indexUids || (t.indexUid !== null && indexUids.includes(t.indexUid))),
          )
          .sort((a, b) => b.uid - a.uid);
        const start = from === undefined ? all : all.filter((t) => t.uid <= from);
        const results = start.slice(0, limit);
        const next = start[limit]?.uid ?? null;
        return ok({ results, total: all.length, limit, from: results[0]?.uid ?? null, next });
      }
      if (parts.length === 2 && method === 'GET') {
        const t = /^\d+$/.test(uid!) ? tasks.get(Number(uid)) : undefined;
        if (!t) throw new MeiliError(404, 'task_not_found', `Task \`${uid}\` not found.`);
        return ok(t);
      }
    }
    if (root !== 'indexes') return { status: 404 };

    if (parts.length === 1) {
      if (method === 'GET') {
        const offset = Number(query.offset ?? 0);
        const limit = Number(query.limit ?? 20);
        const all = [...indexes.values()].sort((a, b) => (a.uid < b.uid ? -1 : 1)).map((i) => i.info());
        return ok({ results: all.slice(offset, offset + limit), offset, limit, total: all.length });
      }
      if (method === 'POST') {
        const b = (body ?? {}) as Record<string, unknown>;
        if (typeof b.uid !== 'string') throw badRequest('missing_index_uid', 'Missing field `uid`');
        checkIndexUid(b.uid);
        const newUid = b.uid;
        const pk = typeof b.primaryKey === 'string' ? b.primaryKey : null;
        return accepted(
          enqueue(newUid, 'indexCreation', { primaryKey: pk }, () => {
            if (indexes.has(newUid)) {
              throw new MeiliError(409, 'index_already_exists', `Index \`${newUid}\` already exists.`);
            }
            const index = new FakeIndex(newUid);
            index.primaryKey = pk;
            indexes.set(newUid, index);
            return undefined;
          }),
        );
      }
      return { status: 405 };
    }

    checkIndexUid(uid!);
    const indexUid = uid!;

    if (parts.length === 2) {
      if (method === 'GET') return ok(getIndex(indexUid).info());
      if (method === 'DELETE') {
        return accepted(
          enqueue(indexUid, 'indexDeletion', { deletedDocuments: null }, () => {
            const index = getIndex(indexUid);
            indexes.delete(indexUid);
            return { deletedDocuments: index.docs.size };
          }),
        );
      }
      if (method === 'PATCH') {
        const pk = (body as Record<string, unknown> | null)?.primaryKey;
        return accepted(
          enqueue(indexUid, 'indexUpdate', { primaryKey: pk ?? null }, () => {
            const index = getIndex(indexUid);
            if (typeof pk === 'string') {
              if (index.docs.size > 0 && index.primaryKey !== pk) {
                throw badRequest(
                  'index_primary_key_already_exists',
                  `Index \`${indexUid}\`: Index already has a primary key: \`${index.primaryKey}\`.`,
                );
              }
              index.primaryKey = pk;
            }
            index.touch();
            return undefined;
          }),
        );
      }
      return { status: 405 };
    }

    if (sub === 'search' && parts.length === 3) {
      if (method !== 'POST') return { status: 405 };
      return ok(getIndex(indexUid).search(body ?? {}));
    }

    if (sub === 'stats' && parts.length === 3 && method === 'GET') {
      const index = getIndex(indexUid);
      const fieldDistribution: Record<string, number> = {};
      for (const d of index.docs.values())
        for (const k of Object.keys(d)) fieldDistribution[k] = (fieldDistribution[k] ?? 0) + 1;
      return ok({
        numberOfDocuments: index.docs.size,
        isIndexing: queue.some((q) => q.task.indexUid === indexUid),
        fieldDistribution,
      });
    }

    if (sub === 'settings' && parts.length === 3) {
      if (method === 'GET') return ok(getIndex(indexUid).settings);
      if (method === 'PATCH') {
        const patch = validateSettingsPatch(body);
        return accepted(
          enqueue(indexUid, 'settingsUpdate', structuredClone(patch), () => {
            // A settings update creates the index when it does not exist, as in the engine.
            let index = indexes.get(indexUid);
            if (!index) {
              index = new FakeIndex(indexUid);
              indexes.set(indexUid, index);
            }
            index.settings = applySettings(index.settings, patch);
            index.touch();
            return undefined;
          }),
        );
      }
      if (method === 'DELETE') {
        return accepted(
          enqueue(indexUid, 'settingsUpdate', {}, () => {
            const index = getIndex(indexUid);
            index.settings = applySettings(
              index.settings,
              Object.fromEntries(Object.keys(index.settings).map((k) => [k, null])),
            );
            index.touch();
            return undefined;
          }),
        );
      }
      return { status: 405 };
    }

    if (sub === 'documents') {
      if (parts.length === 3) {
        if (method === 'GET') {
          const index = getIndex(indexUid);
          const offset = Number(query.offset ?? 0);
          const limit = Number(query.limit ?? 20);
          const all = [...index.docs.values()];
          return ok({ results: all.slice(offset, offset + limit), offset, limit, total: all.length });
        }
        if (method === 'POST' || method === 'PUT')
          return accepted(addDocuments(indexUid, body, query, method === 'POST'));
        if (method === 'DELETE') return accepted(deleteDocuments(indexUid, 'all'));
        return { status: 405 };
      }
      if (parts.length === 4 && subId === 'delete-batch' && method === 'POST') {
        if (!Array.isArray(body))
          throw badRequest(
            'bad_request',
            `Invalid value type: expected an array, but found ${describeJson(body)}`,
          );
        return accepted(deleteDocuments(indexUid, body.map(String)));
      }
      if (parts.length === 4 && extra === undefined) {
        const id = subId!;
        if (method === 'GET') {
          const doc = getIndex(indexUid).docs.get(id);
          if (!doc) throw new MeiliError(404, 'document_not_found', `Document \`${id}\` not found.`);
          return ok(doc);
        }
        if (method === 'DELETE') return accepted(deleteDocuments(indexUid, [id]));
        return { status: 405 };
      }
    }
    return { status: 404 };
  };

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
      failTasks = {
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
      queue.length = 0;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
