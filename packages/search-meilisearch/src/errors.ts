import { describeError, ErrorCode, IntegrationError, redactSecrets, wrapError } from '@fraiseql/core';
import {
  MeilisearchApiError,
  MeilisearchRequestError,
  MeilisearchRequestTimeOutError,
  MeilisearchTaskTimeOutError,
} from 'meilisearch';

export const PROVIDER = 'meilisearch';

/** The engine's error body (`{ message, code, type, link }`) as the client exposes it. */
export interface EngineError {
  message: string;
  code: string;
  type?: string;
}

const AUTH_CODES = new Set(['missing_authorization_header', 'invalid_api_key', 'missing_master_key']);

function engineErrorOf(err: unknown): { status?: number; body?: EngineError } {
  if (err instanceof MeilisearchApiError) {
    const body = err.cause && typeof err.cause.code === 'string' ? (err.cause as EngineError) : undefined;
    return { status: err.response?.status, body };
  }
  return {};
}

/** True when a request timed out (the client's per-request timeout, or waiting for a task). */
function isTimeout(err: unknown): boolean {
  if (err instanceof MeilisearchTaskTimeOutError) return true;
  return err instanceof MeilisearchRequestError && err.cause instanceof MeilisearchRequestTimeOutError;
}

/**
 * Turns anything the Meilisearch client threw into an IntegrationError (the original kept as
 * `cause`): `index_not_found` → IN100, invalid search parameters → IN101, timeouts → IN102,
 * `document_not_found` → IN104, auth failures → IN400, network failures → IN5xx (core's
 * `wrapError`), everything else IN400. The API key is scrubbed from every message.
 */
export function mapClientError(
  err: unknown,
  context: string,
  index: string | undefined,
  secrets: readonly string[],
): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const clean = (s: string) => redactSecrets(s, secrets);
  if (isTimeout(err)) {
    return new IntegrationError(
      ErrorCode.SearchTimeout,
      clean(`[${PROVIDER}] ${context}: ${describeError(err)}`),
      { provider: PROVIDER, cause: err },
    );
  }
  const { status, body } = engineErrorOf(err);
  if (body) {
    const detail = clean(`${body.message} (${body.code})`);
    if (body.code === 'index_not_found') {
      return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${index ?? '?'}`, {
        resourceType: 'index',
        provider: PROVIDER,
        cause: err,
      });
    }
    if (body.code === 'document_not_found') {
      return new IntegrationError(ErrorCode.DocumentNotFound, `[${PROVIDER}] ${context}: ${detail}`, {
        resourceType: 'document',
        provider: PROVIDER,
        cause: err,
      });
    }
    if (body.code.startsWith('invalid_search_') || body.code === 'invalid_facet_search_facet_name') {
      return new IntegrationError(ErrorCode.InvalidSearchQuery, `[${PROVIDER}] ${context}: ${detail}`, {
        kind: 'invalid_input',
        provider: PROVIDER,
        cause: err,
      });
    }
    if (AUTH_CODES.has(body.code) || body.type === 'auth') {
      return IntegrationError.provider(
        ErrorCode.MeilisearchError,
        PROVIDER,
        `[${PROVIDER}] ${context}: authentication failed: ${detail}`,
        err,
      );
    }
    if (status === 503 || body.code === 'too_many_search_requests') {
      return IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `[${PROVIDER}] ${context}: ${detail}`,
        err,
      );
    }
    return IntegrationError.provider(
      ErrorCode.MeilisearchError,
      PROVIDER,
      `[${PROVIDER}] ${context}: ${detail}`,
      err,
    );
  }
  if (status !== undefined) {
    const code = status >= 500 ? ErrorCode.ProviderUnavailable : ErrorCode.MeilisearchError;
    return IntegrationError.provider(
      code,
      PROVIDER,
      clean(`[${PROVIDER}] ${context}: HTTP ${status} without an error body`),
      err,
    );
  }
  return wrapError(err, ErrorCode.MeilisearchError, PROVIDER, context, secrets);
}

/** The error for a task that did not succeed (failed or canceled): IN105 with the engine's message. */
export function taskFailure(
  task: { uid: number; status: string; error?: EngineError | null },
  context: string,
  index: string,
  secrets: readonly string[],
): IntegrationError {
  if (task.error?.code === 'index_not_found') {
    return new IntegrationError(ErrorCode.IndexNotFound, `Index not found: ${index}`, {
      resourceType: 'index',
      provider: PROVIDER,
      cause: task.error,
    });
  }
  const why = task.error
    ? `${task.error.message} (${task.error.code})`
    : `task ${task.uid} ended with status "${task.status}"`;
  return IntegrationError.provider(
    ErrorCode.IndexingFailed,
    PROVIDER,
    redactSecrets(`[${PROVIDER}] ${context}: ${why}`, secrets),
    task.error ?? undefined,
  );
}

/** The message a failed task gives to each document of its batch in a BulkResult. */
export function taskFailureReason(task: { uid: number; status: string; error?: EngineError | null }): string {
  return task.error
    ? `${task.error.message} (${task.error.code})`
    : `Meilisearch task ${task.uid} ended with status "${task.status}"`;
}
