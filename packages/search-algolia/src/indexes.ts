import { ErrorCode, type IndexConfig, type IntegrationError, type SortSpec } from '@fraiseql/core';
import type { AlgoliaCalls } from './calls';
import { isMissingIndex } from './errors';
import { replicaName, replicaRanking } from './records';
import {
  baseSettings,
  type IndexState,
  type Resolved,
  replicasOf,
  resolveConfig,
  type Settings,
  type StoredState,
  stateFromSettings,
  storedState,
  stripModifier,
  wantedReplicas,
} from './settings';
import { waitTask } from './tasks';

/**
 * Index settings and sort replicas: what the provider knows of each index (cached, else read
 * back from its settings), `configureIndex`, the replicas serving sorts, and index deletion.
 */
export class AlgoliaIndexes {
  private readonly states = new Map<string, IndexState>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly calls: AlgoliaCalls) {}

  /** Serialises settings changes of one index inside this process. */
  private withLock<T>(index: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(index) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(index, tail);
    void tail.then(() => {
      if (this.locks.get(index) === tail) this.locks.delete(index);
    });
    return next;
  }

  private async getSettings(index: string): Promise<Settings | undefined> {
    try {
      return (await this.calls.call({ op: `read settings of index "${index}"`, kind: 'read', index }, (c) =>
        c.getSettings({ indexName: index }),
      )) as Settings;
    } catch (err) {
      if ((err as IntegrationError).code === ErrorCode.IndexNotFound) return undefined;
      throw err;
    }
  }

  private async setSettings(index: string, settings: Settings): Promise<void> {
    const r = await this.calls.call(
      { op: `update settings of index "${index}"`, kind: 'settings', index },
      (c) => c.setSettings({ indexName: index, indexSettings: settings as never }),
    );
    await waitTask(this.calls, index, r.taskID);
  }

  private replicaSettings(config: Resolved, sort: SortSpec[]): Settings {
    return { ...baseSettings(config), ranking: replicaRanking(sort) };
  }

  /** The provider's view of an index: cached, else read from its settings (undefined when missing). */
  async state(index: string): Promise<IndexState | undefined> {
    const cached = this.states.get(index);
    if (cached) return cached;
    const settings = await this.getSettings(index);
    if (!settings) return undefined;
    const state = stateFromSettings(settings);
    this.states.set(index, state);
    return state;
  }

  async configure(index: string, config: IndexConfig): Promise<void> {
    const resolved = resolveConfig(config);
    await this.withLock(index, async () => {
      const current = (await this.getSettings(index)) ?? {};
      const currentReplicas = replicasOf(current).map(stripModifier);
      const previous = new Map(Object.entries(storedState(current)?.replicas ?? {}));
      const wanted = wantedReplicas(index, resolved, previous);
      const obsolete = [...previous.keys()].filter((name) => !wanted.has(name));
      const userReplicas = replicasOf(current).filter(
        (r) => !previous.has(stripModifier(r)) && !wanted.has(stripModifier(r)),
      );

      await this.setSettings(index, {
        ...baseSettings(resolved),
        replicas: [...userReplicas, ...wanted.keys()],
        userData: {
          ...((current.userData as object | undefined) ?? {}),
          fraiseql: {
            version: 1,
            config: resolved,
            replicas: Object.fromEntries(wanted),
          } satisfies StoredState,
        },
      });
      await Promise.all(
        [...wanted].map(([name, sort]) => this.setSettings(name, this.replicaSettings(resolved, sort))),
      );
      // Replicas detached from the primary are ordinary indexes now: remove them.
      await Promise.all(obsolete.filter((r) => currentReplicas.includes(r)).map((r) => this.deleteIndex(r)));
      this.states.set(index, {
        config: resolved,
        ours: new Map(wanted),
        replicas: new Set([...userReplicas.map(stripModifier), ...wanted.keys()]),
      });
    });
  }

  /** The standard replica serving `sort`, created (and recorded in userData) on first use. */
  async replicaFor(index: string, state: IndexState, sort: SortSpec[]): Promise<string> {
    const name = replicaName(index, sort);
    if (state.ours.has(name)) return name;
    return this.withLock(index, async () => {
      if (state.ours.has(name)) return name;
      const settings = (await this.getSettings(index)) ?? {};
      const replicas = replicasOf(settings);
      const stored = storedState(settings);
      if (stored?.replicas?.[name] && replicas.map(stripModifier).includes(name)) {
        // Another instance (or process) created it since this one read the settings.
        state.ours.set(name, sort);
        state.replicas.add(name);
        return name;
      }
      const ours = { ...(stored?.replicas ?? {}), [name]: sort };
      await this.setSettings(index, {
        replicas: replicas.includes(name) ? replicas : [...replicas, name],
        userData: {
          ...((settings.userData as object | undefined) ?? {}),
          fraiseql: { version: 1, config: state.config, replicas: ours } satisfies StoredState,
        },
      });
      await this.setSettings(name, this.replicaSettings(state.config, sort));
      state.ours.set(name, sort);
      state.replicas.add(name);
      return name;
    });
  }

  private async deleteIndex(index: string): Promise<void> {
    try {
      const r = await this.calls.call({ op: `delete index "${index}"`, kind: 'settings', index }, (c) =>
        c.deleteIndex({ indexName: index }),
      );
      await waitTask(this.calls, index, r.taskID);
    } catch (err) {
      if (isMissingIndex(err)) return;
      throw err;
    }
  }

  /** Deletes an index and the replicas the provider made for it (a missing index is fine). */
  async drop(index: string): Promise<void> {
    const settings = await this.getSettings(index);
    this.states.delete(index);
    if (!settings) return;
    // Deleting the primary first detaches its replicas; then they can be deleted like any index.
    await this.deleteIndex(index);
    await Promise.all(Object.keys(storedState(settings)?.replicas ?? {}).map((r) => this.deleteIndex(r)));
  }

  /** Forgets the cached state of one index (its settings changed outside `configure`). */
  forgetIndex(index: string): void {
    this.states.delete(index);
  }

  /** Forgets every cached index state. */
  forget(): void {
    this.states.clear();
  }
}
