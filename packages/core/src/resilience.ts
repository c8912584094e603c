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
import type { SloRegistry } from './slo';

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
    requests: get(
      'fraiseql_integration_requests_total',
      () =>
        new Counter({
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

  constructor(section: Section, provider: string, opts: ResilienceOptions = {}, ctx: ResilienceContext = {}) {
    const o = parseResilienceOptions(section, opts);
    this.section = section;
    this.provider = provider;
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
    this.#metrics?.breaker.set({ section, provider }, 0);
    this.#metrics?.rejected.inc({ section, provider }, 0);
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
  async run<T>(
    operation: string,
    sloOperation: string | undefined,
    idempotent: boolean,
    fn: () => Promise<T>,
  ): Promise<T> {
    const start = performance.now();
    const labels = { section: this.section, provider: this.provider, operation };
    try {
      const once = () => this.#withTimeout(operation, fn);
      const guarded = this.#breaker ? () => this.#breaker!.execute(once) : once;
      let result: T;
      try {
        result = await guarded();
      } catch (first) {
        // The retry policy only comes in after a transient failure: the common, successful call
        // pays nothing for it.
        if (!(idempotent && this.#retry && isTransientFailure(first))) throw first;
        let attempt = 0;
        result = await this.#retry.execute(() => {
          if (attempt++ === 0) return Promise.reject(first);
          this.#metrics?.retries.inc(labels);
          return guarded();
        });
      }
      this.#metrics?.requests.inc({ ...labels, outcome: 'success' });
      if (sloOperation)
        this.#slo?.getOrRegister(sloOperation).recordSuccess(performance.now() - start, this.provider);
      return result;
    } catch (raw) {
      const err = this.#translate(raw);
      const rejected = err.code === ErrorCode.CircuitBreakerOpen;
      this.#metrics?.requests.inc({ ...labels, outcome: rejected ? 'rejected' : 'error' });
      if (rejected) this.#metrics?.rejected.inc({ section: this.section, provider: this.provider });
      // Bad input is not the provider failing its objective; an open breaker is.
      if (sloOperation && (rejected || isBackendFailure(err))) {
        this.#slo?.getOrRegister(sloOperation).recordError(this.provider, performance.now() - start);
      }
      throw err;
    }
  }

  #withTimeout<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const code = this.section === 'search' ? ErrorCode.SearchTimeout : ErrorCode.ConnectionTimeout;
        reject(
          new IntegrationError(
            code,
            `[${this.section}-${this.provider}] ${operation} timed out after ${this.timeoutMs} ms`,
            {
              provider: this.provider,
            },
          ),
        );
      }, this.timeoutMs);
    });
    return Promise.race([fn(), timedOut]).finally(() => clearTimeout(timer));
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
