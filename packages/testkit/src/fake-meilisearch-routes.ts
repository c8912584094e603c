import { FakeIndex } from './fake-meilisearch-engine';
import { badRequest, describeJson, MeiliError } from './fake-meilisearch-errors';
import { applySettings, validateSettingsPatch } from './fake-meilisearch-settings';
import type { MeiliStore } from './fake-meilisearch-store';
import { swapIndexes } from './fake-meilisearch-swap';

/**
 * HTTP routing of the Meilisearch protocol double (every route but `/health`, which needs no auth):
 * `/version`, `/tasks`, `/indexes` and what is under it, answered from the store and the task queue.
 */

const INDEX_UID = /^[A-Za-z0-9_-]{1,400}$/;

function checkIndexUid(uid: string): void {
  if (!INDEX_UID.test(uid)) {
    throw badRequest(
      'invalid_index_uid',
      `\`${uid}\` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 400 bytes.`,
    );
  }
}

export type Reply = { status: number; body?: unknown };

/** Answers one authenticated request; throws a `MeiliError` for an engine error. */
export function createMeiliRouter(
  store: MeiliStore,
): (method: string, parts: string[], query: Record<string, string>, body: unknown) => Reply {
  const { indexes, getIndex, addDocuments, deleteDocuments } = store;
  const { enqueue, tasks, queue } = store.taskQueue;

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
    if (root === 'swap-indexes' && parts.length === 1) {
      return method === 'POST' ? accepted(swapIndexes(store, body)) : { status: 405 };
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
  return route;
}
