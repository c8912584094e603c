import type { AuditOutcome } from '../actions/builtin';
import { type CompiledObserver, observerMatches } from '../definitions';
import { isPermanent, toError } from '../errors';
import type { ActionDefinition, DlqInput, EntityEvent, ExecutionRecord } from '../types';
import { type ActionExecutor, type EventExecutor, type EventOutcome, Interrupted } from './types';

export interface DlqSink {
  add(entry: DlqInput): Promise<void>;
}

export interface ObserverExecutorHooks {
  actionDone(type: string, ok: boolean, seconds: number): void;
}

type Record_ = Omit<ExecutionRecord, 'createdAt'>;

/** Backoff before attempt `attempt + 1`: initial × multiplier^(attempt-1), capped, with ±20 % jitter. */
export function backoffMs(retry: CompiledObserver['retry'], attempt: number): number {
  const base = Math.min(retry.maxDelayMs, retry.initialDelayMs * retry.multiplier ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stop.aborted) return reject(new Interrupted());
    const timer = setTimeout(() => {
      stop.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    stop.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Seed 003's ObserverExecutor: finds the observers an event matches and runs their actions —
 * concurrently within the event (seed 8.2), each retried per its observer's policy and sent to
 * the DLQ after the last attempt. `audit` actions run last, with their siblings' outcomes.
 */
export class ObserverExecutor implements EventExecutor {
  constructor(
    private readonly observers: () => readonly CompiledObserver[],
    private readonly actions: ActionExecutor,
    private readonly dlq: DlqSink,
    private readonly stop: AbortSignal,
    private readonly hooks: ObserverExecutorHooks,
  ) {}

  matching(event: EntityEvent): CompiledObserver[] {
    return this.observers().filter((o) => observerMatches(o, event));
  }

  async run(event: EntityEvent, only?: { observer: string; index: number }): Promise<EventOutcome> {
    const started = performance.now();
    const matched = only ? this.observers().filter((o) => o.name === only.observer) : this.matching(event);
    const records: Record_[] = [];
    const counts = { run: 0, failed: 0, hits: 0, misses: 0 };
    await Promise.all(
      matched.map(async (observer) => {
        const indexed = observer.actions
          .map((action, index) => ({ action, index }))
          .filter((a) => !only || a.index === only.index);
        const first = indexed.filter((a) => a.action.type !== 'audit');
        const audits = indexed.filter((a) => a.action.type === 'audit');
        const outcome: AuditOutcome = { observer: observer.name, results: [] };
        const runOne = async (a: { action: ActionDefinition; index: number }, audit?: AuditOutcome) => {
          const r = await this.runAction(event, observer, a.action, a.index, audit);
          records.push(r.record);
          counts.run += r.cached ? 0 : 1;
          if (r.cached) counts.hits++;
          else counts.misses++;
          if (r.record.status === 'dlq') counts.failed++;
          outcome.results.push({
            action: a.action,
            status: r.record.status === 'dlq' ? 'failed' : 'succeeded',
            ...(r.record.error ? { error: r.record.error } : {}),
          });
        };
        await Promise.all(first.map((a) => runOne(a)));
        await Promise.all(audits.map((a) => runOne(a, outcome)));
      }),
    );
    return {
      summary: {
        eventId: event.id,
        observers: matched.map((o) => o.name),
        actionsRun: counts.run,
        actionsFailed: counts.failed,
        duplicateSkipped: false,
        cacheHits: counts.hits,
        cacheMisses: counts.misses,
        durationMs: performance.now() - started,
      },
      records,
    };
  }

  private async runAction(
    event: EntityEvent,
    observer: CompiledObserver,
    action: ActionDefinition,
    index: number,
    audit?: AuditOutcome,
  ): Promise<{ record: Record_; cached: boolean }> {
    const started = performance.now();
    const base = { eventId: event.id, observer: observer.name, actionIndex: index, actionType: action.type };
    let attempt = 0;
    for (;;) {
      attempt++;
      const t0 = performance.now();
      try {
        const result = await this.actions.execute({
          event,
          action,
          observer: observer.name,
          index,
          ...(audit ? { audit } : {}),
        });
        if (!result.cached) this.hooks.actionDone(action.type, true, (performance.now() - t0) / 1000);
        return {
          cached: result.cached,
          record: {
            ...base,
            status: result.cached ? 'cached' : 'succeeded',
            attempts: attempt,
            durationMs: performance.now() - started,
            error: null,
          },
        };
      } catch (err) {
        if (err instanceof Interrupted || this.stop.aborted) throw new Interrupted();
        this.hooks.actionDone(action.type, false, (performance.now() - t0) / 1000);
        const error = toError(err).message;
        if (attempt >= observer.retry.maxAttempts || isPermanent(err)) {
          const durationMs = performance.now() - started;
          await this.dlq.add({ event, observer: observer.name, index, action, error, attempts: attempt });
          return { cached: false, record: { ...base, status: 'dlq', attempts: attempt, durationMs, error } };
        }
        await sleep(backoffMs(observer.retry, attempt), this.stop);
      }
    }
  }
}
