import { ErrorCode, IntegrationError, isIntegrationError, redactSecrets, wrapError } from '@fraiseql/core';

export const PROVIDER = 'algolia';

/** What an API call was doing, which decides how an engine status maps to a code. */
export type CallKind = 'search' | 'read' | 'write' | 'settings';

export interface CallContext {
  /** Human description, e.g. `search index "products"`. */
  op: string;
  kind: CallKind;
  index?: string;
}

interface StackFrameLike {
  response?: { status?: number; content?: string; isTimedOut?: boolean };
}

/** The engine's `message` from an error body, or the raw content. */
function engineMessage(content: string | undefined): string {
  if (!content) return 'no response';
  try {
    const parsed = JSON.parse(content) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: a network error text from the requester
  }
  return content;
}

/** Whether a mapped error came from an HTTP 404 (a missing index on a write or delete). */
export function isMissingIndex(err: unknown): boolean {
  return (err as { cause?: { status?: number } }).cause?.status === 404;
}

/** The error a call that outlived its deadline rejects with. */
export function timeoutError(ctx: CallContext, timeoutMs: number, apiKey: string): IntegrationError {
  return IntegrationError.provider(
    ErrorCode.SearchTimeout,
    PROVIDER,
    redactSecrets(`[${PROVIDER}] ${ctx.op}: timed out after ${timeoutMs} ms`, [apiKey]),
  );
}

/**
 * Converts anything the Algolia client threw into an IntegrationError (the client error kept as
 * `cause`; the API key never appears in the message):
 * - HTTP 401/403 (invalid application id or API key, missing ACL) → IN402;
 * - HTTP 404 on a search or a read → IN100 (Algolia answers `Index does not exist`);
 * - HTTP 400 on a search → IN101 (invalid filter or parameter), on a write → IN105;
 * - the client's `RetryError` (no host answered): every attempt timed out → IN102, a refused
 *   connection → IN501, server errors or other network failures → IN502;
 * - anything else → IN402.
 */
export function mapAlgoliaError(err: unknown, ctx: CallContext, apiKey: string): IntegrationError {
  if (isIntegrationError(err)) return err;
  const e = err as { name?: string; status?: number; message?: string; stackTrace?: StackFrameLike[] };
  const say = (text: string) => redactSecrets(`[${PROVIDER}] ${ctx.op}: ${text}`, [apiKey]);

  if (e?.name === 'RetryError') {
    const frames = Array.isArray(e.stackTrace) ? e.stackTrace : [];
    const responses = frames.map((f) => f.response ?? {});
    const last = responses[responses.length - 1];
    if (responses.length > 0 && responses.every((r) => r.isTimedOut)) {
      return IntegrationError.provider(
        ErrorCode.SearchTimeout,
        PROVIDER,
        say('timed out on every host'),
        err,
      );
    }
    const detail = engineMessage(last?.content);
    if (responses.some((r) => r.status === 0 && /ECONNREFUSED/.test(r.content ?? ''))) {
      return IntegrationError.provider(
        ErrorCode.ConnectionRefused,
        PROVIDER,
        say(`connection refused by every host (${detail})`),
        err,
      );
    }
    const status = last?.status ? ` (HTTP ${last.status})` : '';
    return IntegrationError.provider(
      ErrorCode.ProviderUnavailable,
      PROVIDER,
      say(`no host answered: ${detail}${status}`),
      err,
    );
  }

  if (typeof e?.status === 'number') {
    const message = `${e.message ?? 'error'} (HTTP ${e.status})`;
    if (e.status === 401 || e.status === 403) {
      return IntegrationError.provider(ErrorCode.AlgoliaError, PROVIDER, say(message), err);
    }
    if (e.status === 404 && (ctx.kind === 'search' || ctx.kind === 'read') && ctx.index !== undefined) {
      return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${ctx.index}`, {
        resourceType: 'index',
        provider: PROVIDER,
        kind: 'not_found',
        cause: err,
      });
    }
    if (e.status === 400 && ctx.kind === 'search') {
      return new IntegrationError(ErrorCode.InvalidSearchQuery, say(message), {
        kind: 'invalid_input',
        provider: PROVIDER,
        cause: err,
      });
    }
    if (e.status === 400 && ctx.kind === 'write') {
      return IntegrationError.provider(ErrorCode.IndexingFailed, PROVIDER, say(message), err);
    }
    if (e.status >= 500) {
      return IntegrationError.provider(ErrorCode.ProviderUnavailable, PROVIDER, say(message), err);
    }
    return IntegrationError.provider(ErrorCode.AlgoliaError, PROVIDER, say(message), err);
  }

  return wrapError(err, ErrorCode.AlgoliaError, PROVIDER, ctx.op, [apiKey]);
}
