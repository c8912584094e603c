import {
  assertIndexName,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchAliases,
} from '@fraiseql/core';
import type { AlgoliaCalls } from './calls';
import { PROVIDER } from './errors';
import type { AlgoliaIndexes } from './indexes';
import {
  baseSettings,
  type Resolved,
  resolveConfig,
  type Settings,
  type StoredState,
  storedState,
} from './settings';
import { waitTask } from './tasks';

/**
 * The `aliases` capability of the Algolia provider (DESIGN §14.3): the new index is built without
 * sort replicas, then `operationIndex` moves it onto the live name — Algolia replaces the
 * destination atomically and keeps the destination's replicas, copying the new records to them —
 * and `configureIndex` brings the live index's replicas to the new settings.
 */
export class AlgoliaAliases implements SearchAliases {
  constructor(
    private readonly calls: AlgoliaCalls,
    private readonly indexes: AlgoliaIndexes,
  ) {}

  private async settings(index: string): Promise<Settings | undefined> {
    return (await this.indexes.state(index)) === undefined
      ? undefined
      : ((await this.calls.call({ op: `read settings of index "${index}"`, kind: 'read', index }, (c) =>
          c.getSettings({ indexName: index }),
        )) as Settings);
  }

  private async setSettings(index: string, settings: Settings): Promise<void> {
    const r = await this.calls.call(
      { op: `update settings of index "${index}"`, kind: 'settings', index },
      (c) => c.setSettings({ indexName: index, indexSettings: settings as never }),
    );
    await waitTask(this.calls, index, r.taskID);
  }

  async prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void> {
    assertIndexName(live);
    assertIndexName(next);
    if (await this.indexes.state(next)) {
      throw new IntegrationError(
        ErrorCode.IndexAlreadyExists,
        `[${PROVIDER}] index "${next}" already exists`,
        {
          resourceType: 'index',
        },
      );
    }
    const resolved: Resolved | undefined = config
      ? resolveConfig(config)
      : (await this.indexes.state(live))?.config;
    // No settings anywhere: the first write creates the index with Algolia's defaults.
    if (!resolved) return;
    // The live index's own settings (synonyms aside) come along when no config is given.
    const inherited = config ? {} : { ...((await this.settings(live)) ?? {}) };
    delete inherited.replicas;
    delete inherited.primary;
    await this.setSettings(next, {
      ...inherited,
      ...baseSettings(resolved),
      userData: { fraiseql: { version: 1, config: resolved, replicas: {} } satisfies StoredState },
    });
    this.indexes.forgetIndex(next);
  }

  async swapIndex(live: string, next: string): Promise<void> {
    assertIndexName(live);
    assertIndexName(next);
    const built = await this.indexes.state(next);
    const before = await this.settings(live);
    const r = await this.calls.call(
      { op: `move index "${next}" to "${live}"`, kind: 'settings', index: live },
      (c) =>
        c.operationIndex({ indexName: next, operationIndexParams: { operation: 'move', destination: live } }),
    );
    await waitTask(this.calls, next, r.taskID);
    this.indexes.forgetIndex(next);
    this.indexes.forgetIndex(live);
    // Nothing to bring in line when the index was never configured (Algolia's defaults throughout).
    if (!built || built.config.searchable.length === 0) return;
    // The move kept the live index's replicas (and fed them the new records); record them again
    // as ours, so configure() updates their settings and removes the ones no longer wanted.
    const ours = before ? (storedState(before)?.replicas ?? {}) : {};
    if (Object.keys(ours).length > 0) {
      const after = (await this.settings(live)) ?? {};
      await this.setSettings(live, {
        userData: {
          ...((after.userData as object | undefined) ?? {}),
          fraiseql: { version: 1, config: built.config, replicas: ours } satisfies StoredState,
        },
      });
      this.indexes.forgetIndex(live);
    }
    await this.indexes.configure(live, built.config as IndexConfig);
  }

  async dropIndex(name: string): Promise<void> {
    assertIndexName(name);
    await this.indexes.drop(name);
  }
}
