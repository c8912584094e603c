/**
 * Stable error codes. The string values never change; new codes are only added inside the
 * range of their family (IN0xx configuration, IN1xx search, IN2xx cache, IN3xx queue,
 * IN4xx provider, IN5xx network).
 */
export const ErrorCode = {
  // IN001-099 configuration
  MissingConfiguration: 'IN001',
  InvalidConfiguration: 'IN002',
  MissingEnvVar: 'IN003',
  ProviderNotConfigured: 'IN004',
  /** An option or operation the configured backend cannot honour (e.g. dedup on RabbitMQ). */
  UnsupportedOperation: 'IN005',
  /** A request without credentials (HTTP 401). */
  Unauthorized: 'IN006',
  /** A request with wrong credentials (HTTP 403). */
  Forbidden: 'IN007',
  /** An HTTP path or method no route serves (404/405). */
  RouteNotFound: 'IN008',
  // IN100-199 search
  IndexNotFound: 'IN100',
  InvalidSearchQuery: 'IN101',
  SearchTimeout: 'IN102',
  IndexAlreadyExists: 'IN103',
  DocumentNotFound: 'IN104',
  IndexingFailed: 'IN105',
  /** Index names are 1-64 chars of `[A-Za-z0-9_-]` on every engine. */
  InvalidIndexName: 'IN106',
  /** A document without an id, with a non-object body, or one the engine cannot store. */
  InvalidDocument: 'IN107',
  // IN200-299 cache
  CacheKeyNotFound: 'IN200',
  CacheConnectionFailed: 'IN201',
  CacheSerializationError: 'IN202',
  CacheCapacityExceeded: 'IN203',
  InvalidTtl: 'IN204',
  /** Keys are non-empty strings of at most 1024 UTF-8 bytes. */
  InvalidCacheKey: 'IN205',
  // IN300-399 queue
  JobNotFound: 'IN300',
  QueueNotFound: 'IN301',
  DuplicateJob: 'IN302',
  JobProcessingFailed: 'IN303',
  QueuePaused: 'IN304',
  JobTimeout: 'IN305',
  MaxRetriesExceeded: 'IN306',
  /** Queue names are 1-128 chars of `[A-Za-z0-9_.:-]`. */
  InvalidQueueName: 'IN307',
  /** Job data that cannot be serialised (BigInt, cycles, functions) or is over the size limit. */
  InvalidJobData: 'IN308',
  /** Options of enqueue/process that are out of range (negative delay, concurrency 0, ...). */
  InvalidJobOptions: 'IN309',
  // IN400-499 provider
  MeilisearchError: 'IN400',
  TypesenseError: 'IN401',
  AlgoliaError: 'IN402',
  RedisError: 'IN403',
  RabbitMQError: 'IN404',
  PostgresError: 'IN405',
  /** Elasticsearch answered an error that no search/network code describes (auth, mapping, cluster). */
  ElasticsearchError: 'IN406',
  // IN500-599 network
  ConnectionTimeout: 'IN500',
  ConnectionRefused: 'IN501',
  ProviderUnavailable: 'IN502',
  CircuitBreakerOpen: 'IN503',
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCode = (typeof ErrorCode)[ErrorCodeName];

/** What sort of failure a code is; decides the HTTP status. */
export type ErrorKind =
  | 'configuration'
  | 'provider'
  | 'not_found'
  | 'invalid_input'
  | 'circuit_open'
  | 'database'
  | 'serialization'
  | 'http'
  | 'unauthorized'
  | 'forbidden';

const KIND_STATUS: Record<ErrorKind, number> = {
  configuration: 500,
  provider: 502,
  not_found: 404,
  invalid_input: 400,
  circuit_open: 503,
  database: 500,
  serialization: 400,
  http: 502,
  unauthorized: 401,
  forbidden: 403,
};

const CODE_KIND: Record<ErrorCode, ErrorKind> = {
  IN001: 'configuration',
  IN002: 'configuration',
  IN003: 'configuration',
  IN004: 'configuration',
  IN005: 'invalid_input',
  IN006: 'unauthorized',
  IN007: 'forbidden',
  IN008: 'not_found',
  IN100: 'not_found',
  IN101: 'invalid_input',
  IN102: 'provider',
  IN103: 'invalid_input',
  IN104: 'not_found',
  IN105: 'provider',
  IN106: 'invalid_input',
  IN107: 'invalid_input',
  IN200: 'not_found',
  IN201: 'provider',
  IN202: 'serialization',
  IN203: 'invalid_input',
  IN204: 'invalid_input',
  IN205: 'invalid_input',
  IN300: 'not_found',
  IN301: 'not_found',
  IN302: 'invalid_input',
  IN303: 'provider',
  IN304: 'provider',
  IN305: 'provider',
  IN306: 'provider',
  IN307: 'invalid_input',
  IN308: 'invalid_input',
  IN309: 'invalid_input',
  IN400: 'provider',
  IN401: 'provider',
  IN402: 'provider',
  IN403: 'provider',
  IN404: 'provider',
  IN405: 'database',
  IN406: 'provider',
  IN500: 'provider',
  IN501: 'provider',
  IN502: 'provider',
  IN503: 'circuit_open',
};

const CODE_NAME = Object.fromEntries(Object.entries(ErrorCode).map(([name, code]) => [code, name])) as Record<
  ErrorCode,
  ErrorCodeName
>;

const TRANSIENT = new Set<ErrorCode>(['IN102', 'IN201', 'IN500', 'IN501', 'IN502', 'IN503']);

export const DOCS_BASE_URL = 'https://fraiseql.dev/docs/errors/';

/** Every code, in table order. */
export const ALL_ERROR_CODES = Object.values(ErrorCode) as ErrorCode[];

/** The symbolic name of a code (`IN100` → `IndexNotFound`). */
export function errorCodeName(code: ErrorCode): ErrorCodeName {
  return CODE_NAME[code];
}

/** The kind a code belongs to. */
export function errorKindOf(code: ErrorCode): ErrorKind {
  return CODE_KIND[code];
}

/** HTTP status for a kind (configuration 500, provider 502, not_found 404, …). */
export function httpStatusOfKind(kind: ErrorKind): number {
  return KIND_STATUS[kind];
}

/** Failures worth retrying: timeouts, refused/unavailable connections, an open breaker. */
export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}

