import { ErrorCode } from '@fraiseql/core';
import { observersError, permanent } from '../errors';
import type { ActionRunner, AroundAction } from '../types';
import type { Breakers } from './breakers';
import type { ActionExecutor, ActionRunResult, ActionTask } from './types';

/**
 * The innermost layer: finds the action's runner and calls it through the breaker of its target.
 * `signal` is supplied by the concurrency layer (time limit and stop).
 */
export class RunnerExecutor {
  constructor(
    private readonly runners: Map<string, ActionRunner>,
    private readonly breakers: Breakers,
    private readonly around?: AroundAction,
  ) {}

  async execute(task: ActionTask, signal: AbortSignal): Promise<ActionRunResult> {
    const run = this.runners.get(task.action.type);
    if (!run)
      throw permanent(
        observersError(
          ErrorCode.InvalidConfiguration,
          `unknown action type "${task.action.type}" (register it with registerAction)`,
        ),
      );
    const ctx = { signal, observer: task.observer, ...(task.audit ? { audit: task.audit } : {}) };
    const call = () => this.breakers.run(task, () => run(task.event, task.action, ctx));
    const value = this.around
      ? await this.around({ observer: task.observer, action: task.action.type, event: task.event }, call)
      : await call();
    return { value, cached: false };
  }
}

/** Adapts a layer that needs a signal to the {@link ActionExecutor} shape. */
export type SignalledExecutor = { execute(task: ActionTask, signal: AbortSignal): Promise<ActionRunResult> };
export type { ActionExecutor };
