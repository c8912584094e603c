import { errors as esErrors } from '@elastic/elasticsearch';
import { describeError, ErrorCode, IntegrationError, networkErrorCode, redactSecrets } from '@fraiseql/core';

export const PROVIDER = 'elasticsearch';

/** What the request was doing: decides whether a 400 is the caller's query (IN101) or a write the engine refused (IN105). */
export type CallKind = 'search' | 'write' | 'admin';

/** `{ type, reason }` of an Elasticsearch error body (the first root cause when it is more precise). */
export interface EngineError {
  status?: number;
  type?: string;
  reason?: string;
}

const QUERY_ERRORS = new Set([
  'parsing_exception',
  'x_content_parse_exception',
  'query_shard_exception',
  'search_phase_execution_exception',
  'illegal_argument_exception',
  'number_format_exception',
  'parse_exception',
]);
const WRITE_ERRORS = new Set([
  'document_parsing_exception',
  'mapper_parsing_exception',
  'strict_dynamic_mapping_exception',
  'illegal_argument_exception',
  'version_conflict_engine_exception',
  'action_request_validation_exception',
  'document_missing_exception',
]);
const BUSY = new Set([
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'cluster_block_exception',
]);

/**
 * The IN5xx code of a connection failure. The client's ConnectionError keeps the socket error only
 * in its message (`connect ECONNREFUSED 127.0.0.1:9200`), so the message is read as well.
 */
function connectionCode(err: Error): ErrorCode {
  const found = networkErrorCode(err);
  if (found) return found;
  if (/ECONNREFUSED/.test(err.message)) return ErrorCode.ConnectionRefused;
  if (/ETIMEDOUT|timed? ?out/i.test(err.message)) return ErrorCode.ConnectionTimeout;
  return ErrorCode.ProviderUnavailable;
}

/** The error a ResponseError carries, preferring the root cause (a search phase failure wraps the real one). */
export function engineErrorOf(err: unknown): EngineError | undefined {
  if (!(err instanceof esErrors.ResponseError)) return undefined;
  const status = err.meta?.statusCode;
  const body = err.meta?.body as { error?: unknown } | undefined;
  const e = body?.error;
  if (e && typeof e === 'object') {
    const top = e as {
      type?: string;
      reason?: string;
      root_cause?: { type?: string; reason?: string }[];
      caused_by?: { type?: string; reason?: string };
    };
    const root = top.root_cause?.[0];
    const pick = top.type === 'search_phase_execution_exception' && root ? root : top;
    const out: EngineError = {};
    if (status !== undefined) out.status = status;
    if (pick.type) out.type = pick.type;
    if (pick.reason) out.reason = pick.reason;
    return out;
  }
  return status === undefined ? {} : { status, ...(typeof e === 'string' ? { reason: e } : {}) };
}

export function describeEngineError(e: EngineError): string {
  if (e.type && e.reason) return `${e.type}: ${e.reason}`;
  return e.reason ?? e.type ?? `HTTP ${e.status ?? '?'} without an error body`;
}

/**
 * Turns anything the Elasticsearch client threw into an IntegrationError (the original kept as
 * `cause`): `index_not_found_exception` → IN100, an invalid query → IN101, timeouts → IN102, an
 * existing index → IN103, a refused write → IN105, 401/403 → IN406 "authentication failed" / "not
 * allowed", overload (429, rejected execution, circuit breakers) and 5xx → IN502, network failures →
 * IN5xx, a server that is not Elasticsearch (no `X-Elastic-Product`) → IN406, anything else IN406.
 * Keys and passwords are scrubbed from every message.
 */
export function mapClientError(
  err: unknown,
  context: string,
  opts: { index?: string; kind: CallKind; secrets: readonly string[] },
): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const clean = (s: string) => redactSecrets(s, opts.secrets);
  const provider = (code: ErrorCode, msg: string) =>
    IntegrationError.provider(code, PROVIDER, clean(`[${PROVIDER}] ${context}: ${msg}`), err);
  if (err instanceof esErrors.TimeoutError) {
    return new IntegrationError(
      ErrorCode.SearchTimeout,
      clean(`[${PROVIDER}] ${context}: request timed out`),
      { provider: PROVIDER, cause: err },
    );
  }
  if (err instanceof esErrors.ProductNotSupportedError) {
    return provider(
      ErrorCode.ElasticsearchError,
      'the server is not Elasticsearch (no "X-Elastic-Product: Elasticsearch" header)',
    );
  }
  if (err instanceof esErrors.ConnectionError || err instanceof esErrors.NoLivingConnectionsError) {
    return provider(connectionCode(err), describeError(err, opts.secrets));
  }
  const e = engineErrorOf(err);
  if (e) {
    const detail = describeEngineError(e);
    if (e.type === 'index_not_found_exception') {
      return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${opts.index ?? '?'}`, {
        resourceType: 'index',
        provider: PROVIDER,
        cause: err,
      });
    }
    if (e.status === 401)
      return provider(
        ErrorCode.ElasticsearchError,
        `authentication failed (check the API key or credentials): ${detail}`,
      );
    if (e.status === 403)
      return provider(ErrorCode.ElasticsearchError, `not allowed (the key lacks a privilege): ${detail}`);
    if (e.type === 'resource_already_exists_exception') {
      return new IntegrationError(
        ErrorCode.IndexAlreadyExists,
        clean(`[${PROVIDER}] ${context}: ${detail}`),
        { provider: PROVIDER, resourceType: 'index', cause: err },
      );
    }
    if (e.status === 429 || (e.status !== undefined && e.status >= 500) || (e.type && BUSY.has(e.type)))
      return provider(ErrorCode.ProviderUnavailable, detail);
    if (e.status === 400 && opts.kind === 'search' && (!e.type || QUERY_ERRORS.has(e.type))) {
      return new IntegrationError(
        ErrorCode.InvalidSearchQuery,
        clean(`[${PROVIDER}] ${context}: ${detail}`),
        { kind: 'invalid_input', provider: PROVIDER, cause: err },
      );
    }
    if (opts.kind === 'write' && e.type && WRITE_ERRORS.has(e.type))
      return provider(ErrorCode.IndexingFailed, detail);
    return provider(ErrorCode.ElasticsearchError, detail);
  }
  if (err instanceof esErrors.ElasticsearchClientError)
    return provider(ErrorCode.ElasticsearchError, describeError(err, opts.secrets));
  return provider(networkErrorCode(err) ?? ErrorCode.ElasticsearchError, describeError(err, opts.secrets));
}
