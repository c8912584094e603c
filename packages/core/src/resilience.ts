import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  isIsolatedCircuitError,
  type RetryPolicy,
  retry,
  SamplingBreaker,
} from 'cockatiel';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { ErrorCode, errorKindOf, IntegrationError, isClientError, isIntegrationError } from './errors';
import type { SloRegistry, SloTracker } from './slo';
import { type CounterCell, counterCell, tallyCounter } from './tally';

/** Circuit breaker settings of one provider. */
export interface BreakerOptions {
  /** `consecutive`: open after `threshold` failures in a row. `sampling`: open when the failure ratio over `windowMs` exceeds `threshold`. Default `consecutive`. */
  kind?: 'consecutive' | 'sampling';
  /** Failures in a row (consecutive, default 5) or failure ratio 0-1 (sampling, default 0.5). */
  threshold?: number;
  /** Sampling window. Default 30_000. */
  windowMs?: number;
  /** Sampling: requests per second below which the breaker never opens. Default 5. */
  minimumRps?: number;
  /** First wait before a half-open probe; it doubles after each failed probe. Default 1000. */
  halfOpenAfterMs?: number;
  /** Longest wait between half-open probes. Default 30_000. */
  maxHalfOpenAfterMs?: number;
}

/** Retries of idempotent reads on transient errors. */
export interface RetryOptions {
  /** Retries after the first try. Default 2. */
  maxAttempts?: number;
  /** First backoff, jittered and doubled per retry. Default 50. */
  initialDelayMs?: number;
  /** Longest backoff. Default 1000. */
  maxDelayMs?: number;
}

/** `[<section>.resilience]` — every key optional. */
export interface ResilienceOptions {
  /** Per-operation time limit. Default: search 5000, cache 1000, queue 5000. */
  timeoutMs?: number;
  /** `false` turns the breaker off. */
  breaker?: BreakerOptions | false;
  /** `false` turns retries off. */
  retry?: RetryOptions | false;
}

export type Section = 'search' | 'cache' | 'queue';

export const DEFAULT_TIMEOUT_MS: Record<Section, number> = { search: 5000, cache: 1000, queue: 5000 };

const positive = z.number().positive().finite();
const breakerSchema = z
  .object({
    kind: z.enum(['consecutive', 'sampling']).optional(),
    threshold: positive.optional(),
    windowMs: positive.optional(),
    minimumRps: z.number().nonnegative().optional(),
    halfOpenAfterMs: positive.optional(),
    maxHalfOpenAfterMs: positive.optional(),
  })
  .strict();
const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(0).max(10).optional(),
    initialDelayMs: z.number().nonnegative().finite().optional(),
    maxDelayMs: positive.optional(),
  })
  .strict();
/** Schema of `ResilienceOptions` (camelCased); the config parser reports its issues with the file's paths. */
export /** `false`, or a table checked by `schema` — with the table's own issue paths (a union would only say "Invalid input"). */
function tableOrFalse<T extends z.ZodType>(schema: T) {
  return z.unknown().transform((value, ctx): z.infer<T> | false => {
    if (value === false) return false;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      const message =
        issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      ctx.addIssue({ code: 'custom', message, path: issue.path });
    }
    return z.NEVER;
  });
}

/** Schema of `ResilienceOptions` (camelCased); the config parser reports its issues with the file's paths. */
export const resilienceSchema = z
  .object({
    timeoutMs: positive.optional(),
    breaker: tableOrFalse(breakerSchema).optional(),
    retry: tableOrFalse(retrySchema).optional(),
  })
  .strict();

/** Validates `[<section>.resilience]` (camelCased keys); every problem in one IN002. */
export function parseResilienceOptions(section: Section, value: unknown): ResilienceOptions {
  const r = resilienceSchema.safeParse(value ?? {});
  if (r.success) return r.data as ResilienceOptions;
  const problems = r.error.issues.map(
    (i) => `${section}.resilience${i.path.length ? '.' : ''}${i.path.join('.')}: ${i.message}`,
  );
  throw IntegrationError.configuration(
    ErrorCode.InvalidConfiguration,
    `Invalid configuration:\n  ${problems.join('\n  ')}`,
  );
}

/** Breaker states as the gauge reports them. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

function stateName(s: CircuitState): BreakerState {
  return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half_open' : 'open';
}

/**
 * What the breaker counts as the backend failing: network and provider errors, timeouts. Bad
 * input and "not found" are the caller's business and must not open it.
 */
export function isBackendFailure(err: unknown): boolean {
  if (!isIntegrationError(err)) return true;
  if (err.code === ErrorCode.CircuitBreakerOpen) return false;
  // By the code's own kind: a provider may report "not found" through IntegrationError.provider().
  const kind = errorKindOf(err.code);
  return !(isClientError(err.code) || kind === 'not_found' || kind === 'configuration');
}

function isTransientFailure(err: unknown): boolean {
  return isIntegrationError(err) && err.isTransient && err.code !== ErrorCode.CircuitBreakerOpen;
}

interface Metrics {
  requests: Counter<'section' | 'provider' | 'operation' | 'outcome'>;
  retries: Counter<'section' | 'provider' | 'operation'>;
  breaker: Gauge<'section' | 'provider'>;
  rejected: Counter<'section' | 'provider'>;
}

