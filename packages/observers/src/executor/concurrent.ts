import { ErrorCode, IntegrationError } from '@fraiseql/core';
import type { SignalledExecutor } from './runner';
import type { ActionExecutor, ActionRunResult, ActionTask } from './types';

/** FIFO counting semaphore. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
  get inFlight(): number {
    return this.active;
  }
}

/**
 * Seed 003's ConcurrentActionExecutor: at most `maxParallelism` actions in flight, each attempt
 * limited to `timeoutMs` through its AbortSignal — and abandoned at the limit even when the
 * runner ignores the signal, so one stuck target cannot hold a slot forever.
 */
export class ConcurrentActionExecutor implements ActionExecutor {
  private readonly slots: Semaphore;
  constructor(
    private readonly inner: SignalledExecutor,
    private readonly opts: { maxParallelism: number; timeoutMs: number; stop: AbortSignal },
  ) {
    this.slots = new Semaphore(opts.maxParallelism);
  }

  get inFlight(): number {
    return this.slots.inFlight;
  }

  async execute(task: ActionTask): Promise<ActionRunResult> {
    await this.slots.acquire();
    const controller = new AbortController();
    const onStop = () => controller.abort(this.opts.stop.reason);
    this.opts.stop.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new IntegrationError(
          ErrorCode.ConnectionTimeout,
          `[observers] action ${task.action.type} of "${task.observer}" timed out after ${this.opts.timeoutMs} ms`,
        );
        controller.abort(err);
        reject(err);
      }, this.opts.timeoutMs);
    });
    try {
      return await Promise.race([this.inner.execute(task, controller.signal), limit]);
    } finally {
      clearTimeout(timer);
      this.opts.stop.removeEventListener('abort', onStop);
      this.slots.release();
    }
  }
}
