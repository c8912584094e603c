import type { Registry } from 'prom-client';
import type { CacheProvider } from './contracts/cache';
import type { Provider } from './contracts/provider';
import type { EnqueueOptions, QueueProvider } from './contracts/queue';
import type { SearchProvider, SearchQuery, SearchResult } from './contracts/search';
import { ErrorCode, IntegrationError } from './errors';
import type { BreakerState } from './resilience';
import { resilienceOf } from './resilient-providers';
import { SloRegistry, type SloTracker } from './slo';

export interface IntegrationServiceOptions {
  search?: SearchProvider;
  cache?: CacheProvider;
  queue?: QueueProvider;
  /** Trackers to time calls with. Default: a new SloRegistry on `registry`. */
  slo?: SloRegistry;
  /** Where metrics go when no `slo` is given. Default: a private registry. */
  registry?: Registry;
  /** Longest a provider's health check may take before it counts as down. Default 5000. */
  healthCheckTimeoutMs?: number;
}

export type HealthReport = Record<string, boolean>;

export interface ProviderStatus {
  healthy: boolean;
  /** How long the health check took, in ms. */
  checkLatencyMs: number;
  breaker: BreakerState;
  /** Smallest error budget left among the provider's operations (0-1). */
  budgetRemaining: number;
  /** What a provider with a `health()` method reports besides (a tiered cache: both tiers and the bus). */
  details?: Record<string, unknown>;
}

/** A provider's own `health()` details, looked up through wrappers (`inner`); undefined when it has none or it fails. */
async function detailsOf(
  provider: Provider,
  timeoutMs: number,
): Promise<Record<string, unknown> | undefined> {
  let p: unknown = provider;
  for (let depth = 0; depth < 4 && p !== null && typeof p === 'object'; depth++) {
    const health = (p as { health?: unknown }).health;
    if (typeof health === 'function') {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      const answer = Promise.resolve(health.call(p)).then(
        (d: unknown) => (d !== null && typeof d === 'object' ? (d as Record<string, unknown>) : undefined),
        () => undefined,
      );
      return Promise.race([answer, late]).finally(() => clearTimeout(timer));
    }
    p = (p as { inner?: unknown }).inner;
  }
  return undefined;
}

/** Resolves false instead of hanging or throwing: a health check must always answer. */
async function probe(provider: Provider, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      provider.healthCheck().then((ok) => ok === true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref?.();
      }),
    ]);
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * One façade over the configured providers: every call is timed by the matching SloTracker
 * (search → search_query, cache reads → cache_get, writes → cache_set, deletes → cache_delete,
 * enqueue → queue_enqueue).
 */
export class IntegrationService {
  readonly searchProvider?: SearchProvider;
  readonly cacheProvider?: CacheProvider;
  readonly queueProvider?: QueueProvider;
  readonly slo: SloRegistry;
  readonly #healthTimeoutMs: number;
  #closed?: Promise<void>;

  constructor(opts: IntegrationServiceOptions = {}) {
    if (opts.search) this.searchProvider = opts.search;
    if (opts.cache) this.cacheProvider = opts.cache;
    if (opts.queue) this.queueProvider = opts.queue;
    this.slo = opts.slo ?? new SloRegistry(opts.registry ? { registry: opts.registry } : {});
    this.#healthTimeoutMs = opts.healthCheckTimeoutMs ?? 5000;
  }

