import {
  type CircuitBreakerPolicy,
  isBrokenCircuitError,
  isIsolatedCircuitError,
  type RetryPolicy,
} from 'cockatiel';
import type { Registry } from 'prom-client';
import { ErrorCode, IntegrationError, isIntegrationError } from './errors';
import { InFlight, InFlightList } from './resilience-in-flight';
import { type Metrics, Operation, resilienceMetrics } from './resilience-metrics';
import {
  DEFAULT_TIMEOUT_MS,
  parseResilienceOptions,
  type ResilienceOptions,
  type Section,
} from './resilience-options';
import {
  BREAKER_STATE_VALUE,
  type BreakerState,
  createBreaker,
  createRetry,
  isBackendFailure,
  isTransientFailure,
  stateName,
} from './resilience-policies';
import type { SloRegistry, SloTracker } from './slo';

// The public surface of the resilience layer; its parts live in resilience-*.ts.
export { resilienceMetrics } from './resilience-metrics';
export {
  type BreakerOptions,
  DEFAULT_TIMEOUT_MS,
  parseResilienceOptions,
  type ResilienceOptions,
  type RetryOptions,
  resilienceSchema,
  type Section,
  tableOrFalse,
} from './resilience-options';
export { BREAKER_STATE_VALUE, type BreakerState, isBackendFailure } from './resilience-policies';

export interface ResilienceContext {
  slo?: SloRegistry;
  registry?: Registry;
}

/**
 * Timeout + circuit breaker + (for idempotent reads) retries + SLO timing around every call of
 * one provider. The breaker is shared by all operations of the provider: when the backend is
 * gone, every call fails fast with IN503 without touching it, and a half-open probe (with a
 * growing back-off) closes it again once the backend answers.
 */
export class Resilience {
  readonly section: Section;
  readonly provider: string;
  readonly timeoutMs: number;
  readonly #breaker: CircuitBreakerPolicy | undefined;
  readonly #retry: RetryPolicy | undefined;
  readonly #slo: SloRegistry | undefined;
  readonly #metrics: Metrics | undefined;
  #state: BreakerState = 'closed';
  readonly #labels: { section: Section; provider: string };
  readonly #ops = new Map<string, Operation>();
  readonly #inFlight = new InFlightList();
  #timer: NodeJS.Timeout | undefined;
  /** Whether `#timer` is ref'd (something in flight). */
  #timerHeld = false;

