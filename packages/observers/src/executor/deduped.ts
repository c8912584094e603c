import { createHash } from 'node:crypto';
import type { CacheProvider } from '@fraiseql/core';
import type { EntityEvent } from '../types';
import type { EventExecutor, EventOutcome } from './types';

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function dedupKey(event: EntityEvent, mode: 'content' | 'id'): string {
  if (mode === 'id') return `fraiseql:observers:dedup:id:${event.source}:${event.id}`;
  const body = canonicalJson({
    source: event.source,
    entity: event.entity,
    entityId: event.entityId,
    kind: event.kind,
    data: event.data,
  });
  return `fraiseql:observers:dedup:${createHash('sha256').update(body).digest('hex')}`;
}

export interface DedupCounters {
  skipped(): void;
  error(err: unknown): void;
}

/**
 * Seed 003's DedupedObserverExecutor: an event whose key was marked within `windowMs` is skipped.
 * The mark is written only when every action succeeded; store errors fail open (the event runs).
 * Events no observer matches are not marked (nothing ran).
 */
export class DedupedObserverExecutor implements EventExecutor {
  constructor(
    private readonly inner: EventExecutor & { matching(event: EntityEvent): unknown[] },
    private readonly store: CacheProvider,
    private readonly opts: { windowMs: number; key: 'content' | 'id' },
    private readonly counters: DedupCounters,
  ) {}

  matching(event: EntityEvent): unknown[] {
    return this.inner.matching(event);
  }

  async run(event: EntityEvent): Promise<EventOutcome> {
    if (this.inner.matching(event).length === 0) return this.inner.run(event);
    const key = dedupKey(event, this.opts.key);
    try {
      if (await this.store.exists(key)) {
        this.counters.skipped();
        return {
          summary: {
            eventId: event.id,
            observers: [],
            actionsRun: 0,
            actionsFailed: 0,
            duplicateSkipped: true,
            cacheHits: 0,
            cacheMisses: 0,
            durationMs: 0,
          },
          records: [],
        };
      }
    } catch (err) {
      this.counters.error(err);
    }
    const outcome = await this.inner.run(event);
    if (outcome.summary.actionsFailed === 0) {
      try {
        await this.store.set(key, event.id, this.opts.windowMs);
      } catch (err) {
        this.counters.error(err);
      }
    }
    return outcome;
  }
}
