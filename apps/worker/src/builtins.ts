import {
  type CacheProvider,
  isIntegrationError,
  type Job,
  type JobHandler,
  type JobResult,
  type SearchProvider,
} from '@fraiseql/core';
import {
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  isBrokenCircuitError,
} from 'cockatiel';

/** Payload of the `webhook` queue. */
export interface WebhookPayload {
  url: string;
  /** Default `POST`. */
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  /** Default 10_000. */
  timeoutMs?: number;
}

/** Payload of the `search.index` queue: plain documents carrying their primary key. */
export interface SearchIndexPayload {
  index: string;
  documents: Record<string, unknown>[];
}

export interface SearchDeletePayload {
  index: string;
  ids: string[];
}

export interface CacheInvalidatePayload {
  keys?: string[];
  pattern?: string;
}

const fail = (reason: string): JobResult => ({ status: 'failed', reason });

/** Bad input (an invalid index name, a bad key) fails the job at once; anything else is retried. */
async function orFailOnBadInput(fn: () => Promise<JobResult>): Promise<JobResult> {
  try {
    return await fn();
  } catch (err) {
    if (isIntegrationError(err) && (err.isClientError || err.kind === 'not_found'))
      return fail(`${err.code}: ${err.message}`);
    throw err;
  }
}
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export interface WebhookOptions {
  /** Consecutive failures of one host that open its breaker. Default 5. */
  breakerThreshold?: number;
  /** First wait before a half-open probe of a host; doubles while it keeps failing. Default 10_000. */
  breakerHalfOpenAfterMs?: number;
  /** Default request timeout when the payload names none. Default 10_000. */
  defaultTimeoutMs?: number;
  /** Custom fetch (tests). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/**
 * POSTs (or `method`s) to a URL: 2xx completes; 4xx fails at once except 408 and 429, which are
 * retried (429 honours `Retry-After`); 5xx, network errors and timeouts are retried. Each host has
 * its own breaker, so one dead endpoint does not burn every job's attempts: while it is open the
 * job is put back with the breaker's wait instead of calling out.
 */
export function webhookHandler(opts: WebhookOptions = {}): JobHandler<WebhookPayload> {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const threshold = opts.breakerThreshold ?? 5;
  const halfOpenAfter = opts.breakerHalfOpenAfterMs ?? 10_000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const breakerFor = (host: string) => {
    let b = breakers.get(host);
    if (!b) {
      b = circuitBreaker(handleAll, {
        breaker: new ConsecutiveBreaker(threshold),
        halfOpenAfter: new ExponentialBackoff({ initialDelay: halfOpenAfter, maxDelay: halfOpenAfter * 8 }),
      });
      breakers.set(host, b);
    }
    return b;
  };

  return async (job: Job<WebhookPayload>): Promise<JobResult> => {
    const p = job.data;
    if (!isObject(p) || typeof p.url !== 'string') return fail('webhook payload needs { url }');
    let url: URL;
    try {
      url = new URL(p.url);
    } catch {
      return fail(`webhook url is not a URL: ${JSON.stringify(p.url).slice(0, 200)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return fail(`webhook url must be http(s), got ${url.protocol}`);
    const method = (p.method ?? 'POST').toUpperCase();
    if (!/^[A-Z]{3,10}$/.test(method)) return fail(`webhook method ${JSON.stringify(p.method)} is not valid`);
    const timeoutMs = p.timeoutMs ?? opts.defaultTimeoutMs ?? 10_000;
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs)))
      return fail('webhook timeoutMs must be a positive number');
    if (
      p.headers !== undefined &&
      (!isObject(p.headers) || Object.values(p.headers).some((v) => typeof v !== 'string'))
    ) {
      return fail('webhook headers must be an object of strings');
    }
    const headers: Record<string, string> = { ...(p.headers as Record<string, string> | undefined) };
    let body: string | undefined;
    if (p.body !== undefined && method !== 'GET' && method !== 'HEAD') {
      body = typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
      if (
        typeof p.body !== 'string' &&
        !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
      ) {
        headers['content-type'] = 'application/json';
      }
    }
    const where = `${method} ${url.origin}${url.pathname}`; // no query string: it may carry tokens
    const breaker = breakerFor(url.host);
    let status: number;
    let retryAfterMs: number | undefined;
    try {
      status = await breaker.execute(async () => {
        const res = await doFetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          redirect: 'manual',
          signal: AbortSignal.any([job.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.body?.cancel().catch(() => {});
        const ra = res.headers.get('retry-after');
        if (ra) {
          const secs = Number(ra);
          retryAfterMs = Number.isFinite(secs)
            ? secs * 1000
            : Math.max(0, Date.parse(ra) - Date.now()) || undefined;
        }
        // Only server-side trouble counts against the host's breaker; a 4xx is the payload's fault.
        if (res.status >= 500 || res.status === 429)
          throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
        return res.status;
      });
    } catch (err) {
      if (isBrokenCircuitError(err))
        return { status: 'retry', reason: `${where}: circuit open for ${url.host}`, delayMs: halfOpenAfter };
      const s = (err as { status?: number }).status;
      if (s === 429)
        return {
          status: 'retry',
          reason: `${where}: HTTP 429`,
          ...(retryAfterMs === undefined ? {} : { delayMs: retryAfterMs }),
        };
      if (s !== undefined) return { status: 'retry', reason: `${where}: HTTP ${s}` };
      const e = err as Error;
      const why =
        e.name === 'TimeoutError' || e.name === 'AbortError' ? `timed out after ${timeoutMs} ms` : e.message;
      return { status: 'retry', reason: `${where}: ${why}` };
    }
    if (status >= 200 && status < 300) return { status: 'complete' };
    if (status === 408) return { status: 'retry', reason: `${where}: HTTP 408` };
    if (status >= 300 && status < 400) return fail(`${where}: HTTP ${status} (redirects are not followed)`);
    return fail(`${where}: HTTP ${status}`);
  };
}

/** `search.index`: indexes plain documents (primary key from the index config, default `id`). */
export function searchIndexHandler(
  search: SearchProvider,
  primaryKeys: Record<string, string> = {},
): JobHandler<SearchIndexPayload> {
  return async (job) => {
    const p = job.data;
    if (!isObject(p) || typeof p.index !== 'string' || !Array.isArray(p.documents))
      return fail('search.index payload needs { index, documents: [...] }');
    const pk = primaryKeys[p.index] ?? 'id';
    const docs = p.documents.map((d) => ({
      id: isObject(d) && (typeof d[pk] === 'string' || typeof d[pk] === 'number') ? String(d[pk]) : '',
      index: p.index,
      data: isObject(d) ? d : ({} as Record<string, unknown>),
    }));
    return orFailOnBadInput(async () => {
      const result = await search.indexDocuments(docs);
      if (result.failed.length > 0) {
        const list = result.failed
          .slice(0, 10)
          .map((f) => `${f.id || '(no id)'}: ${f.reason}`)
          .join('; ');
        // The good ones are in; re-running would not fix the bad ones.
        return fail(`${result.failed.length} of ${docs.length} documents failed: ${list}`);
      }
      return { status: 'complete' };
    });
  };
}

/** `search.delete`: deletes documents by id. */
export function searchDeleteHandler(search: SearchProvider): JobHandler<SearchDeletePayload> {
  return async (job) => {
    const p = job.data;
    if (
      !isObject(p) ||
      typeof p.index !== 'string' ||
      !Array.isArray(p.ids) ||
      !p.ids.every((id) => typeof id === 'string')
    ) {
      return fail('search.delete payload needs { index, ids: string[] }');
    }
    return orFailOnBadInput(async () => {
      for (const id of p.ids) await search.deleteDocument(p.index, id);
      return { status: 'complete' };
    });
  };
}

/** `cache.invalidate`: deletes keys and/or a glob pattern. */
export function cacheInvalidateHandler(cache: CacheProvider): JobHandler<CacheInvalidatePayload> {
  return async (job) => {
    const p: unknown = job.data;
    if (!isObject(p)) return fail('cache.invalidate payload needs { keys?: string[], pattern?: string }');
    const { keys, pattern } = p;
    const keysOk = keys === undefined || (Array.isArray(keys) && keys.every((k) => typeof k === 'string'));
    const patternOk = pattern === undefined || typeof pattern === 'string';
    if (!keysOk || !patternOk || (keys === undefined && pattern === undefined)) {
      return fail('cache.invalidate payload needs { keys?: string[], pattern?: string } (at least one)');
    }
    return orFailOnBadInput(async () => {
      for (const key of (keys as string[] | undefined) ?? []) await cache.delete(key);
      if (typeof pattern === 'string') await cache.deletePattern(pattern);
      return { status: 'complete' };
    });
  };
}

/** The names of the built-in queues. */
export const BUILTIN_QUEUES = [
  'webhook',
  'search.index',
  'search.delete',
  'search.reindex',
  'cache.invalidate',
] as const;