const metricsByRegistry = new WeakMap<Registry, Metrics>();

/** The resilience series of a registry, created once per registry. */
export function resilienceMetrics(registry: Registry): Metrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  m = {
    requests: get('fraiseql_integration_requests_total', () =>
      tallyCounter({
        name: 'fraiseql_integration_requests_total',
        help: 'Provider calls by operation and outcome (success, error, rejected by an open breaker)',
        labelNames: ['section', 'provider', 'operation', 'outcome'],
        registers: [registry],
      }),
    ),
    retries: get(
      'fraiseql_integration_retries_total',
      () =>
        new Counter({
          name: 'fraiseql_integration_retries_total',
          help: 'Retries of idempotent reads after a transient error',
          labelNames: ['section', 'provider', 'operation'],
          registers: [registry],
        }),
    ),
    breaker: get(
      'fraiseql_integration_circuit_state',
      () =>
        new Gauge({
          name: 'fraiseql_integration_circuit_state',
          help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open',
          labelNames: ['section', 'provider'],
          registers: [registry],
        }),
    ),
    rejected: get(
      'fraiseql_integration_circuit_rejections_total',
      () =>
        new Counter({
          name: 'fraiseql_integration_circuit_rejections_total',
          help: 'Calls rejected at once (IN503) because the breaker was open',
          labelNames: ['section', 'provider'],
          registers: [registry],
        }),
    ),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

export interface ResilienceContext {
  slo?: SloRegistry;
  registry?: Registry;
}

/** What one operation of a Resilience reports; resolved on its first call, not on every call. */
class Operation {
  readonly labels: { section: Section; provider: string; operation: string };
  readonly successLabels: Record<string, string>;
  readonly errorLabels: Record<string, string>;
  readonly rejectedLabels: Record<string, string>;
  /** Plain cells of the request counter (undefined when the registry's counter is not ours). */
  readonly success: CounterCell | undefined;
  readonly error: CounterCell | undefined;
  readonly rejected: CounterCell | undefined;
  /** The SLO tracker, as of `revision` of the SloRegistry. */
  tracker: SloTracker | undefined;
  revision = -1;

  constructor(
    section: Section,
    provider: string,
    readonly operation: string,
    readonly sloOperation: string | undefined,
    metrics: Metrics | undefined,
  ) {
    this.labels = { section, provider, operation };
    this.successLabels = { ...this.labels, outcome: 'success' };
    this.errorLabels = { ...this.labels, outcome: 'error' };
    this.rejectedLabels = { ...this.labels, outcome: 'rejected' };
    this.success = metrics && counterCell(metrics.requests, this.successLabels);
    this.error = metrics && counterCell(metrics.requests, this.errorLabels);
    this.rejected = metrics && counterCell(metrics.requests, this.rejectedLabels);
  }
}

/** One call waiting for its backend, until it settles or its deadline passes; a node of `InFlightList`. */
class InFlight {
  prev: InFlight | undefined = undefined;
  next: InFlight | undefined = undefined;
  /** Still in the list: neither settled nor timed out. */
  linked = true;
  constructor(
    readonly deadline: number,
    readonly operation: string,
    readonly reject: (err: unknown) => void,
  ) {}
}

/** In-flight calls in start order, which is deadline order (one `timeoutMs` per Resilience). */
class InFlightList {
  head: InFlight | undefined = undefined;
  tail: InFlight | undefined = undefined;

  push(call: InFlight): void {
    call.prev = this.tail;
    if (this.tail) this.tail.next = call;
    else this.head = call;
    this.tail = call;
  }

  /** False when the call was not in the list (it timed out). */
  remove(call: InFlight): boolean {
    if (!call.linked) return false;
    call.linked = false;
    const { prev, next } = call;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    call.prev = call.next = undefined;
    return true;
  }
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
      const b = o.breaker ?? {};
      const breaker =
        b.kind === 'sampling'
          ? new SamplingBreaker({
              threshold: Math.min(1, b.threshold ?? 0.5),
              duration: b.windowMs ?? 30_000,
              minimumRps: b.minimumRps ?? 5,
            })
          : new ConsecutiveBreaker(Math.max(1, Math.round(b.threshold ?? 5)));
      this.#breaker = circuitBreaker(handleWhen(isBackendFailure), {
        breaker,
        halfOpenAfter: new ExponentialBackoff({
          initialDelay: b.halfOpenAfterMs ?? 1000,
          maxDelay: b.maxHalfOpenAfterMs ?? 30_000,
        }),
      });
      this.#breaker.onStateChange((s) => {
        this.#state = stateName(s);
        this.#metrics?.breaker.set({ section, provider }, BREAKER_STATE_VALUE[this.#state]);
      });
    }
    if (o.retry !== false) {
      const r = o.retry ?? {};
      this.#retry = retry(handleWhen(isTransientFailure), {
        maxAttempts: r.maxAttempts ?? 2,
        backoff: new ExponentialBackoff({
          initialDelay: r.initialDelayMs ?? 50,
          maxDelay: r.maxDelayMs ?? 1000,
        }),
      });
    }
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
