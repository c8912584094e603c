import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeTypesenseAliases } from './fake-typesense-aliases';
import { evaluateFilter, parseFilter } from './fake-typesense-filter';
import {
  alterCollection,
  collectionJson,
  commitDetected,
  createCollection,
  type DirtyValues,
  type FakeCollection,
  FakeHttpError,
  prepareDocument,
} from './fake-typesense-schema';
import { type SearchParams, search } from './fake-typesense-search';

/**
 * A protocol double of the Typesense HTTP API (node:http only), built from the API reference
 * and the routes/headers the official `typesense` JS client sends:
 *
 * - `GET /health` (no key) → `{"ok":true}`;
 * - every other route needs `X-TYPESENSE-API-KEY` (header, or the `x-typesense-api-key` query
 *   parameter); a wrong key is 401 `{"message":"Forbidden - a valid `x-typesense-api-key` header must be sent."}`;
 * - collections: `POST/GET /collections`, `GET/PATCH/DELETE /collections/:name`;
 * - documents: `POST /collections/:name/documents/import` (JSONL in, one JSON result per line
 *   out, `action` create/upsert/update/emplace, `dirty_values`), `POST /collections/:name/documents`,
 *   `GET/DELETE /collections/:name/documents/:id`, `DELETE /collections/:name/documents?filter_by=…`
 *   (or `truncate=true`);
 * - search: `GET /collections/:name/documents/search` and `POST /multi_search`;
 * - aliases: `GET /aliases`, `GET/PUT/DELETE /aliases/:name`; every `:name` of a collection route
 *   may be an alias (a real collection of that name wins, as in Typesense).
 *
 * Errors are Typesense's `{"message": …}` bodies with its statuses (400 bad parameters and filters,
 * 404 unknown collection/field/document, 409 existing collection or id, 422 `per_page` > 250).
 * Documents are checked against the schema (type errors are per-document results of an import)
 * and undeclared fields matching `auto`/regex declarations get their type detected.
 */
export interface FakeTypesenseOptions {
  /** The admin API key the double accepts. Default: random. */
  apiKey?: string;
  /** Delay (ms) before answering each request, `/health` included. Default 0. */
  latencyMs?: number;
  /** Port to listen on (127.0.0.1). Default: a free port. */
  port?: number;
  /**
   * Whether `field:!=value` matches documents that lack the field. Default `true`, which is what
   * Typesense does (not-equals is the complement over the whole collection); `false` emulates an
   * engine that only considers documents holding the field.
   */
  notEqualsMatchesMissing?: boolean;
}

export interface FakeTypesenseRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface FakeTypesense {
  /** `http://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  protocol: 'http';
  apiKey: string;
  /** Delay (ms) before each answer; writable while the double runs. */
  latencyMs: number;
  /** Answers the next `n` requests (`/health` included) with `status` and `body` instead of handling them. */
  failNext(n: number, status?: number, body?: unknown): void;
  /** Requests received so far (method, path, query), oldest first. */
  readonly requests: readonly FakeTypesenseRequest[];
  close(): Promise<void>;
}

const FORBIDDEN = 'Forbidden - a valid `x-typesense-api-key` header must be sent.';

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new FakeHttpError(400, 'Bad JSON.');
  }
}

const DIRTY: DirtyValues[] = ['coerce_or_reject', 'coerce_or_drop', 'drop', 'reject'];

