import {
  assertOptionsObject,
  configError,
  describeError,
  ErrorCode,
  type ErrorKind,
  IntegrationError,
  isIntegrationError,
  isPlainObject,
  positiveIntOption,
  positiveOption,
  redactSecrets,
  sleep,
  stringOption,
  urlSecrets,
} from '@fraiseql/core';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CountBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { Agent, request as undiciRequest } from 'undici';
import { TokenBucket } from './token-bucket.ts';
import type {
  DeliverMessage,
  ExponentialBackoff,
  HttpAuth,
  HttpConnector,
  HttpConnectorOptions,
  HttpDestination,
  HttpRequest,
  HttpResponse,
  LinearBackoff,
} from './types.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_BACKOFF: ExponentialBackoff = {
  type: 'exponential',
  initialMs: 100,
  maxMs: 5_000,
  multiplier: 2,
};
/** A Retry-After longer than this is cut to it. */
const MAX_RETRY_AFTER_MS = 60_000;
const PROVIDER = 'connector-http';

/**
 * An HTTP status the connector turned into an error. `status` is the server's answer;
 * `retryable` is false for 4xx other than 408/429 (never retried, never counted by the breaker).
 */
export class HttpStatusError extends IntegrationError {
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    status: number,
    retryable: boolean,
    opts: { kind?: ErrorKind; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, {
      provider: PROVIDER,
      ...(opts.kind ? { kind: opts.kind } : {}),
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
    this.status = status;
    this.retryable = retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Delay before attempt `retry + 1` (`retry` = 1 for the first retry). */
export function backoffDelay(backoff: ExponentialBackoff | LinearBackoff, retry: number): number {
  if (backoff.type === 'linear') return backoff.initialMs + backoff.stepMs * (retry - 1);
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** (retry - 1));
}

function validateBackoff(value: unknown, tag: string): ExponentialBackoff | LinearBackoff {
  if (value === undefined) return DEFAULT_BACKOFF;
  if (!isPlainObject(value)) throw configError(tag, 'retry.backoff must be an object', 'retry.backoff');
  const b = value as Record<string, unknown>;
  if (b.type === 'linear') {
    return {
      type: 'linear',
      initialMs: nonNegative(b.initialMs, 'retry.backoff.initialMs', tag, 0),
      stepMs: nonNegative(b.stepMs, 'retry.backoff.stepMs', tag, 0),
    };
  }
  if (b.type === 'exponential') {
    const initialMs = nonNegative(b.initialMs, 'retry.backoff.initialMs', tag, DEFAULT_BACKOFF.initialMs);
    return {
      type: 'exponential',
      initialMs,
      maxMs: nonNegative(b.maxMs, 'retry.backoff.maxMs', tag, Math.max(initialMs, DEFAULT_BACKOFF.maxMs)),
      multiplier: positiveOption(b.multiplier, 'retry.backoff.multiplier', DEFAULT_BACKOFF.multiplier, tag),
    };
  }
  throw configError(
    tag,
    `retry.backoff.type must be 'exponential' or 'linear', got ${JSON.stringify(b.type)}`,
    'retry.backoff.type',
  );
}

function nonNegative(value: unknown, name: string, tag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw configError(
      tag,
      `${name} must be a non-negative number of milliseconds, got ${String(value)}`,
      name,
    );
  }
  return value;
}

function authHeaders(
  auth: HttpAuth | undefined,
  tag: string,
): { headers: Record<string, string>; secrets: string[] } {
  if (auth === undefined) return { headers: {}, secrets: [] };
  if (!isPlainObject(auth)) throw configError(tag, 'auth must be an object', 'auth');
  const a = auth as Record<string, unknown>;
  if (a.type === 'bearer') {
    const token = stringOption(a.token, 'auth.token', undefined, tag);
    if (token === undefined) throw configError(tag, 'auth.token is required for bearer auth', 'auth.token');
    return { headers: { authorization: `Bearer ${token}` }, secrets: [token] };
  }
  if (a.type === 'basic') {
    const username = stringOption(a.username, 'auth.username', undefined, tag);
    if (username === undefined)
      throw configError(tag, 'auth.username is required for basic auth', 'auth.username');
    if (typeof a.password !== 'string')
      throw configError(tag, 'auth.password must be a string', 'auth.password');
    const encoded = Buffer.from(`${username}:${a.password}`).toString('base64');
    return { headers: { authorization: `Basic ${encoded}` }, secrets: [a.password, encoded] };
  }
  if (a.type === 'header') {
    const name = stringOption(a.name, 'auth.name', undefined, tag, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
    if (name === undefined) throw configError(tag, 'auth.name is required for header auth', 'auth.name');
    const value = stringOption(a.value, 'auth.value', undefined, tag);
    if (value === undefined) throw configError(tag, 'auth.value is required for header auth', 'auth.value');
    return { headers: { [name.toLowerCase()]: value }, secrets: [value] };
  }
  throw configError(
    tag,
    `auth.type must be 'bearer', 'basic' or 'header', got ${JSON.stringify(a.type)}`,
    'auth.type',
  );
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, seconds * 1000));
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - Date.now()));
}

