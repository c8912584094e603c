import {
  assertIndexName,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchAliases,
} from '@fraiseql/core';
import type { EnqueuedTaskPromise, Meilisearch, Task } from 'meilisearch';
import { taskFailure } from './errors';
import type { KnownIndex } from './settings';

/** What the aliases need of their provider. */
export interface MeiliAliasesHost {
  client: Meilisearch;
  secrets: readonly string[];
  known: Map<string, KnownIndex>;
  open(): void;
  call<R>(context: string, index: string | undefined, run: () => Promise<R>): Promise<R>;
  clientTask(context: string, index: string, start: () => EnqueuedTaskPromise): Promise<Task>;
  configureIndex(index: string, config: IndexConfig): Promise<void>;
  deleteIndex(index: string): Promise<void>;
}

const isNotFound = (err: unknown) => err instanceof IntegrationError && err.code === ErrorCode.IndexNotFound;

/**
 * The `aliases` capability of the Meilisearch provider (DESIGN §14.3): the new index is built
 * under its own uid, then `POST /swap-indexes` exchanges documents and settings of the two uids in
 * one task (atomic: searches see the old or the new index, never neither), and the uid that now
 * holds the old documents is deleted.
 */
export class MeiliAliases implements SearchAliases {
  readonly #h: MeiliAliasesHost;

  constructor(host: MeiliAliasesHost) {
    this.#h = host;
  }

  async #info(index: string) {
    return this.#h
      .call('reading the index', index, () => this.#h.client.getRawIndex(index))
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
  }

  async #create(index: string, primaryKey: string): Promise<void> {
    const task = await this.#h.clientTask('creating the index', index, () =>
      this.#h.client.createIndex(index, { primaryKey }),
    );
    if (task.status !== 'succeeded')
      throw taskFailure(task, `creating "${index}" failed`, index, this.#h.secrets);
  }

  async prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void> {
    this.#h.open();
    assertIndexName(live);
    assertIndexName(next);
    if (await this.#info(next)) {
      throw new IntegrationError(
        ErrorCode.IndexAlreadyExists,
        `[meilisearch] index "${next}" already exists`,
        {
          resourceType: 'index',
        },
      );
    }
    if (config !== undefined) return this.#h.configureIndex(next, config);
    const info = await this.#info(live);
    await this.#create(next, info?.primaryKey ?? 'id');
    if (!info) return;
    // Every setting the live index has (ranking, synonyms, typo tolerance…), not only ours.
    const settings = await this.#h.call('reading the index settings', live, () =>
      this.#h.client.index(live).getSettings(),
    );
    const patch = Object.fromEntries(
      Object.entries(settings).filter(([, v]) => v !== null && v !== undefined),
    );
    const task = await this.#h.clientTask('copying the settings', next, () =>
      this.#h.client.index(next).updateSettings(patch),
    );
    if (task.status !== 'succeeded')
      throw taskFailure(task, `copying the settings of "${live}" to "${next}" failed`, next, this.#h.secrets);
  }

  async swapIndex(live: string, next: string): Promise<void> {
    this.#h.open();
    assertIndexName(live);
    assertIndexName(next);
    const nextInfo = await this.#info(next);
    if (!nextInfo) throw IntegrationError.indexNotFound(next);
    // swap-indexes needs both uids: a first build swaps with an empty index of the live name.
    if (!(await this.#info(live))) await this.#create(live, nextInfo.primaryKey ?? 'id');
    const task = await this.#h.clientTask('swapping indexes', live, () =>
      this.#h.client.swapIndexes([{ indexes: [live, next], rename: false }]),
    );
    if (task.status !== 'succeeded') {
      throw taskFailure(task, `swapping "${next}" into "${live}" failed`, live, this.#h.secrets);
    }
    const known = this.#h.known.get(next);
    this.#h.known.delete(next);
    if (known) this.#h.known.set(live, known);
    else this.#h.known.delete(live);
    // `next` now holds the old documents.
    await this.#h.deleteIndex(next);
  }

  async dropIndex(name: string): Promise<void> {
    await this.#h.deleteIndex(name);
  }
}