export async function startFakeTypesense(opts: FakeTypesenseOptions = {}): Promise<FakeTypesense> {
  const apiKey = opts.apiKey ?? `fake-ts-${randomBytes(12).toString('hex')}`;
  const notEqualsMatchesMissing = opts.notEqualsMatchesMissing ?? true;
  const collections = new Map<string, FakeCollection>();
  const requests: FakeTypesenseRequest[] = [];
  let failures: { left: number; status: number; body: unknown } = { left: 0, status: 503, body: {} };
  const state = { latencyMs: opts.latencyMs ?? 0 };

  const aliases = new FakeTypesenseAliases();
  const collection = (name: string): FakeCollection => {
    const c = collections.get(aliases.resolve(name, (n) => collections.has(n)));
    if (!c) throw new FakeHttpError(404, 'Not Found');
    return c;
  };

  const writeOne = (
    c: FakeCollection,
    raw: unknown,
    action: string,
    dirty: DirtyValues,
  ): Record<string, unknown> => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      return { success: false, error: 'Bad JSON.', code: 400 };
    }
    let doc = raw as Record<string, unknown>;
    if (doc.id !== undefined && typeof doc.id !== 'string') {
      return { success: false, error: "Document's `id` field should be a string.", code: 400 };
    }
    const id = typeof doc.id === 'string' ? doc.id : String(c.nextSeq);
    const existing = c.docs.get(id);
    if (action === 'create' && existing) {
      return { success: false, error: `A document with id ${id} already exists.`, code: 409 };
    }
    if (action === 'update' && !existing) {
      return { success: false, error: `Could not find a document with id: ${id}`, code: 404 };
    }
    if ((action === 'update' || action === 'emplace') && existing) doc = { ...existing.doc, ...doc };
    const prepared = prepareDocument(c, { ...doc, id }, dirty);
    if (!prepared.ok) return { success: false, error: prepared.message, code: 400 };
    commitDetected(c, prepared.detected);
    c.docs.set(id, { seq: existing?.seq ?? c.nextSeq++, doc: prepared.doc });
    return { success: true, id };
  };

  const runSearch = (name: string, params: SearchParams) =>
    search(collection(name), params, { notEqualsMatchesMissing });

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const query = Object.fromEntries(url.searchParams.entries());
    if (method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
    const key = (req.headers['x-typesense-api-key'] as string | undefined) ?? query['x-typesense-api-key'];
    if (key !== apiKey) return send(res, 401, { message: FORBIDDEN });
    const body = await readBody(req);

    if (parts[0] === 'multi_search' && parts.length === 1 && method === 'POST') {
      const payload = parseJson(body) as { searches?: unknown };
      if (!Array.isArray(payload.searches)) throw new FakeHttpError(400, 'Missing `searches` array.');
      const common = { ...query };
      delete common['x-typesense-api-key'];
      const results = payload.searches.map((s) => {
        const { collection: name, ...rest } = (s ?? {}) as Record<string, unknown>;
        const params: SearchParams = { ...common };
        for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== null) params[k] = String(v);
        const target = typeof name === 'string' ? name : common.collection;
        try {
          if (!target) throw new FakeHttpError(400, 'Parameter `collection` is required.');
          return runSearch(target, params);
        } catch (err) {
          if (err instanceof FakeHttpError) return { code: err.status, error: err.message };
          throw err;
        }
      });
      return send(res, 200, { results });
    }

    if (parts[0] === 'aliases') {
      const r = aliases.route(method, parts, () => parseJson(body));
      return send(res, r.status, r.body);
    }
    if (parts[0] !== 'collections') throw new FakeHttpError(404, 'Not Found');
    if (parts.length === 1) {
      if (method === 'GET') return send(res, 200, [...collections.values()].map(collectionJson));
      if (method === 'POST') {
        const c = createCollection(parseJson(body));
        if (collections.has(c.name)) {
          throw new FakeHttpError(409, `A collection with name \`${c.name}\` already exists.`);
        }
        collections.set(c.name, c);
        return send(res, 201, collectionJson(c));
      }
      throw new FakeHttpError(405, 'Method Not Allowed');
    }
    const name = parts[1]!;
    if (parts.length === 2) {
      const c = collection(name);
      if (method === 'GET') return send(res, 200, collectionJson(c));
      if (method === 'PATCH') return send(res, 200, alterCollection(c, parseJson(body)));
      if (method === 'DELETE') {
        // Through an alias, the collection it points to is dropped (the alias stays).
        collections.delete(c.name);
        return send(res, 200, collectionJson(c));
      }
      throw new FakeHttpError(405, 'Method Not Allowed');
    }
    if (parts[2] !== 'documents') throw new FakeHttpError(404, 'Not Found');
    const c = collection(name);
    const dirty = (DIRTY as string[]).includes(query.dirty_values ?? '')
      ? (query.dirty_values as DirtyValues)
      : 'coerce_or_reject';
    if (parts.length === 3) {
      if (method === 'POST') {
        const result = writeOne(c, parseJson(body), query.action ?? 'create', dirty);
        if (!result.success) throw new FakeHttpError(Number(result.code), String(result.error));
        return send(res, 201, c.docs.get(String(result.id))!.doc);
      }
      if (method === 'DELETE') {
        let ids: string[];
        if (query.truncate === 'true') ids = [...c.docs.keys()];
        else if (query.filter_by) {
          const node = parseFilter(c, query.filter_by);
          ids = [...evaluateFilter(c, node, [...c.docs.entries()], { notEqualsMatchesMissing })];
        } else throw new FakeHttpError(400, 'Parameter `filter_by` must be provided.');
        for (const id of ids) c.docs.delete(id);
        return send(res, 200, { num_deleted: ids.length });
      }
      throw new FakeHttpError(405, 'Method Not Allowed');
    }
    if (parts.length === 4 && parts[3] === 'search' && method === 'GET') {
      const params: SearchParams = { ...query };
      delete params['x-typesense-api-key'];
      return send(res, 200, runSearch(name, params));
    }
    if (parts.length === 4 && parts[3] === 'import' && method === 'POST') {
      const action = query.action ?? 'create';
      if (!['create', 'upsert', 'update', 'emplace'].includes(action)) {
        throw new FakeHttpError(
          400,
          'The `action` parameter must be one of create, upsert, update, emplace.',
        );
      }
      const lines = body.split('\n').filter((l) => l.trim() !== '');
      if (lines.length === 0) throw new FakeHttpError(400, 'The request body was empty.');
      const results = lines.map((line) => {
        let raw: unknown;
        try {
          raw = JSON.parse(line);
        } catch {
          return { success: false, error: 'Bad JSON.', document: line, code: 400 };
        }
        const r = writeOne(c, raw, action, dirty);
        const out: Record<string, unknown> = { success: r.success };
        if (!r.success) Object.assign(out, { error: r.error, document: line, code: r.code });
        if (query.return_id === 'true' && r.id !== undefined) out.id = r.id;
        return out;
      });
      const text = results.map((r) => JSON.stringify(r)).join('\n');
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    if (parts.length === 4) {
      const id = parts[3]!;
      const stored = c.docs.get(id);
      if (!stored) throw new FakeHttpError(404, `Could not find a document with id: ${id}`);
      if (method === 'GET') return send(res, 200, stored.doc);
      if (method === 'DELETE') {
        c.docs.delete(id);
        return send(res, 200, stored.doc);
      }
    }
    throw new FakeHttpError(404, 'Not Found');
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
    });
    const handle = async () => {
      if (state.latencyMs > 0) await new Promise((r) => setTimeout(r, state.latencyMs));
      if (failures.left > 0) {
        failures.left--;
        return send(res, failures.status, failures.body);
      }
      await route(req, res, url);
    };
    handle().catch((err: unknown) => {
      if (err instanceof FakeHttpError) send(res, err.status, { message: err.message });
      else send(res, 500, { message: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    apiKey,
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(ms: number) {
      state.latencyMs = ms;
    },
    failNext(n: number, status = 503, body: unknown = { message: 'Not Ready or Lagging' }) {
      failures = { left: n, status, body };
    },
    get requests() {
      return requests;
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
