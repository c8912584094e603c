import {
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  networkErrorCode,
  redactSecrets,
} from '@fraiseql/core';

export const PROVIDER = 'typesense';

/** What the failed call was doing; decides how an HTTP status maps to a code. */
export interface ErrorContext {
  /** `search`: 400/422 are bad queries (IN101). `write`: document writes (IN105). `admin`: schema and deletes. */
  kind: 'search' | 'write' | 'admin';
  /** Human description for the message: `search in "products"`. */
  what: string;
  /** The index concerned; a 404 "Not Found" on it is IN100. */
  index?: string;
}

interface HttpLike {
  httpStatus?: number;
  message?: string;
}

/** The server's own words from a client error (`… | Server said: <message>`). */
export function serverMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = message.indexOf('Server said: ');
  return at === -1 ? message : message.slice(at + 'Server said: '.length);
}

export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as HttpLike | null)?.httpStatus;
  return typeof status === 'number' ? status : undefined;
}

function isTimeout(err: unknown): boolean {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'UND_ERR_HEADERS_TIMEOUT')
      return true;
    if (typeof e.message === 'string' && /timeout of \d+ms exceeded/.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * A cause that is safe to keep on the error: axios errors carry the request config, API key
 * header included, so they are replaced by a plain Error with the (redacted) message and code.
 */
function safeCause(err: unknown, secrets: readonly string[]): unknown {
  if (err && typeof err === 'object' && ('config' in err || 'request' in err)) {
    const e = err as { message?: unknown; code?: unknown; name?: unknown };
    const copy = new Error(redactSecrets(String(e.message ?? 'request failed'), secrets));
    copy.name = typeof e.name === 'string' ? e.name : 'Error';
    if (typeof e.code === 'string') (copy as Error & { code?: string }).code = e.code;
    return copy;
  }
  return err;
}

/** Every failure of the Typesense client as an IntegrationError (API key never in the message). */
export function mapTypesenseError(
  err: unknown,
  ctx: ErrorContext,
  secrets: readonly string[],
): IntegrationError {
  if (isIntegrationError(err)) return err;
  const cause = safeCause(err, secrets);
  const status = httpStatusOf(err);
  const said = redactSecrets(serverMessage(err), secrets);
  const prefix = `[${PROVIDER}] ${ctx.what}`;
  if (status !== undefined) {
    if (status === 401 || status === 403) {
      return IntegrationError.provider(
        ErrorCode.TypesenseError,
        PROVIDER,
        `${prefix}: Typesense refused the API key (HTTP ${status}): ${said}`,
        cause,
      );
    }
    if (status === 404 && ctx.index !== undefined && /^not found\.?$/i.test(said.trim())) {
      return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${ctx.index}`, {
        resourceType: 'index',
        provider: PROVIDER,
        cause,
      });
    }
    if (ctx.kind === 'search' && (status === 400 || status === 404 || status === 422)) {
      return new IntegrationError(
        ErrorCode.InvalidSearchQuery,
        `${prefix}: Typesense rejected the query: ${said}`,
        {
          kind: 'invalid_input',
          provider: PROVIDER,
          field: 'query',
          cause,
        },
      );
    }
    if (ctx.kind === 'write' && (status === 400 || status === 422)) {
      return IntegrationError.provider(
        ErrorCode.IndexingFailed,
        PROVIDER,
        `${prefix}: ${said} (HTTP ${status})`,
        cause,
      );
    }
    if (status === 503) {
      return IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `${prefix}: Typesense is not ready (HTTP 503): ${said}`,
        cause,
      );
    }
    return IntegrationError.provider(
      ErrorCode.TypesenseError,
      PROVIDER,
      `${prefix}: ${said} (HTTP ${status})`,
      cause,
    );
  }
  if (isTimeout(err)) {
    return IntegrationError.provider(
      ErrorCode.SearchTimeout,
      PROVIDER,
      `${prefix}: timed out: ${said}`,
      cause,
    );
  }
  const network = networkErrorCode(err);
  if (network) {
    return IntegrationError.provider(network, PROVIDER, `${prefix}: cannot reach Typesense: ${said}`, cause);
  }
  return IntegrationError.provider(ErrorCode.TypesenseError, PROVIDER, `${prefix}: ${said}`, cause);
}
