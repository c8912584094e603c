import type { CacheProvider } from '@fraiseql/core';
import type { CompiledObserver } from '../definitions';
import type { ObserverMetrics } from '../metrics';
import type { ActionRunner, AroundAction, DedupOptions, EntityEvent, ObserverLogger } from '../types';
import type { Breakers } from './breakers';
import { CachedActionExecutor } from './cached';
import { ConcurrentActionExecutor } from './concurrent';
import { DedupedObserverExecutor } from './deduped';
import { type DlqSink, ObserverExecutor } from './observer';
import { RunnerExecutor } from './runner';
import type { ActionExecutor, EventExecutor, EventOutcome } from './types';

export interface ExecutorStackOptions {
  observers: () => readonly CompiledObserver[];
  runners: Map<string, ActionRunner>;
  breakers: Breakers;
  dlq: DlqSink;
  maxParallelism: number;
  actionTimeoutMs: number;
  /** Aborts backoff waits and action signals when the runtime is torn down. */
  stop: AbortSignal;
  dedup?: false | DedupOptions;
  actionCache?: false | { store: CacheProvider; ttlMs?: number };
  metrics: ObserverMetrics;
  logger?: ObserverLogger;
  aroundAction?: AroundAction;
}

export interface ExecutorStack {
  /** The whole stack for one event. */
  events: EventExecutor & { matching(event: EntityEvent): unknown[] };
  /** One attempt of one action (cache, concurrency, timeout, breaker): what a DLQ retry runs. */
  actions: ActionExecutor;
  /** The matching-and-retry layer, for re-running part of an event. */
  observer: ObserverExecutor;
  concurrent: ConcurrentActionExecutor;
}

/** Composes seed 003's layers from options: runner → breaker → concurrency/timeout → action cache → observers → dedup. */
export function composeExecutor(o: ExecutorStackOptions): ExecutorStack {
  const { metrics, logger } = o;
  const concurrent = new ConcurrentActionExecutor(new RunnerExecutor(o.runners, o.breakers, o.aroundAction), {
    maxParallelism: o.maxParallelism,
    timeoutMs: o.actionTimeoutMs,
    stop: o.stop,
  });
  const actions: ActionExecutor = o.actionCache
    ? new CachedActionExecutor(concurrent, o.actionCache.store, o.actionCache.ttlMs ?? 60_000, {
        hit: () => metrics.cacheHits.inc(),
        miss: () => metrics.cacheMisses.inc(),
        error: (err) => logger?.warn({ err }, '[observers] action cache store failed; running the action'),
      })
    : concurrent;
  const observer = new ObserverExecutor(o.observers, actions, o.dlq, o.stop, {
    actionDone: (type, ok, seconds) => {
      (ok ? metrics.actionsExecuted : metrics.actionsFailed).inc({ action: type });
      metrics.actionDuration.observe({ action: type }, seconds);
    },
  });
  const events: ExecutorStack['events'] = o.dedup
    ? new DedupedObserverExecutor(
        observer,
        o.dedup.store,
        { windowMs: o.dedup.windowMs ?? 300_000, key: o.dedup.key ?? 'content' },
        {
          skipped: () => metrics.dedupSkips.inc(),
          error: (err) => {
            metrics.dedupErrors.inc();
            logger?.warn({ err }, '[observers] dedup store failed; processing the event');
          },
        },
      )
    : { matching: (e) => observer.matching(e), run: (e): Promise<EventOutcome> => observer.run(e) };
  return { events, actions, observer, concurrent };
}