  constructor(section: Section, provider: string, opts: ResilienceOptions = {}, ctx: ResilienceContext = {}) {
    const o = parseResilienceOptions(section, opts);
    this.section = section;
    this.provider = provider;
    this.#labels = { section, provider };
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS[section];
    this.#slo = ctx.slo;
    this.#metrics = ctx.registry ? resilienceMetrics(ctx.registry) : undefined;
    if (o.breaker !== false) {
      this.#breaker = createBreaker(o.breaker ?? {});
      this.#breaker.onStateChange((s) => {
        this.#state = stateName(s);
        this.#metrics?.breaker.set({ section, provider }, BREAKER_STATE_VALUE[this.#state]);
      });
    }
    if (o.retry !== false) this.#retry = createRetry(o.retry ?? {});
    // Expected series exist from the start (at 0), so rate() and alerts see them before the first call.
    this.#metrics?.breaker.set(this.#labels, 0);
    this.#metrics?.rejected.inc(this.#labels, 0);
  }

  /** The breaker's state: closed, half_open or open. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Zeroes the request counters of the operations a wrapper will report. */
  declareOperations(operations: readonly string[]): void {
    if (!this.#metrics) return;
    for (const operation of operations) {
      for (const outcome of ['success', 'error', 'rejected']) {
        this.#metrics.requests.inc({ section: this.section, provider: this.provider, operation, outcome }, 0);
      }
    }
  }

  /**
   * Runs one call. `sloOperation` names the tracker that times it (search_query, cache_get, …);
   * `idempotent` reads are retried on transient errors, writes never are.
   */
  run<T>(
    operation: string,
    sloOperation: string | undefined,
    idempotent: boolean,
    fn: () => Promise<T>,
  ): Promise<T> {
    const op = this.#operation(operation, sloOperation);
    const start = performance.now();
    // A plain `then` (not async/await): the common, successful call is one reaction here.
    return this.#guarded(op, fn, start).then(
      (result) => {
        this.#succeeded(op, start);
        return result;
      },
      (first) => this.#afterFailure(op, idempotent, fn, start, first),
    );
  }

  #succeeded(op: Operation, start: number): void {
    if (op.success) op.success.n += 1;
    else this.#metrics?.requests.inc(op.successLabels);
    if (op.sloOperation !== undefined)
      this.#tracker(op)?.recordSuccess(performance.now() - start, this.provider);
  }

  async #afterFailure<T>(
    op: Operation,
    idempotent: boolean,
    fn: () => Promise<T>,
    start: number,
    first: unknown,
  ): Promise<T> {
    let result: T;
    try {
      // The retry policy only comes in after a transient failure: the common, successful call
      // pays nothing for it.
      if (!(idempotent && this.#retry && isTransientFailure(first))) throw first;
      let attempt = 0;
      result = await this.#retry.execute(() => {
        if (attempt++ === 0) return Promise.reject(first);
        this.#metrics?.retries.inc(op.labels);
        return this.#guarded(op, fn, performance.now());
      });
    } catch (raw) {
      const err = this.#translate(raw);
      const rejected = err.code === ErrorCode.CircuitBreakerOpen;
      const cell = rejected ? op.rejected : op.error;
      if (cell) cell.n += 1;
      else this.#metrics?.requests.inc(rejected ? op.rejectedLabels : op.errorLabels);
      if (rejected) this.#metrics?.rejected.inc(this.#labels);
      // Bad input is not the provider failing its objective; an open breaker is.
      if (op.sloOperation !== undefined && (rejected || isBackendFailure(err))) {
        this.#tracker(op)?.recordError(this.provider, performance.now() - start);
      }
      throw err;
    }
    this.#succeeded(op, start);
    return result;
  }

  #operation(operation: string, sloOperation: string | undefined): Operation {
    const op = this.#ops.get(operation);
    if (op !== undefined && op.sloOperation === sloOperation) return op;
    const created = new Operation(this.section, this.provider, operation, sloOperation, this.#metrics);
    this.#ops.set(operation, created);
    return created;
  }

  /** The operation's tracker, looked up again only when the SloRegistry changed. */
  #tracker(op: Operation): SloTracker | undefined {
    const slo = this.#slo;
    if (!slo || op.sloOperation === undefined) return undefined;
    if (op.revision !== slo.revision) {
      op.tracker = slo.getOrRegister(op.sloOperation);
      op.revision = slo.revision;
    }
    return op.tracker;
  }

  /**
   * One attempt, started at `start` (performance.now()). A closed breaker calls `fn` at once, so
   * its time limit counts from `start`; otherwise (a half-open breaker may hold a call back until
   * its probe is decided) it counts from when `fn` is called.
   */
  #guarded<T>(op: Operation, fn: () => Promise<T>, start: number): Promise<T> {
    if (!this.#breaker) return this.#withTimeout(op.operation, fn, start);
    const from = this.#state === 'closed' ? start : undefined;
    return this.#breaker.execute(() => this.#withTimeout(op.operation, fn, from));
  }

  /**
   * `fn()`, rejected with a timeout error once `timeoutMs` has passed. Every call of this
   * Resilience has the same limit, so deadlines come in the order calls start: one timer, armed
   * for the oldest in-flight call, serves them all (instead of a timer and a race per call). It
   * holds the process open only while something is in flight, as a per-call timer would.
   */
  #withTimeout<T>(operation: string, fn: () => Promise<T>, start: number | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = new InFlight((start ?? performance.now()) + this.timeoutMs, operation, reject);
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(fn());
      } catch (err) {
        reject(err);
        return;
      }
      this.#inFlight.push(call);
      if (this.#timer === undefined) {
        this.#timer = setTimeout(this.#sweep, this.timeoutMs);
        this.#timerHeld = true;
      } else if (!this.#timerHeld) {
        this.#timer.ref();
        this.#timerHeld = true;
      }
      pending.then(
        (value) => {
          if (this.#settled(call)) resolve(value);
        },
        (err) => {
          if (this.#settled(call)) reject(err);
        },
      );
    });
  }

  /** False when the call already timed out. */
  #settled(call: InFlight): boolean {
    if (!this.#inFlight.remove(call)) return false;
    if (this.#inFlight.head === undefined && this.#timerHeld) {
      // Nothing in flight: the armed timer must not keep the process alive.
      this.#timer?.unref();
      this.#timerHeld = false;
    }
    return true;
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#timerHeld = false;
    const now = performance.now();
    let next = this.#inFlight.head;
    while (next && next.deadline <= now) {
      const call = next;
      next = call.next;
      this.#inFlight.remove(call);
      call.reject(this.#timeoutError(call.operation));
    }
    if (next) {
      this.#timer = setTimeout(this.#sweep, Math.max(1, Math.ceil(next.deadline - now)));
      this.#timerHeld = true;
    }
  };

  #timeoutError(operation: string): IntegrationError {
    const code = this.section === 'search' ? ErrorCode.SearchTimeout : ErrorCode.ConnectionTimeout;
    return new IntegrationError(
      code,
      `[${this.section}-${this.provider}] ${operation} timed out after ${this.timeoutMs} ms`,
      { provider: this.provider },
    );
  }

  #translate(err: unknown): IntegrationError {
    if (isIntegrationError(err)) return err;
    if (isBrokenCircuitError(err) || isIsolatedCircuitError(err))
      return IntegrationError.circuitOpen(this.provider);
    return IntegrationError.provider(
      ErrorCode.ProviderUnavailable,
      this.provider,
      `[${this.section}-${this.provider}] ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}
