import type { JobHandler, Worker, WorkerEvent } from '@fraiseql/core';
import type { MockQueueProvider } from './queue';
import type { Run } from './queue-types';

/**
 * A worker of the mock queue. Listeners get `(job: JobInfo, …)`: `completed(job, result)`,
 * `retrying(job, error, delayMs)`, `failed(job, error)`, and `error(error)` when a listener throws.
 */
export class MockWorker implements Worker {
  readonly queue: string;
  readonly concurrency: number;
  /** @internal */ readonly handler: JobHandler<unknown>;
  /** @internal */ readonly running = new Set<Run>();
  /** @internal */ closing = false;
  private readonly listeners = new Map<WorkerEvent, ((...args: any[]) => void)[]>();
  private closed?: Promise<void>;
  private drained?: () => void;

  /** @internal */
  constructor(
    private readonly owner: MockQueueProvider,
    queue: string,
    handler: JobHandler<unknown>,
    concurrency: number,
    private readonly defaultCloseTimeoutMs: number,
  ) {
    this.queue = queue;
    this.handler = handler;
    this.concurrency = concurrency;
  }

  on(event: WorkerEvent, fn: (...args: any[]) => void): this {
    const list = this.listeners.get(event) ?? [];
    list.push(fn);
    this.listeners.set(event, list);
    return this;
  }

  off(event: WorkerEvent, fn: (...args: any[]) => void): this {
    const list = this.listeners.get(event);
    if (list)
      this.listeners.set(
        event,
        list.filter((f) => f !== fn),
      );
    return this;
  }

  /** @internal */
  emit(event: WorkerEvent, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        // A throwing listener must not derail job bookkeeping; it is reported, never rethrown.
        if (event !== 'error') this.emit('error', err);
      }
    }
  }

  /** @internal */
  get freeSlots(): number {
    return this.closing ? 0 : this.concurrency - this.running.size;
  }

  /** @internal called by the provider when one of this worker's runs is over. */
  settled(run: Run): void {
    this.running.delete(run);
    if (this.running.size === 0) this.drained?.();
  }

  /**
   * Stops taking jobs and waits for running ones, up to `timeoutMs` (default: the provider's
   * `closeTimeoutMs`, 30 s). Jobs still running then have their signal aborted and go back to
   * pending, so another worker delivers them again. Idempotent.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closed ??= this.shutdown(opts.timeoutMs ?? this.defaultCloseTimeoutMs);
    return this.closed;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, Math.max(0, timeoutMs));
      });
      clearTimeout(timer);
      for (const run of [...this.running]) this.owner.abandon(run);
    }
    this.owner.detach(this);
  }
}
