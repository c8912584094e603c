import * as admin from './admin';
import { bulk, deleteDoc, getDoc, indexDoc } from './documents';
import { badRequest, EsError } from './errors';
import { matchAll, search } from './search';
import type { EsStore } from './store';

type Dsl = Record<string, unknown>;
export type Reply = admin.Reply;

export interface RouteRequest {
  method: string;
  parts: string[];
  params: Record<string, string>;
  /** Parsed JSON body (undefined for `_bulk`, which reads `text`). */
  body: Dsl | undefined;
  text: string;
  started: number;
}

const CLUSTER = { name: 'fake-node', cluster_name: 'fraiseql-fake', cluster_uuid: 'fakeclusteruuid00000000' };
export const FAKE_VERSION = '9.1.0';

const noRoute = (method: string, path: string): EsError =>
  new EsError(
    405,
    'illegal_argument_exception',
    `Incorrect HTTP method for uri [${path}] and method [${method}]`,
  );

/** Dispatches one request to the API it names (see index.ts for the list). */
export function route(store: EsStore, r: RouteRequest): Reply {
  const { method, parts, params, body } = r;
  const [a, b, c] = parts;
  const path = `/${parts.join('/')}`;
  const is = (...m: string[]) => m.includes(method);

  if (parts.length === 0) {
    if (is('HEAD')) return { status: 200 };
    if (is('GET'))
      return {
        status: 200,
        body: {
          ...CLUSTER,
          version: {
            number: FAKE_VERSION,
            build_flavor: 'default',
            lucene_version: '10.2.1',
            minimum_wire_compatibility_version: '8.19.0',
            minimum_index_compatibility_version: '8.0.0',
          },
          tagline: 'You Know, for Search',
        },
      };
  }
  if (a === '_cluster' && b === 'health' && is('GET'))
    return {
      status: 200,
      body: {
        cluster_name: CLUSTER.cluster_name,
        status: 'green',
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
        active_primary_shards: store.indices.size,
        active_shards: store.indices.size,
        relocating_shards: 0,
        initializing_shards: 0,
        unassigned_shards: 0,
      },
    };
  if (a === '_index_template') {
    if (is('PUT', 'POST') && b) return admin.putTemplate(store, b, body, params);
    if (is('GET')) return admin.getTemplates(store, b);
    if (is('HEAD') && b) return { status: store.templates.has(b) ? 200 : 404 };
    if (is('DELETE') && b) return admin.deleteTemplate(store, b);
  }
  if (a === '_ilm' && b === 'policy') {
    if (is('PUT') && c) return admin.putPolicy(store, c, body);
    if (is('GET')) return admin.getPolicies(store, c);
    if (is('DELETE') && c) return admin.deletePolicy(store, c);
  }
  if (a === '_aliases' && parts.length === 1 && is('POST')) return admin.updateAliases(store, body);
  if (a === '_alias' || a === '_aliases') {
    if (is('GET')) return admin.getAliases(store, undefined, b);
    if (is('HEAD')) return { status: admin.getAliases(store, undefined, b).status };
  }
  if (a === '_bulk' && is('POST', 'PUT'))
    return { status: 200, body: bulk(store, undefined, r.text, params, r.started) };
  if ((a === '_search' || a === '_count') && is('GET', 'POST')) return searchLike(store, undefined, a, r);
  if (a === '_refresh' && is('GET', 'POST')) return admin.refresh(store, undefined);
  if (a === '_mapping' && is('GET')) return admin.getMapping(store, undefined);
  // `PUT /_x` names no API: it is an index creation, refused by the name rules.
  if (a !== undefined && parts.length === 1 && is('PUT')) return admin.createIndex(store, a, body);
  if (a === undefined || a.startsWith('_')) throw noRoute(method, path);

  // /{index}/…
  const index = a;
  if (parts.length === 1) {
    if (is('PUT')) return admin.createIndex(store, index, body);
    if (is('HEAD')) {
      try {
        return { status: store.resolve(index).length > 0 || index.includes('*') ? 200 : 404 };
      } catch {
        return { status: 404 };
      }
    }
    if (is('GET')) return admin.getIndex(store, index);
    if (is('DELETE')) return admin.deleteIndex(store, index);
  }
  switch (b) {
    case '_doc':
      if (c === undefined && is('POST')) return indexDoc(store, index, undefined, body, params, 'index');
      if (c !== undefined) {
        if (is('PUT', 'POST')) return indexDoc(store, index, c, body, params, 'index');
        if (is('GET')) return getDoc(store, index, c);
        if (is('HEAD')) return { status: getDoc(store, index, c).status };
        if (is('DELETE')) return deleteDoc(store, index, c, params);
      }
      break;
    case '_create':
      if (c !== undefined && is('PUT', 'POST')) return indexDoc(store, index, c, body, params, 'create');
      break;
    case '_bulk':
      if (is('POST', 'PUT')) return { status: 200, body: bulk(store, index, r.text, params, r.started) };
      break;
    case '_search':
    case '_count':
      if (is('GET', 'POST')) return searchLike(store, index, b, r);
      break;
    case '_delete_by_query':
      if (is('POST')) return deleteByQuery(store, index, r);
      break;
    case '_refresh':
      if (is('GET', 'POST')) return admin.refresh(store, index);
      break;
    case '_mapping':
      if (is('GET')) return admin.getMapping(store, index);
      if (is('PUT', 'POST')) return admin.putMapping(store, index, body);
      break;
    case '_alias':
    case '_aliases':
      if (is('GET')) return admin.getAliases(store, index, c);
      if (is('HEAD')) return { status: admin.getAliases(store, index, c).status };
      if (is('PUT', 'POST') && c) return admin.putAlias(store, index, c, body);
      if (is('DELETE') && c) return admin.deleteAlias(store, index, c);
      break;
    case '_settings':
      if (is('GET')) {
        const got = admin.getIndex(store, index).body as Dsl;
        return {
          status: 200,
          body: Object.fromEntries(
            Object.entries(got).map(([k, v]) => [k, { settings: (v as Dsl).settings }]),
          ),
        };
      }
      break;
  }
  throw noRoute(method, path);
}

