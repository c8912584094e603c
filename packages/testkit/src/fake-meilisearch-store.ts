import { FakeIndex } from './fake-meilisearch-engine';
import { badRequest, describeJson, MeiliError } from './fake-meilisearch-errors';
import type { MeiliTaskQueue, TaskSummary } from './fake-meilisearch-tasks';

/**
 * Index and document storage of the Meilisearch protocol double: the indexes by uid, and the
 * document writes (additions with primary key inference and a whole-batch validation, deletions),
 * each applied as a task.
 */

const DOC_ID = /^[A-Za-z0-9_-]+$/;

export const notFoundIndex = (uid: string): MeiliError =>
  new MeiliError(404, 'index_not_found', `Index \`${uid}\` not found.`);

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

export interface MeiliStore {
  readonly indexes: Map<string, FakeIndex>;
  readonly taskQueue: MeiliTaskQueue;
  /** The index, or a 404 `index_not_found`. */
  getIndex(uid: string): FakeIndex;
  /** POST (update, `replace` false) or PUT (replace) `/indexes/:uid/documents`. */
  addDocuments(uid: string, body: unknown, query: Record<string, string>, replace: boolean): TaskSummary;
  deleteDocuments(uid: string, ids: string[] | 'all'): TaskSummary;
}

export function createMeiliStore(taskQueue: MeiliTaskQueue): MeiliStore {
  const indexes = new Map<string, FakeIndex>();
  const { enqueue } = taskQueue;

  const getIndex = (uid: string): FakeIndex => {
    const index = indexes.get(uid);
    if (!index) throw notFoundIndex(uid);
    return index;
  };
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
  return { indexes, taskQueue, getIndex, addDocuments, deleteDocuments };
}