const NETWORK_CODES: Record<string, ErrorCode> = {
  ECONNREFUSED: ErrorCode.ConnectionRefused,
  ETIMEDOUT: ErrorCode.ConnectionTimeout,
  UND_ERR_CONNECT_TIMEOUT: ErrorCode.ConnectionTimeout,
  UND_ERR_HEADERS_TIMEOUT: ErrorCode.ConnectionTimeout,
  UND_ERR_BODY_TIMEOUT: ErrorCode.ConnectionTimeout,
};

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function encodeBody(body: unknown, headers: Record<string, string>): string | Uint8Array | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

function decodeBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (bytes.length === 0) return null;
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('json')) {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return bytes.toString('utf8');
    }
  }
  if (
    type === '' ||
    type.startsWith('text/') ||
    type.includes('xml') ||
    type.includes('x-www-form-urlencoded')
  ) {
    return bytes.toString('utf8');
  }
  return new Uint8Array(bytes);
}

/**
 * An HTTP connector on undici: base URL, auth, a timeout per attempt, retries with backoff on
 * 408/429 (Retry-After honoured)/5xx/timeouts/connection errors, a token-bucket rate limit and a
 * circuit breaker. Errors are IntegrationErrors whose messages name the connector, method and path
 * (`[connector-http crm] POST /orders answered 503 after 3 attempts`) and never contain the
 * credentials or the query string.
 */
