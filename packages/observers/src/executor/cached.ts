import type { CacheProvider } from '@fraiseql/core';
import type { ActionExecutor, ActionRunResult, ActionTask } from './types';

export interface CacheCounters {
  hit(): void;
  miss(): void;
  error(err: unknown): void;
}

/**
 * Seed 003's CachedActionExecutor: a successful result is remembered under (event, observer,
 * action) for `ttlMs`, so a redelivered event does not re-run what already succeeded. Only
 * successes are cached; a store error fails open (the action runs).
 */
export class CachedActionExecutor implements ActionExecutor {
  constructor(
    private readonly inner: ActionExecutor,
    private readonly store: CacheProvider,
    private readonly ttlMs: number,
    private readonly counters: CacheCounters,
  ) {}

  private key(task: ActionTask): string {
    return `fraiseql:observers:action:${task.event.source}:${task.event.id}:${task.observer}:${task.index}`;
  }

  async execute(task: ActionTask): Promise<ActionRunResult> {
    // audit records outcomes, which differ per run; caching it would hide them.
    if (task.action.type === 'audit') return this.inner.execute(task);
    const key = this.key(task);
    try {
      const cached = await this.store.getJson<{ value: unknown }>(key);
      if (cached) {
        this.counters.hit();
        return { value: cached.value, cached: true };
      }
    } catch (err) {
      this.counters.error(err);
    }
    this.counters.miss();
    const result = await this.inner.execute(task);
    try {
      await this.store.setJson(key, { value: result.value ?? null }, this.ttlMs);
    } catch (err) {
      this.counters.error(err);
    }
    return result;
  }
}
