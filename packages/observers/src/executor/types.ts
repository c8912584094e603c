import type { AuditOutcome } from '../actions/builtin';
import type { ActionDefinition, EntityEvent, ExecutionRecord, ExecutionSummary } from '../types';

/** One action of one observer for one event. */
export interface ActionTask {
  event: EntityEvent;
  action: ActionDefinition;
  observer: string;
  /** Position of the action in its observer, part of its identity (action cache, DLQ). */
  index: number;
  /** For `audit`: the outcome of the observer's other actions. */
  audit?: AuditOutcome;
}

export interface ActionRunResult {
  value: unknown;
  /** True when the action cache answered and the action did not run. */
  cached: boolean;
}

/** Runs one attempt of one action. Layers wrap each other (DESIGN §8.3, seed 003). */
export interface ActionExecutor {
  execute(task: ActionTask): Promise<ActionRunResult>;
}

/** What running an event produced, beyond the summary: rows for `observer_executions`. */
export interface EventOutcome {
  summary: ExecutionSummary;
  records: Omit<ExecutionRecord, 'createdAt'>[];
}

/** Runs every matching observer of one event. */
export interface EventExecutor {
  run(event: EntityEvent): Promise<EventOutcome>;
}

/** Thrown when the runtime stops while an event is between retries: the event is not done. */
export class Interrupted extends Error {
  constructor() {
    super('[observers] interrupted by stop()');
  }
}
