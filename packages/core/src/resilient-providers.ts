import { Gauge, Histogram, type Registry } from 'prom-client';
import type { CacheProvider, GetOrSetOptions } from './contracts/cache';
import type { Provider } from './contracts/provider';
import type {
  EnqueueOptions,
  JobHandler,
  JobInfo,
  ListJobsQuery,
  QueueCapabilities,
  QueueProvider,
  Worker,
  WorkerOptions,
} from './contracts/queue';
import type {
  BulkResult,
  Document,
  IndexConfig,
  SearchProvider,
  SearchQuery,
  SearchResult,
} from './contracts/search';
import { ErrorCode, isIntegrationError } from './errors';
import { isBackendFailure, Resilience, type ResilienceContext, type ResilienceOptions } from './resilience';
import { SingleFlight } from './single-flight';
import { assertCacheKey, assertTtl } from './validation';

/** Where a wrapped provider keeps its Resilience (breaker state for health/status). */
export const RESILIENCE = Symbol.for('fraiseql.resilience');

export interface Wrapped<P> {
  /** The provider underneath, for backend-specific methods. */
  readonly inner: P;
  readonly [RESILIENCE]: Resilience;
}

/** The Resilience of a provider returned by `createIntegrations`, if it has one. */
export function resilienceOf(provider: Provider | undefined): Resilience | undefined {
  return (provider as Partial<Wrapped<Provider>> | undefined)?.[RESILIENCE];
}

export interface WrapOptions extends ResilienceContext {
  resilience?: ResilienceOptions;
  /**
   * Queue names used as metric labels (others are reported as "other", so label cardinality stays
   * bounded); their depth and failed counts are gauges collected on scrape. Default: none.
   */
  labelQueues?: readonly string[];
}

const CACHE_OPS = [
  'get',
  'getJson',
  'exists',
  'ttl',
  'set',
  'setJson',
  'expire',
  'incr',
  'delete',
  'deletePattern',
];

class ResilientCache implements CacheProvider, Wrapped<CacheProvider> {
  readonly inner: CacheProvider;
  readonly [RESILIENCE]: Resilience;
  readonly #r: Resilience;
  readonly #flight = new SingleFlight<string>();

  constructor(inner: CacheProvider, opts: WrapOptions) {
    this.inner = inner;
    this.#r = this[RESILIENCE] = new Resilience('cache', inner.name, opts.resilience, opts);
    this.#r.declareOperations(CACHE_OPS);
  }

  get name(): string {
    return this.inner.name;
  }
  get(key: string) {
    return this.#r.run('get', 'cache_get', true, () => this.inner.get(key));
  }
  getJson<T>(key: string) {
    return this.#r.run('getJson', 'cache_get', true, () => this.inner.getJson<T>(key));
  }
  exists(key: string) {
    return this.#r.run('exists', 'cache_get', true, () => this.inner.exists(key));
  }
  ttl(key: string) {
    return this.#r.run('ttl', 'cache_get', true, () => this.inner.ttl(key));
  }
  set(key: string, value: Uint8Array | string, ttlMs?: number) {
    return this.#r.run('set', 'cache_set', false, () => this.inner.set(key, value, ttlMs));
  }
  setJson<T>(key: string, value: T, ttlMs?: number) {
    return this.#r.run('setJson', 'cache_set', false, () => this.inner.setJson(key, value, ttlMs));
  }
  expire(key: string, ttlMs: number) {
    return this.#r.run('expire', 'cache_set', false, () => this.inner.expire(key, ttlMs));
  }
  incr(key: string, delta?: number) {
    return this.#r.run('incr', 'cache_set', false, () => this.inner.incr(key, delta));
  }
  delete(key: string) {
    return this.#r.run('delete', 'cache_delete', false, () => this.inner.delete(key));
  }
  deletePattern(pattern: string) {
    return this.#r.run('deletePattern', 'cache_delete', false, () => this.inner.deletePattern(pattern));
  }

  /**
   * Single-flight like every backend, and it degrades instead of failing: when the cache is down
   * (or its breaker open) `load` still runs — once per key for concurrent callers, so a dead
   * cache does not stampede the source — and its value is returned without being cached.
   */
  async getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    assertCacheKey(key);
    if (opts?.ttlMs !== undefined) assertTtl(opts.ttlMs);
    return this.#flight.run(key, async () => {
      let down = false;
      try {
        const hit = await this.getJson<T>(key);
        if (hit !== null) return hit;
      } catch (err) {
        if (!isBackendFailure(err) && !(isIntegrationError(err) && err.code === ErrorCode.CircuitBreakerOpen))
          throw err;
        down = true;
      }
      const value = await load();
      if (!down && value !== undefined) {
        try {
          await this.setJson(key, value, opts?.ttlMs);
        } catch (err) {
          if (
            !isBackendFailure(err) &&
            !(isIntegrationError(err) && err.code === ErrorCode.CircuitBreakerOpen)
          )
            throw err;
        }
      }
      return value;
    });
  }

  healthCheck() {
    return this.inner.healthCheck();
  }
  close() {
    return this.inner.close();
  }
}

