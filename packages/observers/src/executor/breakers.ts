import { ErrorCode } from '@fraiseql/core';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  handleWhen,
  SamplingBreaker,
} from 'cockatiel';
import { webhookTarget } from '../actions/webhook';
import { isPermanent, observersError } from '../errors';
import type { BreakerOptions, BreakerState, WebhookAction } from '../types';
import type { ActionTask } from './types';

const STATE: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * One cockatiel breaker per action target (webhook host, or provider kind). Permanent failures
 * (a 4xx) do not count: the target answered. An open breaker fails at once with IN503.
 */
export class Breakers {
  private readonly policies = new Map<string, CircuitBreakerPolicy>();
  private readonly threshold: number;
  private readonly minimumRequests: number;
  private readonly windowMs: number;
  private readonly halfOpenAfterMs: number;

  constructor(
    opts: BreakerOptions = {},
    private readonly providerNames: { cache?: string; queue?: string; search?: string } = {},
  ) {
    this.threshold = opts.failureRateThreshold ?? 0.5;
    this.minimumRequests = opts.minimumRequests ?? 20;
    this.windowMs = opts.windowMs ?? 60_000;
    this.halfOpenAfterMs = opts.halfOpenAfterMs ?? 60_000;
  }

  target(task: ActionTask): string {
    const type = task.action.type;
    if (type === 'webhook') return webhookTarget(task.action as WebhookAction, task.event);
    if (type === 'enqueue') return `queue:${this.providerNames.queue ?? 'queue'}`;
    if (type.startsWith('search.') || type === 'audit')
      return `search:${this.providerNames.search ?? 'search'}`;
    if (type === 'cache.invalidate') return `cache:${this.providerNames.cache ?? 'cache'}`;
    return `action:${type}`;
  }

  private policy(target: string): CircuitBreakerPolicy {
    let policy = this.policies.get(target);
    if (!policy) {
      policy = circuitBreaker(
        handleWhen((err) => !isPermanent(err)),
        {
          halfOpenAfter: this.halfOpenAfterMs,
          breaker: new SamplingBreaker({
            threshold: this.threshold,
            duration: this.windowMs,
            minimumRps: this.minimumRequests / (this.windowMs / 1000),
          }),
        },
      );
      this.policies.set(target, policy);
    }
    return policy;
  }

  async run<T>(task: ActionTask, fn: () => Promise<T>): Promise<T> {
    const target = this.target(task);
    try {
      return await this.policy(target).execute(fn);
    } catch (err) {
      if (err instanceof BrokenCircuitError)
        throw observersError(ErrorCode.CircuitBreakerOpen, `circuit breaker for ${target} is open`);
      throw err;
    }
  }

  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    for (const [target, policy] of this.policies) out[target] = STATE[policy.state];
    return out;
  }
}
