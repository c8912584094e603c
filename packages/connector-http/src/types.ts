/** How requests authenticate; the secret values are passed in (config `*_env` is resolved by the caller). */
export type HttpAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export type ExponentialBackoff = {
  type: 'exponential';
  initialMs: number;
  maxMs: number;
  multiplier: number;
};
export type LinearBackoff = { type: 'linear'; initialMs: number; stepMs: number };

export interface HttpRetryOptions {
  /** Attempts in all, the first one included. Default 3; 1 turns retries off. */
  maxAttempts?: number;
  /** Delay between attempts. Default exponential 100 ms × 2 up to 5 s. */
  backoff?: ExponentialBackoff | LinearBackoff;
}

export interface HttpRateLimitOptions {
  /** Tokens added per second. */
  requestsPerSecond: number;
  /** Bucket size: requests that may go at once after a quiet period. Default = ceil(requestsPerSecond). */
  burstSize?: number;
}

export interface HttpBreakerOptions {
  /** Share of failed requests (0-1] over the last `minimumRequests`… window that opens the breaker. Default 0.5. */
  failureRateThreshold?: number;
  /** Requests counted before the rate is judged (and size of the sliding window). Default 5. */
  minimumRequests?: number;
  /** Time the breaker stays open before one probe request goes through (half-open). Default 5000 ms. */
  halfOpenAfterMs?: number;
}

export interface HttpConnectorOptions {
  /** Connector name, used by flows and in every error message. */
  name: string;
  /** `http://` or `https://` base URL; request paths are appended to it. */
  baseUrl: string;
  auth?: HttpAuth;
  /** Limit per attempt (connect, headers and body). Default 30000 ms. */
  timeoutMs?: number;
  retry?: HttpRetryOptions;
  /** Token bucket in front of every attempt: requests wait for a token, none is dropped. */
  rateLimit?: HttpRateLimitOptions;
  /** Circuit breaker (cockatiel) over attempts; open = fail fast with IN503 without calling the server. */
  breaker?: HttpBreakerOptions;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Sleep used between retries (tests inject a recorder). Default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpRequest {
  /** Default GET. */
  method?: string;
  /** Appended to the base URL (`/orders/1`). */
  path: string;
  /** Objects, arrays, numbers and booleans are sent as JSON; strings and bytes as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined | null>;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Parsed JSON for a JSON content type, text for text, bytes otherwise; `null` when empty. */
  body: unknown;
}

/** A flow message, as `deliver` receives it. */
export interface DeliverMessage {
  body: unknown;
  headers?: Record<string, string>;
  id?: string;
}

/** Where `deliver` sends a message: `path` (default `/`), `method` (default POST). */
export interface HttpDestination {
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  [key: string]: unknown;
}

export interface ConnectorTestResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface HttpConnector {
  readonly name: string;
  readonly type: 'http';
  request(req: HttpRequest): Promise<HttpResponse>;
  deliver(message: DeliverMessage, destination: HttpDestination): Promise<void>;
  test(): Promise<ConnectorTestResult>;
  close(): Promise<void>;
}