const SEARCH_OPS = [
  'search',
  'indexDocument',
  'indexDocuments',
  'deleteDocument',
  'clearIndex',
  'configureIndex',
];

class ResilientSearch implements SearchProvider, Wrapped<SearchProvider> {
  readonly inner: SearchProvider;
  readonly [RESILIENCE]: Resilience;
  readonly #r: Resilience;

  constructor(inner: SearchProvider, opts: WrapOptions) {
    this.inner = inner;
    this.#r = this[RESILIENCE] = new Resilience('search', inner.name, opts.resilience, opts);
    this.#r.declareOperations(SEARCH_OPS);
  }

  get name(): string {
    return this.inner.name;
  }
  search<T = Record<string, unknown>>(q: SearchQuery): Promise<SearchResult<T>> {
    return this.#r.run('search', 'search_query', true, () => this.inner.search<T>(q));
  }
  indexDocument(doc: Document) {
    return this.#r.run('indexDocument', 'search_index', false, () => this.inner.indexDocument(doc));
  }
  indexDocuments(docs: Document[]): Promise<BulkResult> {
    return this.#r.run('indexDocuments', 'search_index', false, () => this.inner.indexDocuments(docs));
  }
  deleteDocument(index: string, id: string) {
    return this.#r.run('deleteDocument', 'search_index', false, () => this.inner.deleteDocument(index, id));
  }
  clearIndex(index: string) {
    return this.#r.run('clearIndex', 'search_index', false, () => this.inner.clearIndex(index));
  }
  configureIndex(index: string, config: IndexConfig) {
    return this.#r.run('configureIndex', 'search_index', false, () =>
      this.inner.configureIndex(index, config),
    );
  }
  healthCheck() {
    return this.inner.healthCheck();
  }
  close() {
    return this.inner.close();
  }
}

interface JobMetrics {
  duration: Histogram<'queue' | 'outcome'>;
  wait: Histogram<'queue'>;
  depth: Gauge<'queue'>;
  failed: Gauge<'queue'>;
  sources: Set<{ provider: QueueProvider; queues: readonly string[] }>;
}
const jobMetricsByRegistry = new WeakMap<Registry, JobMetrics>();

function jobMetrics(registry: Registry): JobMetrics {
  let m = jobMetricsByRegistry.get(registry);
  if (m) return m;
  const sources = new Set<{ provider: QueueProvider; queues: readonly string[] }>();
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  // Depth is read from the backend when Prometheus scrapes, with a short bound so a slow backend
  // cannot stall the scrape; a queue that does not answer keeps its last value.
  const collect = (which: 'queueLength' | 'failedCount') =>
    async function (this: Gauge<'queue'>) {
      await Promise.all(
        [...sources].flatMap(({ provider, queues }) =>
          queues.map(async (queue) => {
            const n = await Promise.race([
              provider[which](queue).catch(() => undefined),
              new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref()),
            ]);
            if (n !== undefined) this.set({ queue }, n);
          }),
        ),
      );
    };
  m = {
    sources,
    duration: get(
      'fraiseql_integration_job_duration_seconds',
      () =>
        new Histogram({
          name: 'fraiseql_integration_job_duration_seconds',
          help: 'Handler run time per attempt, by outcome (completed, retry, failed)',
          labelNames: ['queue', 'outcome'],
          buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
          registers: [registry],
        }),
    ),
    wait: get(
      'fraiseql_integration_job_wait_seconds',
      () =>
        new Histogram({
          name: 'fraiseql_integration_job_wait_seconds',
          help: 'Enqueue → handler start, first attempts only',
          labelNames: ['queue'],
          buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300],
          registers: [registry],
        }),
    ),
    depth: get(
      'fraiseql_integration_queue_depth',
      () =>
        new Gauge({
          name: 'fraiseql_integration_queue_depth',
          help: 'Pending jobs (delayed included) of each configured queue, read on scrape',
          labelNames: ['queue'],
          registers: [registry],
          collect: collect('queueLength'),
        }),
    ),
    failed: get(
      'fraiseql_integration_queue_failed',
      () =>
        new Gauge({
          name: 'fraiseql_integration_queue_failed',
          help: 'Failed jobs of each configured queue, read on scrape',
          labelNames: ['queue'],
          registers: [registry],
          collect: collect('failedCount'),
        }),
    ),
  };
  jobMetricsByRegistry.set(registry, m);
  return m;
}

const QUEUE_OPS = [
  'enqueue',
  'enqueueDelayed',
  'enqueueMany',
  'queueLength',
  'failedCount',
  'getJob',
  'listJobs',
  'retryJob',
  'deleteJob',
  'pause',
  'resume',
  'isPaused',
];

class ResilientQueue implements QueueProvider, Wrapped<QueueProvider> {
  readonly inner: QueueProvider;
  readonly [RESILIENCE]: Resilience;
  readonly #r: Resilience;
  readonly #opts: WrapOptions;
  readonly #labelled: Set<string>;
  readonly #jobs: JobMetrics | undefined;
  readonly #source: { provider: QueueProvider; queues: readonly string[] };

