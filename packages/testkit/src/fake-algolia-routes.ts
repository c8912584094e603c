import { runSearch } from './fake-algolia-engine';
import { AlgoliaHttpError } from './fake-algolia-errors';
import { operationIndex } from './fake-algolia-operation';
import { settingsOf, validateSettings } from './fake-algolia-settings';
import { type AlgoliaStore, now } from './fake-algolia-store';
import type { AlgoliaTaskQueue } from './fake-algolia-tasks';

/**
 * HTTP routing of the Algolia protocol double, for authenticated requests: `/1/isalive`,
 * `/1/indexes` (list), multi-query, search, batch, settings, clear, tasks, operation (move/copy)
 * and single records.
 * Answers `[status, body]` or throws an `AlgoliaHttpError`.
 */
export function createAlgoliaRouter(
  store: AlgoliaStore,
  taskQueue: AlgoliaTaskQueue,
): (method: string, path: string, body: unknown, url: URL) => Promise<[number, unknown]> {
  const { indexes, getOrCreate, mustExist, assertWritable, detach, applySettings, saveRecord, batch } = store;
  const { tasks, enqueue } = taskQueue;

  const searchOne = (name: string, params: Record<string, unknown>) => {
    const idx = mustExist(name);
    return runSearch(idx, params);
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
    if (sub === 'operation' && method === 'POST') {
      return [200, { taskID: operationIndex(store, enqueue, index, body), updatedAt: now() }];
    }
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
      if (!Number.isInteger(id) || id < 1000 || id >= taskQueue.nextTaskId)
        throw new AlgoliaHttpError(404, 'Task does not exist');
      const pending = tasks.some((t) => t.id === id);
      return [200, { status: pending ? 'notPublished' : 'published', pendingTask: pending }];
    }
    if (
      extra === undefined &&
      sub !== undefined &&
      !['query', 'batch', 'settings', 'clear', 'task', 'operation'].includes(sub)
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

  return route;
}
