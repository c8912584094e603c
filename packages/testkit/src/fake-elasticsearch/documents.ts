import { randomBytes } from 'node:crypto';
import { badRequest, EsError, indexNotFound } from './errors';
import type { EsIndex, EsStore } from './store';

/**
 * Single-document APIs and `_bulk` of the double (index, create, get, delete, update with `doc` /
 * `doc_as_upsert`), with `refresh` (`true`, `wait_for`, `false`), `op_type=create`, auto-created
 * indices (templates applied), per-item errors in bulk responses.
 */
type Dsl = Record<string, unknown>;

const SHARDS = { total: 2, successful: 1, failed: 0 };

export const autoId = (): string => randomBytes(15).toString('base64url');

export function writeResult(idx: EsIndex, id: string, version: number, seqNo: number, result: string): Dsl {
  return {
    _index: idx.name,
    _id: id,
    _version: version,
    result,
    _shards: SHARDS,
    _seq_no: seqNo,
    _primary_term: 1,
  };
}

export function refreshAfter(
  store: EsStore,
  params: Record<string, string>,
  touched: Iterable<EsIndex>,
): boolean {
  const r = params.refresh;
  if (r === undefined || r === 'false') return false;
  store.refresh(touched);
  return r !== 'wait_for';
}

export function indexDoc(
  store: EsStore,
  index: string,
  id: string | undefined,
  body: unknown,
  params: Record<string, string>,
  opType: 'index' | 'create',
): { status: number; body: Dsl } {
  const idx = store.writeTarget(index);
  const docId = id ?? autoId();
  const { created, doc } = store.put(idx, docId, body, params.op_type === 'create' ? 'create' : opType);
  const forced = refreshAfter(store, params, [idx]);
  const res = writeResult(idx, docId, doc.version, doc.seqNo, created ? 'created' : 'updated');
  if (forced) res.forced_refresh = true;
  return { status: created ? 201 : 200, body: res };
}

export function getDoc(store: EsStore, index: string, id: string): { status: number; body: Dsl } {
  const [idx] = store.resolve(index);
  if (!idx) throw indexNotFound(index);
  const doc = idx.docs.get(id);
  if (!doc) return { status: 404, body: { _index: idx.name, _id: id, found: false } };
  return {
    status: 200,
    body: {
      _index: idx.name,
      _id: id,
      _version: doc.version,
      _seq_no: doc.seqNo,
      _primary_term: 1,
      found: true,
      _source: doc.source,
    },
  };
}

export function deleteDoc(
  store: EsStore,
  index: string,
  id: string,
  params: Record<string, string>,
): { status: number; body: Dsl } {
  const idx = store.indices.get(index) ?? store.resolve(index)[0];
  if (!idx) throw indexNotFound(index);
  const old = store.remove(idx, id);
  refreshAfter(store, params, [idx]);
  const res = writeResult(idx, id, (old?.version ?? 0) + 1, idx.seqNo, old ? 'deleted' : 'not_found');
  return { status: old ? 200 : 404, body: res };
}

function parseNdjson(text: string): unknown[] {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  return lines.map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (err) {
      throw new EsError(
        400,
        'x_content_parse_exception',
        `[${i + 1}:1] Malformed bulk line: ${(err as Error).message}`,
      );
    }
  });
}

export function bulk(
  store: EsStore,
  defaultIndex: string | undefined,
  text: string,
  params: Record<string, string>,
  started: number,
): Dsl {
  const lines = parseNdjson(text);
  const items: Dsl[] = [];
  const touched = new Set<EsIndex>();
  let errors = false;
  for (let i = 0; i < lines.length; i++) {
    const action = lines[i] as Dsl;
    const [op, metaRaw] = Object.entries(action ?? {})[0] ?? [];
    if (!op || !['index', 'create', 'delete', 'update'].includes(op))
      throw badRequest(
        `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update] but found [${op}]`,
      );
    const meta = (metaRaw ?? {}) as Dsl;
    const index = (meta._index as string | undefined) ?? defaultIndex;
    const id = meta._id === undefined ? undefined : String(meta._id);
    let source: unknown;
    if (op !== 'delete') {
      i++;
      if (i >= lines.length) throw badRequest('The bulk request must be terminated by a newline [\\n]');
      source = lines[i];
    }
    try {
      if (!index)
        throw new EsError(
          400,
          'action_request_validation_exception',
          'Validation Failed: 1: index is missing;',
        );
      if (op === 'delete') {
        if (id === undefined)
          throw new EsError(
            400,
            'action_request_validation_exception',
            'Validation Failed: 1: id is missing;',
          );
        const idx = store.indices.get(index) ?? store.resolve(index)[0];
        if (!idx) throw indexNotFound(index);
        const old = store.remove(idx, id);
        touched.add(idx);
        items.push({
          delete: {
            ...writeResult(idx, id, (old?.version ?? 0) + 1, idx.seqNo, old ? 'deleted' : 'not_found'),
            status: old ? 200 : 404,
          },
        });
        continue;
      }
      const idx = store.writeTarget(index);
      touched.add(idx);
      if (op === 'update') {
        if (id === undefined)
          throw new EsError(
            400,
            'action_request_validation_exception',
            'Validation Failed: 1: id is missing;',
          );
        const u = (source ?? {}) as Dsl;
        const old = idx.docs.get(id);
        if (!old && u.doc_as_upsert !== true && u.upsert === undefined)
          throw new EsError(404, 'document_missing_exception', `[${id}]: document missing`, {
            index_uuid: idx.uuid,
            shard: '0',
            index: idx.name,
          });
        const merged = old
          ? { ...old.source, ...((u.doc as Dsl) ?? {}) }
          : ((u.upsert as Dsl) ?? (u.doc as Dsl));
        const { created, doc } = store.put(idx, id, merged, 'index');
        items.push({
          update: {
            ...writeResult(idx, id, doc.version, doc.seqNo, created ? 'created' : 'updated'),
            status: created ? 201 : 200,
          },
        });
        continue;
      }
      const docId = id ?? autoId();
      const { created, doc } = store.put(idx, docId, source, op === 'create' ? 'create' : 'index');
      items.push({
        [op]: {
          ...writeResult(idx, docId, doc.version, doc.seqNo, created ? 'created' : 'updated'),
          status: created ? 201 : 200,
        },
      });
    } catch (err) {
      if (!(err instanceof EsError)) throw err;
      errors = true;
      items.push({
        [op]: { _index: index ?? null, _id: id ?? null, status: err.status, error: err.errorObject() },
      });
    }
  }
  refreshAfter(store, params, touched);
  return { errors, took: Date.now() - started, items };
}
