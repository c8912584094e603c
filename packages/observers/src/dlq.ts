import { ErrorCode } from '@fraiseql/core';
import { observersError, toError } from './errors';
import type { ActionExecutor } from './executor/types';
import type { ObserverMetrics } from './metrics';
import type { ObserverStore } from './store';
import type { DlqEntry, ExecutionSummary, ObserverDlq } from './types';

export interface DlqDeps {
  store: ObserverStore;
  /** One attempt of one action: cache, concurrency, timeout, breaker (no retry loop). */
  actions: () => ActionExecutor;
  metrics: ObserverMetrics;
  /** Resolves once the runtime's tables exist. */
  ready: () => Promise<void>;
}

/** The runtime's `dlq`: list, get (IN300 when absent), retry one action once, retry-all, delete. */
export function createDlqApi({ store, actions, metrics, ready }: DlqDeps): ObserverDlq {
  const dlq: ObserverDlq = {
    list: async (opts) => {
      await ready();
      return store.listDlq(opts);
    },
    get: async (id) => {
      await ready();
      const entry = await store.getDlq(id);
      if (!entry)
        throw observersError(ErrorCode.JobNotFound, `DLQ entry ${JSON.stringify(id)} not found`, 'id');
      return entry;
    },
    retry: async (id) => retryEntry(await dlq.get(id)),
    retryAll: async (opts = {}) => {
      await ready();
      const entries: DlqEntry[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await store.listDlq({
          limit: 1000,
          offset,
          ...(opts.observer ? { observer: opts.observer } : {}),
        });
        entries.push(...page);
        if (page.length < 1000) break;
      }
      if (opts.dryRun) return { count: entries.length, ids: entries.map((e) => e.id) };
      const ids: string[] = [];
      for (const entry of entries) if ((await retryEntry(entry)).actionsFailed === 0) ids.push(entry.id);
      return { count: ids.length, ids };
    },
    delete: async (id) => {
      await ready();
      const deleted = await store.deleteDlq(id);
      if (deleted) metrics.dlqSize.dec();
      return deleted;
    },
  };

  /** One attempt of the entry's action (not the observer's whole retry policy); removed on success. */
  async function retryEntry(entry: DlqEntry): Promise<ExecutionSummary> {
    const started = performance.now();
    let failed = 0;
    let cached = false;
    try {
      const r = await actions().execute({
        event: entry.event,
        action: entry.action,
        observer: entry.observer,
        index: entry.actionIndex,
      });
      cached = r.cached;
      metrics.actionsExecuted.inc({ action: entry.action.type });
      await dlq.delete(entry.id);
    } catch (err) {
      failed = 1;
      metrics.actionsFailed.inc({ action: entry.action.type });
      await store.bumpDlq(entry.id, toError(err).message, 1);
    }
    return {
      eventId: entry.eventId,
      observers: [entry.observer],
      actionsRun: cached ? 0 : 1,
      actionsFailed: failed,
      duplicateSkipped: false,
      cacheHits: cached ? 1 : 0,
      cacheMisses: cached ? 0 : 1,
      durationMs: performance.now() - started,
    };
  }

  return dlq;
}
