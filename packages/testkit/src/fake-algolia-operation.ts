import { AlgoliaHttpError } from './fake-algolia-errors';
import { type AlgoliaStore, type FakeAlgoliaIndex, now } from './fake-algolia-store';

const SCOPES = new Set(['settings', 'synonyms', 'rules']);
const unvirtual = (name: string) => name.replace(/^virtual\((.*)\)$/, '$1');

/**
 * `POST /1/indexes/{indexName}/operation` of the Algolia protocol double: `{ operation: 'move' |
 * 'copy', destination, scope? }`, applied by a task of the source index. As documented: an existing
 * destination is overwritten (its replicas stay and receive the records), a move of a missing
 * source is ignored, a copy of a missing source creates an empty index, `replicas` is never
 * copied, and a copy cannot target an index with replicas. The double refuses to move or copy a
 * primary that has replicas (the engine's rules for that case are not modelled).
 */
export function operationIndex(
  store: AlgoliaStore,
  enqueue: (index: string, apply: () => void) => number,
  index: string,
  body: unknown,
): number {
  const b = (body ?? {}) as Record<string, unknown>;
  if (b.operation !== 'move' && b.operation !== 'copy') {
    throw new AlgoliaHttpError(400, 'Invalid operation: "operation" must be "move" or "copy"');
  }
  if (typeof b.destination !== 'string' || b.destination === '') {
    throw new AlgoliaHttpError(400, 'Invalid operation: "destination" is required');
  }
  const scope = b.scope;
  if (scope !== undefined && (!Array.isArray(scope) || !scope.every((s) => SCOPES.has(s)))) {
    throw new AlgoliaHttpError(400, 'Invalid operation: "scope" must list settings, synonyms or rules');
  }
  const { indexes } = store;
  const destination = b.destination;
  const move = b.operation === 'move';
  if (destination === index)
    throw new AlgoliaHttpError(400, 'Source and destination indices must be different');
  const src = indexes.get(index);
  if (src && ((src.settings.replicas as string[] | undefined) ?? []).length > 0) {
    throw new AlgoliaHttpError(400, `Cannot ${b.operation} index ${index}: it has replicas`);
  }
  const dest = indexes.get(destination);
  const destReplicas = (dest?.settings.replicas as string[] | undefined) ?? [];
  if (!move && destReplicas.length > 0) {
    throw new AlgoliaHttpError(400, `Cannot copy to index ${destination}: it has replicas`);
  }
  return enqueue(index, () => {
    const source = indexes.get(index);
    if (!source) {
      if (!move && !indexes.has(destination)) store.getOrCreate(destination);
      return;
    }
    const target = indexes.get(destination);
    if (!move && scope !== undefined) {
      // Scoped copy: settings only (synonyms and rules are not modelled); records stay.
      const t = target ?? store.getOrCreate(destination);
      if ((scope as string[]).includes('settings')) {
        t.settings = {
          ...structuredClone(source.settings),
          ...(t.settings.replicas ? { replicas: t.settings.replicas } : {}),
        };
        delete (t.settings as Record<string, unknown>).primary;
      }
      t.updatedAt = now();
      return;
    }
    const records = move
      ? source.records
      : new Map([...source.records].map(([k, v]) => [k, structuredClone(v)]));
    const settings = structuredClone(source.settings);
    delete settings.replicas;
    const replicas = (target?.settings.replicas as string[] | undefined) ?? [];
    if (replicas.length > 0) settings.replicas = replicas;
    const moved: FakeAlgoliaIndex = {
      name: destination,
      settings,
      records,
      createdAt: target?.createdAt ?? now(),
      updatedAt: now(),
    };
    for (const r of replicas) {
      const replica = indexes.get(unvirtual(r));
      if (replica?.primary === destination) replica.records = records;
    }
    if (move) indexes.delete(index);
    indexes.set(destination, moved);
  });
}