  constructor(inner: QueueProvider, opts: WrapOptions) {
    this.inner = inner;
    this.#opts = opts;
    this.#r = this[RESILIENCE] = new Resilience('queue', inner.name, opts.resilience, opts);
    this.#r.declareOperations(QUEUE_OPS);
    this.#labelled = new Set(opts.labelQueues ?? []);
    this.#jobs = opts.registry ? jobMetrics(opts.registry) : undefined;
    this.#source = { provider: this, queues: [...this.#labelled] };
    this.#jobs?.sources.add(this.#source);
  }

  get name(): string {
    return this.inner.name;
  }
  get capabilities(): QueueCapabilities {
    return this.inner.capabilities;
  }
  enqueue<T>(queue: string, data: T, opts?: EnqueueOptions) {
    return this.#r.run('enqueue', 'queue_enqueue', false, () => this.inner.enqueue(queue, data, opts));
  }
  enqueueDelayed<T>(queue: string, data: T, delayMs: number, opts?: EnqueueOptions) {
    return this.#r.run('enqueueDelayed', 'queue_enqueue', false, () =>
      this.inner.enqueueDelayed(queue, data, delayMs, opts),
    );
  }
  enqueueMany<T>(queue: string, items: { data: T; opts?: EnqueueOptions }[]) {
    return this.#r.run('enqueueMany', 'queue_enqueue', false, () => this.inner.enqueueMany(queue, items));
  }
  queueLength(queue: string) {
    return this.#r.run('queueLength', undefined, true, () => this.inner.queueLength(queue));
  }
  failedCount(queue: string) {
    return this.#r.run('failedCount', undefined, true, () => this.inner.failedCount(queue));
  }
  getJob(queue: string, id: string): Promise<JobInfo | null> {
    return this.#r.run('getJob', undefined, true, () => this.inner.getJob(queue, id));
  }
  listJobs(queue: string, q: ListJobsQuery) {
    return this.#r.run('listJobs', undefined, true, () => this.inner.listJobs(queue, q));
  }
  retryJob(queue: string, id: string) {
    return this.#r.run('retryJob', undefined, false, () => this.inner.retryJob(queue, id));
  }
  deleteJob(queue: string, id: string) {
    return this.#r.run('deleteJob', undefined, false, () => this.inner.deleteJob(queue, id));
  }
  pause(queue: string) {
    return this.#r.run('pause', undefined, false, () => this.inner.pause(queue));
  }
  resume(queue: string) {
    return this.#r.run('resume', undefined, false, () => this.inner.resume(queue));
  }
  isPaused(queue: string) {
    return this.#r.run('isPaused', undefined, true, () => this.inner.isPaused(queue));
  }

  /** The backend's worker, with each run timed (queue_process SLO, job duration and wait metrics). */
  process<T>(queue: string, handler: JobHandler<T>, opts?: WorkerOptions): Worker {
    const label = this.#labelled.has(queue) ? queue : 'other';
    const tracker = this.#opts.slo?.getOrRegister('queue_process');
    const jobs = this.#jobs;
    const provider = this.inner.name;
    const timed: JobHandler<T> = async (job) => {
      const start = performance.now();
      if (job.attempts === 1)
        jobs?.wait.observe({ queue: label }, Math.max(0, Date.now() - job.createdAt.getTime()) / 1000);
      try {
        const result = await handler(job);
        const ms = performance.now() - start;
        const outcome = !result || result.status === 'complete' ? 'completed' : result.status;
        jobs?.duration.observe({ queue: label, outcome }, ms / 1000);
        if (outcome === 'completed') tracker?.recordSuccess(ms, provider);
        else tracker?.recordError(provider, ms);
        return result;
      } catch (err) {
        const ms = performance.now() - start;
        jobs?.duration.observe({ queue: label, outcome: 'retry' }, ms / 1000);
        tracker?.recordError(provider, ms);
        throw err;
      }
    };
    return this.inner.process(queue, timed, opts);
  }

  healthCheck() {
    return this.inner.healthCheck();
  }
  close() {
    this.#jobs?.sources.delete(this.#source);
    return this.inner.close();
  }
}

/** Wraps a cache with timeout, breaker, retries of reads and SLO timing. */
export function withResilience(
  section: 'cache',
  provider: CacheProvider,
  opts?: WrapOptions,
): CacheProvider & Wrapped<CacheProvider>;
/** Wraps a search provider with timeout, breaker, retries of `search` and SLO timing. */
export function withResilience(
  section: 'search',
  provider: SearchProvider,
  opts?: WrapOptions,
): SearchProvider & Wrapped<SearchProvider>;
/** Wraps a queue with timeout, breaker, retries of reads, SLO timing and job metrics. */
export function withResilience(
  section: 'queue',
  provider: QueueProvider,
  opts?: WrapOptions,
): QueueProvider & Wrapped<QueueProvider>;
export function withResilience(
  section: 'cache' | 'search' | 'queue',
  provider: Provider,
  opts: WrapOptions = {},
): Provider {
  if (section === 'cache') return new ResilientCache(provider as CacheProvider, opts);
  if (section === 'search') return new ResilientSearch(provider as SearchProvider, opts);
  return new ResilientQueue(provider as QueueProvider, opts);
}