function searchLike(store: EsStore, index: string | undefined, api: string, r: RouteRequest): Reply {
  const list = store.resolve(index);
  const body = r.body ?? {};
  if (api === '_count') {
    const n = matchAll(list, body.query).length;
    return {
      status: 200,
      body: { count: n, _shards: { total: list.length, successful: list.length, skipped: 0, failed: 0 } },
    };
  }
  if (r.params.q !== undefined && body.query === undefined)
    body.query = {
      query_string: {
        query: r.params.q,
        ...(r.params.default_operator ? { default_operator: r.params.default_operator } : {}),
      },
    };
  return { status: 200, body: search(list, body, r.params, r.started) };
}

function deleteByQuery(store: EsStore, index: string, r: RouteRequest): Reply {
  const list = store.resolve(index);
  if (!r.body || r.body.query === undefined)
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: query is missing;');
  const matches = matchAll(list, r.body.query);
  let deleted = 0;
  for (const m of matches) if (store.remove(m.idx, m.id)) deleted++;
  if (r.params.refresh === 'true' || r.params.refresh === '') store.refresh(list);
  else if (r.params.refresh === 'wait_for')
    throw badRequest('Failed to parse value [wait_for] as only [true] or [false] are allowed.');
  return {
    status: 200,
    body: {
      took: Date.now() - r.started,
      timed_out: false,
      total: matches.length,
      deleted,
      batches: matches.length > 0 ? 1 : 0,
      version_conflicts: 0,
      noops: 0,
      retries: { bulk: 0, search: 0 },
      throttled_millis: 0,
      requests_per_second: -1,
      throttled_until_millis: 0,
      failures: [],
    },
  };
}