export async function createHttpConnector(options: HttpConnectorOptions): Promise<HttpConnector> {
  assertOptionsObject(options, PROVIDER);
  const name = stringOption(options.name, 'name', undefined, PROVIDER);
  if (name === undefined) throw configError(PROVIDER, 'name is required', 'name');
  const tag = `${PROVIDER} ${name}`;
  const baseText = stringOption(options.baseUrl, 'baseUrl', undefined, tag);
  if (baseText === undefined) throw configError(tag, 'baseUrl is required', 'baseUrl');
  let base: URL;
  try {
    base = new URL(baseText);
  } catch {
    throw configError(
      tag,
      `baseUrl is not a URL: ${JSON.stringify(redactSecrets(baseText, urlSecrets(baseText)))}`,
      'baseUrl',
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw configError(tag, `baseUrl must be an http:// or https:// URL, got ${base.protocol}//…`, 'baseUrl');
  }
  const secrets = urlSecrets(baseText);
  let auth = options.auth;
  if (base.username && auth === undefined) {
    auth = {
      type: 'basic',
      username: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
    };
  }
  base.username = '';
  base.password = '';
  const a = authHeaders(auth, tag);
  secrets.push(...a.secrets);
  const baseHref = base.href.replace(/\/+$/, '');
  const basePath = base.pathname.replace(/\/+$/, '');

  const timeoutMs = positiveOption(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS, tag, 'milliseconds');
  if (options.retry !== undefined && !isPlainObject(options.retry))
    throw configError(tag, 'retry must be an object', 'retry');
  const maxAttempts = positiveIntOption(options.retry?.maxAttempts, 'retry.maxAttempts', 3, tag);
  const backoff = validateBackoff(options.retry?.backoff, tag);
  const wait = options.sleep ?? ((ms: number) => sleep(ms));

  let bucket: TokenBucket | undefined;
  if (options.rateLimit !== undefined) {
    if (!isPlainObject(options.rateLimit)) throw configError(tag, 'rateLimit must be an object', 'rateLimit');
    const rps = positiveOption(
      options.rateLimit.requestsPerSecond,
      'rateLimit.requestsPerSecond',
      undefined,
      tag,
    );
    if (rps === undefined)
      throw configError(tag, 'rateLimit.requestsPerSecond is required', 'rateLimit.requestsPerSecond');
    const burst = positiveIntOption(
      options.rateLimit.burstSize,
      'rateLimit.burstSize',
      Math.max(1, Math.ceil(rps)),
      tag,
    );
    bucket = new TokenBucket(rps, burst);
  }

  let breaker: CircuitBreakerPolicy | undefined;
  if (options.breaker !== undefined) {
    if (!isPlainObject(options.breaker)) throw configError(tag, 'breaker must be an object', 'breaker');
    const b = options.breaker;
    const threshold = positiveOption(b.failureRateThreshold, 'breaker.failureRateThreshold', 0.5, tag);
    if (threshold > 1)
      throw configError(
        tag,
        `breaker.failureRateThreshold must be at most 1, got ${threshold}`,
        'breaker.failureRateThreshold',
      );
    const minimum = positiveIntOption(b.minimumRequests, 'breaker.minimumRequests', 5, tag);
    const halfOpenAfter = positiveOption(
      b.halfOpenAfterMs,
      'breaker.halfOpenAfterMs',
      5_000,
      tag,
      'milliseconds',
    );
    breaker = circuitBreaker(
      handleWhen((err) => !(err instanceof HttpStatusError && !err.retryable)),
      {
        breaker: new CountBreaker({ threshold, size: minimum, minimumNumberOfCalls: minimum }),
        halfOpenAfter,
      },
    );
  }

  const defaultHeaders: Record<string, string> = { accept: 'application/json' };
  for (const [k, v] of Object.entries(options.headers ?? {})) defaultHeaders[k.toLowerCase()] = String(v);
  const agent = new Agent({ connect: { timeout: timeoutMs } });
  let closed = false;

  const clean = (text: string) => redactSecrets(text, secrets);

  function target(req: HttpRequest): { url: string; shown: string } {
    if (req === null || typeof req !== 'object') throw configError(tag, 'request must be an object');
    const path = typeof req.path === 'string' ? req.path : '';
    const rel = path === '' ? '' : path.startsWith('/') ? path : `/${path}`;
    let url = baseHref + rel;
    if (req.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(req.query))
        if (v !== undefined && v !== null) qs.append(k, String(v));
      const text = qs.toString();
      if (text) url += (url.includes('?') ? '&' : '?') + text;
    }
    // Messages show the path only: query strings often carry keys.
    const shown = clean((basePath + rel).split('?')[0] || '/');
    return { url, shown };
  }

  /** One attempt: resolves with any status below 400 (and 3xx), throws HttpStatusError otherwise. */
  async function send(method: string, url: string, shown: string, req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...defaultHeaders };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = String(v);
    Object.assign(headers, a.headers);
    const body = encodeBody(req.body, headers);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const what = `[${tag}] ${method} ${shown}`;
    try {
      const res = await undiciRequest(url, {
        method: method as any,
        headers,
        body,
        dispatcher: agent,
        signal: controller.signal,
      });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      const resHeaders = flattenHeaders(res.headers as Record<string, string | string[] | undefined>);
      const status = res.statusCode;
      if (status < 400)
        return { status, headers: resHeaders, body: decodeBody(bytes, resHeaders['content-type']) };
      const message = `${what} answered ${status}`;
      if (status === 429 || status === 408) {
        const retryAfterMs = parseRetryAfter(resHeaders['retry-after']);
        throw new HttpStatusError(ErrorCode.ProviderUnavailable, message, status, true, {
          kind: 'http',
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      if (status >= 500) {
        const retryAfterMs = status === 503 ? parseRetryAfter(resHeaders['retry-after']) : undefined;
        throw new HttpStatusError(ErrorCode.ProviderUnavailable, message, status, true, {
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      const code =
        status === 401
          ? ErrorCode.Unauthorized
          : status === 403
            ? ErrorCode.Forbidden
            : ErrorCode.ProviderUnavailable;
      throw new HttpStatusError(
        code,
        message,
        status,
        false,
        code === ErrorCode.ProviderUnavailable ? { kind: 'http' } : {},
      );
    } catch (err) {
      if (err instanceof HttpStatusError) throw err;
      if (controller.signal.aborted) {
        throw new HttpStatusError(
          ErrorCode.ConnectionTimeout,
          `${what} timed out after ${timeoutMs} ms`,
          0,
          true,
        );
      }
      const code =
        NETWORK_CODES[(err as any)?.code] ??
        NETWORK_CODES[(err as any)?.cause?.code] ??
        ErrorCode.ProviderUnavailable;
      throw new HttpStatusError(code, `${what} failed: ${describeError(err, secrets)}`, 0, true);
    } finally {
      clearTimeout(timer);
    }
  }

  async function request(req: HttpRequest): Promise<HttpResponse> {
    if (closed)
      throw new IntegrationError(ErrorCode.ProviderUnavailable, `[${tag}] connector is closed`, {
        provider: PROVIDER,
      });
    const method = (req?.method ?? 'GET').toUpperCase();
    const { url, shown } = target(req);
    let last: HttpStatusError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        const delay = Math.max(backoffDelay(backoff, attempt - 1), last?.retryAfterMs ?? 0);
        await wait(delay);
      }
      if (bucket) await bucket.acquire();
      try {
        return breaker
          ? await breaker.execute(() => send(method, url, shown, req))
          : await send(method, url, shown, req);
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          throw new IntegrationError(
            ErrorCode.CircuitBreakerOpen,
            `[${tag}] ${method} ${shown}: circuit breaker is open`,
            {
              provider: PROVIDER,
              cause: err,
            },
          );
        }
        if (!(err instanceof HttpStatusError)) {
          throw isIntegrationError(err)
            ? err
            : new IntegrationError(
                ErrorCode.ProviderUnavailable,
                `[${tag}] ${method} ${shown} failed: ${describeError(err, secrets)}`,
                { provider: PROVIDER },
              );
        }
        if (!err.retryable) throw err;
        last = err;
      }
    }
    const final = last!;
    if (maxAttempts === 1) throw final;
    throw new HttpStatusError(
      final.code,
      `${final.message} after ${maxAttempts} attempts`,
      final.status,
      true,
      {
        kind: final.kind,
        cause: final,
      },
    );
  }

  return {
    name,
    type: 'http',
    request,
    async deliver(message: DeliverMessage, destination: HttpDestination = {}): Promise<void> {
      const headers: Record<string, string> = { ...(destination.headers ?? {}) };
      if (message?.id !== undefined && headers['x-message-id'] === undefined)
        headers['x-message-id'] = String(message.id);
      await request({
        method: destination.method ?? 'POST',
        path: destination.path ?? '/',
        body: message?.body,
        headers,
      });
    },
    async test() {
      const started = performance.now();
      const latency = () => Math.round((performance.now() - started) * 100) / 100;
      try {
        const res = await send('HEAD', baseHref, clean(basePath || '/'), { path: '' });
        return { ok: true, latencyMs: latency(), detail: `HTTP ${res.status}` };
      } catch (err) {
        if (err instanceof HttpStatusError && err.status > 0 && err.status < 500) {
          return { ok: true, latencyMs: latency(), detail: `HTTP ${err.status}` };
        }
        return {
          ok: false,
          latencyMs: latency(),
          detail: clean(err instanceof Error ? err.message : String(err)),
        };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await agent.close();
    },
  };
}