/** Failures caused by the caller's input; retrying the same call cannot succeed. */
export function isClientError(code: ErrorCode): boolean {
  return CODE_KIND[code] === 'invalid_input' || CODE_KIND[code] === 'serialization';
}

export function docsUrlOf(code: ErrorCode): string {
  return DOCS_BASE_URL + code;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in CODE_KIND;
}

/** The JSON body every HTTP surface returns for an error (snake_case, absent keys omitted). */
export interface ErrorResponseBody {
  error: {
    code: ErrorCode;
    message: string;
    provider?: string;
    resource_type?: string;
    field?: string;
    docs_url: string;
  };
}

export interface IntegrationErrorOptions {
  /** Overrides the kind derived from the code. */
  kind?: ErrorKind;
  provider?: string;
  resourceType?: string;
  field?: string;
  cause?: unknown;
}

/**
 * The one error type every provider throws. Driver errors are kept as `cause` and never thrown
 * raw. Messages must not contain secrets: providers pass URLs through `redactSecrets` first.
 */
export class IntegrationError extends Error {
  override readonly name = 'IntegrationError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly provider?: string;
  readonly resourceType?: string;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, opts: IntegrationErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.kind = opts.kind ?? CODE_KIND[code] ?? 'provider';
    if (opts.provider !== undefined) this.provider = opts.provider;
    if (opts.resourceType !== undefined) this.resourceType = opts.resourceType;
    if (opts.field !== undefined) this.field = opts.field;
  }

  get httpStatus(): number {
    return KIND_STATUS[this.kind];
  }

  get docsUrl(): string {
    return docsUrlOf(this.code);
  }

  get isTransient(): boolean {
    return isTransient(this.code);
  }

  get isClientError(): boolean {
    return isClientError(this.code);
  }

  toJSON(): ErrorResponseBody {
    const error: Partial<ErrorResponseBody['error']> = { code: this.code, message: this.message };
    if (this.provider !== undefined) error.provider = this.provider;
    if (this.resourceType !== undefined) error.resource_type = this.resourceType;
    if (this.field !== undefined) error.field = this.field;
    error.docs_url = this.docsUrl;
    return { error: error as ErrorResponseBody['error'] };
  }

  static indexNotFound(index: string): IntegrationError {
    return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${index}`, {
      resourceType: 'index',
    });
  }

  static jobNotFound(id: string): IntegrationError {
    return new IntegrationError(ErrorCode.JobNotFound, `Job not found: ${id}`, { resourceType: 'job' });
  }

  static cacheKeyNotFound(key: string): IntegrationError {
    return new IntegrationError(ErrorCode.CacheKeyNotFound, `Cache key not found: ${key}`, {
      resourceType: 'cache_key',
    });
  }

  static duplicateJob(dedupKey: string): IntegrationError {
    return new IntegrationError(ErrorCode.DuplicateJob, `Duplicate job: ${dedupKey}`, {
      resourceType: 'job',
    });
  }

  static configuration(code: ErrorCode, message: string): IntegrationError {
    return new IntegrationError(code, message, { kind: 'configuration' });
  }

  static provider(code: ErrorCode, provider: string, message: string, cause?: unknown): IntegrationError {
    const kind = CODE_KIND[code] === 'database' ? 'database' : 'provider';
    return new IntegrationError(code, message, { kind, provider, cause });
  }

  static invalidInput(code: ErrorCode, message: string, field?: string): IntegrationError {
    const kind = CODE_KIND[code] === 'serialization' ? 'serialization' : 'invalid_input';
    return new IntegrationError(code, message, field === undefined ? { kind } : { kind, field });
  }

  static circuitOpen(provider: string): IntegrationError {
    return new IntegrationError(ErrorCode.CircuitBreakerOpen, `Circuit breaker open for ${provider}`, {
      kind: 'circuit_open',
      provider,
    });
  }
}

export function isIntegrationError(value: unknown): value is IntegrationError {
  return (
    value instanceof IntegrationError ||
    (value instanceof Error && value.name === 'IntegrationError' && isErrorCode((value as any).code))
  );
}

const SECRET_PATTERNS: [RegExp, string][] = [
  // scheme://user:password@host → scheme://user:***@host
  [/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/?#\s]+@/gi, '$1***@'],
  // ?password=…, &api_key=…, token=…
  // (any prefix: access_token=, client_secret=, x-api-key=)
  [
    /\b([a-z0-9_-]*?(?:pass(?:word)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth)=)[^&\s"']+/gi,
    '$1***',
  ],
  // Authorization: Bearer … / X-…-API-Key: … in echoed headers
  [/\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***'],
  [/\b(x-(?:meili|typesense|algolia)[a-z-]*-?(?:api-)?key["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, '$1***'],
];

/** Removes passwords in URLs, tokens and API keys from a string before it reaches a log or error. */
export function redactSecrets(text: string, extraSecrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const [re, rep] of SECRET_PATTERNS) out = out.replace(re, rep);
  for (const s of extraSecrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

/** The message of anything thrown, without secrets. */
export function describeError(err: unknown, extraSecrets: readonly (string | undefined)[] = []): string {
  const msg = err instanceof Error ? err.message || err.name : typeof err === 'string' ? err : String(err);
  return redactSecrets(msg, extraSecrets);
}

const NETWORK_CODES: Record<string, ErrorCode> = {
  ECONNREFUSED: ErrorCode.ConnectionRefused,
  ETIMEDOUT: ErrorCode.ConnectionTimeout,
  ESOCKETTIMEDOUT: ErrorCode.ConnectionTimeout,
  ECONNRESET: ErrorCode.ProviderUnavailable,
  EPIPE: ErrorCode.ProviderUnavailable,
  ENOTFOUND: ErrorCode.ProviderUnavailable,
  EAI_AGAIN: ErrorCode.ProviderUnavailable,
  EHOSTUNREACH: ErrorCode.ProviderUnavailable,
  ENETUNREACH: ErrorCode.ProviderUnavailable,
  UND_ERR_CONNECT_TIMEOUT: ErrorCode.ConnectionTimeout,
  UND_ERR_SOCKET: ErrorCode.ProviderUnavailable,
};

/** Maps a Node/undici network error code (`ECONNREFUSED`, …) to our IN5xx code, if it is one. */
export function networkErrorCode(err: unknown): ErrorCode | undefined {
  let e: any = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const c = e.code;
    if (typeof c === 'string' && NETWORK_CODES[c]) return NETWORK_CODES[c];
    if (Array.isArray(e.errors)) {
      for (const inner of e.errors) {
        const found = networkErrorCode(inner);
        if (found) return found;
      }
    }
    e = e.cause;
  }
  return undefined;
}

/**
 * Wraps anything a driver threw into an IntegrationError: an IntegrationError passes through,
 * network failures become IN5xx, everything else `fallback` — with the driver error as `cause`
 * and a context prefix (`[cache-redis] SCAN failed for pattern "user:*": …`).
 */
export function wrapError(
  err: unknown,
  fallback: ErrorCode,
  provider: string,
  context: string,
  extraSecrets: readonly (string | undefined)[] = [],
): IntegrationError {
  if (isIntegrationError(err)) return err;
  const code = networkErrorCode(err) ?? fallback;
  return IntegrationError.provider(
    code,
    provider,
    `[${provider}] ${context}: ${describeError(err, extraSecrets)}`,
    err,
  );
}
