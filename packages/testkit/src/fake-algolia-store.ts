import { randomBytes } from 'node:crypto';
import { AlgoliaHttpError } from './fake-algolia-errors';

/**
 * Index and record storage of the Algolia protocol double: indexes by name, standard replicas that
 * mirror their primary's records, settings updates and batches of record writes (each applied by
 * the task the caller enqueues).
 */

export type AlgoliaRecord = Record<string, unknown> & { objectID: string };

export interface FakeAlgoliaIndex {
  name: string;
  settings: Record<string, unknown>;
  /** Shared with the primary for a replica (replicas mirror their primary's records). */
  records: Map<string, AlgoliaRecord>;
  primary?: string;
  createdAt: string;
  updatedAt: string;
}

export const now = () => new Date().toISOString();

export interface AlgoliaStore {
  readonly indexes: Map<string, FakeAlgoliaIndex>;
  getOrCreate(name: string): FakeAlgoliaIndex;
  /** The index, or 404 `Index does not exist`. */
  mustExist(name: string): FakeAlgoliaIndex;
  /** Throws for a replica (replicas are read-only). */
  assertWritable(name: string): void;
  /** Detaches a replica: it keeps a copy of the records and becomes a regular index. */
  detach(replica: FakeAlgoliaIndex): void;
  applySettings(name: string, body: Record<string, unknown>): void;
  saveRecord(idx: FakeAlgoliaIndex, record: AlgoliaRecord): void;
  /** `POST /1/indexes/{index}/batch`: validated now, applied by one task. */
  batch(name: string, body: unknown): { taskID: number; objectIDs: string[] };
}

export function createAlgoliaStore(enqueue: (index: string, apply: () => void) => number): AlgoliaStore {
  const indexes = new Map<string, FakeAlgoliaIndex>();

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

  return { indexes, getOrCreate, mustExist, assertWritable, detach, applySettings, saveRecord, batch };
}
