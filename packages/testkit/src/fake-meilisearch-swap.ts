import { FakeIndex } from './fake-meilisearch-engine';
import { badRequest, describeJson, MeiliError } from './fake-meilisearch-errors';
import type { MeiliStore } from './fake-meilisearch-store';
import type { TaskSummary } from './fake-meilisearch-tasks';

/**
 * `POST /swap-indexes` of the Meilisearch protocol double: `[{ indexes: [a, b], rename? }]`, one
 * `indexSwap` task (indexUid null, details `{ swaps }`) that swaps documents and settings of every
 * pair atomically — all pairs or none. Without `rename` both indexes must exist
 * (`index_not_found`); with `rename: true` the first is renamed to the second, which must not exist.
 */
export function swapIndexes(store: MeiliStore, body: unknown): TaskSummary {
  if (!Array.isArray(body)) {
    throw badRequest('bad_request', `Invalid value type: expected an array, but found ${describeJson(body)}`);
  }
  const swaps = body.map((s, i) => {
    const pair = (s as Record<string, unknown> | null)?.indexes;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'string')) {
      throw badRequest(
        'invalid_swap_indexes',
        `Invalid value at \`[${i}].indexes\`: two indexes must be given for each swap. The list \`${JSON.stringify(pair)}\` contains ${Array.isArray(pair) ? pair.length : 0} indexes.`,
      );
    }
    const rename = (s as Record<string, unknown>).rename === true;
    return { indexes: pair as [string, string], rename };
  });
  const seen = new Set<string>();
  for (const { indexes } of swaps) {
    for (const uid of indexes) {
      if (seen.has(uid)) {
        throw badRequest(
          'invalid_swap_duplicate_index_found',
          `Indexes must be declared only once during a swap. \`${uid}\` was specified several times.`,
        );
      }
      seen.add(uid);
    }
  }
  const { indexes } = store;
  return store.taskQueue.enqueue(null, 'indexSwap', { swaps: structuredClone(swaps) }, () => {
    const missing = swaps
      .flatMap((s) => (s.rename ? [s.indexes[0]] : s.indexes))
      .filter((u) => !indexes.has(u));
    if (missing.length === 1)
      throw new MeiliError(404, 'index_not_found', `Index \`${missing[0]}\` not found.`);
    if (missing.length > 1) {
      throw new MeiliError(
        404,
        'index_not_found',
        `Indexes ${missing.map((u) => `\`${u}\``).join(', ')} not found.`,
      );
    }
    for (const s of swaps) {
      if (s.rename && indexes.has(s.indexes[1])) {
        throw new MeiliError(409, 'index_already_exists', `Index \`${s.indexes[1]}\` already exists.`);
      }
    }
    // Validated first, applied after: the swap is all-or-nothing, as in the engine.
    for (const {
      indexes: [a, b],
      rename,
    } of swaps) {
      const first = indexes.get(a)!;
      const second = rename ? undefined : indexes.get(b)!;
      indexes.set(b, moved(first, b));
      if (second) indexes.set(a, moved(second, a));
      else indexes.delete(a);
    }
    return undefined;
  });
}

/** The same documents, settings and primary key under another uid. */
function moved(index: FakeIndex, uid: string): FakeIndex {
  const next = new FakeIndex(uid);
  next.primaryKey = index.primaryKey;
  next.settings = index.settings;
  for (const [id, doc] of index.docs) next.docs.set(id, doc);
  next.touch();
  return next;
}
