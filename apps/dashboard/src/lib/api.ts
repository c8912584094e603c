/**
 * The one place the dashboard talks to the server. The token lives in sessionStorage only (gone
 * when the tab closes) and travels as an `Authorization: Bearer` header — never in a URL, a cookie
 * or a log line.
 */

const TOKEN_KEY = 'fraiseql.dashboard.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token then lasts as long as nothing asks for it again.
  }
}

/** A non-2xx answer: the HTTP status plus the §2 error body's code and message when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 401/403: the token is missing or wrong. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

type AuthListener = (err: ApiError) => void;
let onAuthError: AuthListener | undefined;

/** The app shows its login form when any call answers 401/403. */
export function setAuthErrorListener(listener: AuthListener | undefined): void {
  onAuthError = listener;
}

export interface RequestOptions {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** JSON-encoded unless it is a string (sent as text/plain). */
  body?: unknown;
  /** Resolve with the raw text instead of parsing JSON. */
  text?: boolean;
  /** Do not report 401/403 to the auth listener (the login probe handles them itself). */
  quietAuth?: boolean;
}

/** Path segments are percent-encoded here so a key like `a/b?c` stays one segment. */
export const seg = (s: string): string => encodeURIComponent(s);

async function errorOf(res: Response): Promise<ApiError> {
  let code: string | undefined;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string };
      code?: string;
      message?: string;
    };
    const e = body.error ?? body;
    if (typeof e.code === 'string') code = e.code;
    if (typeof e.message === 'string' && e.message) message = e.message;
  } catch {
    // Not JSON: the status line says enough.
  }
  return new ApiError(res.status, code, message);
}

export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') {
      body = opts.body;
      headers['content-type'] = 'text/plain; charset=utf-8';
    } else {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body, credentials: 'omit' });
  if (!res.ok) {
    const err = await errorOf(res);
    if (err.isAuth && !opts.quietAuth) onAuthError?.(err);
    throw err;
  }
  if (opts.text) return (await res.text()) as T;
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** A readable one-liner for any failure. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) return `${err.code ? `${err.code}: ` : ''}${err.message} (HTTP ${err.status})`;
  return err instanceof Error ? err.message : String(err);
}