  #need<P extends Provider>(provider: P | undefined, what: 'search' | 'cache' | 'queue'): P {
    if (!provider) {
      throw IntegrationError.configuration(
        ErrorCode.ProviderNotConfigured,
        `No ${what} provider is configured; add a [${what === 'queue' ? 'queues' : what}] section`,
      );
    }
    return provider;
  }

  #time<T>(op: string, provider: Provider, fn: () => Promise<T>): Promise<T> {
    // A provider from createIntegrations times itself on the same trackers: count once.
    if (resilienceOf(provider)) return fn();
    const tracker: SloTracker = this.slo.getOrRegister(op);
    return tracker.timeAsync(fn, provider.name);
  }

  /** Searches `index`; `query` is the words, or a whole query without `index`. */
  search<T = Record<string, unknown>>(
    index: string,
    query: string | Omit<SearchQuery, 'index'>,
  ): Promise<SearchResult<T>> {
    const p = this.#need(this.searchProvider, 'search');
    const q: SearchQuery = typeof query === 'string' ? { index, query } : { ...query, index };
    return this.#time('search_query', p, () => p.search<T>(q));
  }

  cacheGet(key: string): Promise<Uint8Array | null> {
    const p = this.#need(this.cacheProvider, 'cache');
    return this.#time('cache_get', p, () => p.get(key));
  }

  cacheSet(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    const p = this.#need(this.cacheProvider, 'cache');
    return this.#time('cache_set', p, () => p.set(key, value, ttlMs));
  }

  cacheDelete(key: string): Promise<boolean> {
    const p = this.#need(this.cacheProvider, 'cache');
    return this.#time('cache_delete', p, () => p.delete(key));
  }

  enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string> {
    const p = this.#need(this.queueProvider, 'queue');
    return this.#time('queue_enqueue', p, () => p.enqueue(queue, data, opts));
  }

  /** `{ "search:<name>": bool, "cache:<name>": bool, "queue:<name>": bool }`; a provider that throws or hangs is false. */
  async healthCheck(): Promise<HealthReport> {
    const entries: [string, Provider][] = [];
    if (this.searchProvider) entries.push([`search:${this.searchProvider.name}`, this.searchProvider]);
    if (this.cacheProvider) entries.push([`cache:${this.cacheProvider.name}`, this.cacheProvider]);
    if (this.queueProvider) entries.push([`queue:${this.queueProvider.name}`, this.queueProvider]);
    const results = await Promise.all(entries.map(([, p]) => probe(p, this.#healthTimeoutMs)));
    return Object.fromEntries(entries.map(([k], i) => [k, results[i]!]));
  }

  /**
   * Per provider: healthy (its health check within the timeout), how long the check took, the
   * breaker state (`closed` for a provider without one) and the error budget left of the
   * operations it serves. The in-process budget is for health pages and the CLI; the budget of
   * record is the Prometheus series.
   */
  async status(): Promise<Record<string, ProviderStatus>> {
    const entries: [string, Provider, string[]][] = [];
    if (this.searchProvider)
      entries.push([
        `search:${this.searchProvider.name}`,
        this.searchProvider,
        ['search_query', 'search_index'],
      ]);
    if (this.cacheProvider)
      entries.push([
        `cache:${this.cacheProvider.name}`,
        this.cacheProvider,
        ['cache_get', 'cache_set', 'cache_delete'],
      ]);
    if (this.queueProvider)
      entries.push([
        `queue:${this.queueProvider.name}`,
        this.queueProvider,
        ['queue_enqueue', 'queue_process'],
      ]);
    const out: Record<string, ProviderStatus> = {};
    await Promise.all(
      entries.map(async ([key, provider, ops]) => {
        const start = performance.now();
        const [healthy, details] = await Promise.all([
          probe(provider, this.#healthTimeoutMs),
          detailsOf(provider, this.#healthTimeoutMs),
        ]);
        const budgets = ops.map((op) => this.slo.get(op)?.errorBudgetRemaining() ?? 1);
        out[key] = {
          healthy,
          checkLatencyMs: Math.round((performance.now() - start) * 100) / 100,
          breaker: resilienceOf(provider)?.state ?? 'closed',
          budgetRemaining: Math.min(...budgets),
          ...(details ? { details } : {}),
        };
      }),
    );
    return out;
  }

  /** Closes every provider once; later calls return the same promise. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const providers = [this.searchProvider, this.cacheProvider, this.queueProvider].filter(
        (p): p is NonNullable<typeof p> => !!p,
      );
      const results = await Promise.allSettled(providers.map((p) => p.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.#closed;
  }
}
