import { ErrorCode, type ErrorKind, IntegrationError, isTransient, redactSecrets } from '@fraiseql/core';
import { status as Status } from '@grpc/grpc-js';

export const PROVIDER = 'connector-grpc';

/** gRPC status number → its name (`14` → `UNAVAILABLE`). */
const STATUS_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(Status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

export function grpcStatusName(code: number): string {
  return STATUS_NAME[code] ?? `STATUS_${code}`;
}

/**
 * gRPC status → our code. Retryable (transient in `isTransient`): UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, CANCELLED, and UNKNOWN/INTERNAL (a crashed handler, like HTTP 500).
 * Everything else is permanent: retrying the same request cannot succeed.
 */
const MAPPING: Record<number, { code: ErrorCode; kind?: ErrorKind }> = {
  [Status.CANCELLED]: { code: ErrorCode.ProviderUnavailable },
  [Status.UNKNOWN]: { code: ErrorCode.ProviderUnavailable },
  [Status.INVALID_ARGUMENT]: { code: ErrorCode.UnsupportedOperation, kind: 'invalid_input' },
  [Status.DEADLINE_EXCEEDED]: { code: ErrorCode.ConnectionTimeout },
  [Status.NOT_FOUND]: { code: ErrorCode.DocumentNotFound, kind: 'not_found' },
  [Status.ALREADY_EXISTS]: { code: ErrorCode.UnsupportedOperation, kind: 'invalid_input' },
  [Status.PERMISSION_DENIED]: { code: ErrorCode.Forbidden },
  [Status.RESOURCE_EXHAUSTED]: { code: ErrorCode.ProviderUnavailable },
  [Status.FAILED_PRECONDITION]: { code: ErrorCode.UnsupportedOperation, kind: 'invalid_input' },
  [Status.ABORTED]: { code: ErrorCode.ProviderUnavailable },
  [Status.OUT_OF_RANGE]: { code: ErrorCode.UnsupportedOperation, kind: 'invalid_input' },
  [Status.UNIMPLEMENTED]: { code: ErrorCode.RouteNotFound },
  [Status.INTERNAL]: { code: ErrorCode.ProviderUnavailable },
  [Status.UNAVAILABLE]: { code: ErrorCode.ProviderUnavailable },
  [Status.DATA_LOSS]: { code: ErrorCode.UnsupportedOperation, kind: 'provider' },
  [Status.UNAUTHENTICATED]: { code: ErrorCode.Unauthorized },
};

/**
 * A call that ended with a non-OK gRPC status. `grpcCode`/`grpcStatus` are the server's answer,
 * `details` its message; `retryable` follows `isTransient(code)` and `permanent` is its opposite
 * (the flow engine sends permanent failures straight to the DLQ).
 */
export class GrpcStatusError extends IntegrationError {
  readonly grpcCode: number;
  readonly grpcStatus: string;
  readonly details: string;
  readonly retryable: boolean;
  readonly permanent: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    grpc: { code: number; details: string },
    opts: { kind?: ErrorKind; cause?: unknown } = {},
  ) {
    super(code, message, {
      provider: PROVIDER,
      ...(opts.kind ? { kind: opts.kind } : {}),
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
    this.grpcCode = grpc.code;
    this.grpcStatus = grpcStatusName(grpc.code);
    this.details = grpc.details;
    this.retryable = isTransient(code);
    this.permanent = !this.retryable;
  }
}

const TLS_FAILURE = /certificate|SSL routines|TLS|handshake/i;

/** grpc-js details without secrets and without its empty trailing `Resolution note:`. */
export function cleanDetails(details: string): string {
  return redactSecrets(details).replace(/\s*Resolution note:\s*$/, '');
}

/** The error of a failed call: `[connector-grpc inv] Update failed: UNAVAILABLE (14): <details>`. */
export function statusError(tag: string, method: string, err: unknown): GrpcStatusError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const grpcCode = typeof e?.code === 'number' ? e.code : Status.UNKNOWN;
  const details = cleanDetails(
    typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(err),
  );
  let { code, kind } = MAPPING[grpcCode] ?? { code: ErrorCode.ProviderUnavailable };
  // grpc-js reports a request its protobuf type cannot encode as INTERNAL: it is the caller's input.
  if (grpcCode === Status.INTERNAL && details.startsWith('Request message serialization failure')) {
    code = ErrorCode.UnsupportedOperation;
    kind = 'invalid_input';
  } else if (grpcCode === Status.UNAVAILABLE && /ECONNREFUSED/.test(details)) {
    code = ErrorCode.ConnectionRefused;
  }
  const name = grpcStatusName(grpcCode);
  const hint =
    grpcCode === Status.UNAVAILABLE && TLS_FAILURE.test(details)
      ? ' (TLS handshake failed: check tls.caCert, and tls.clientCert/clientKey if the server wants mutual TLS)'
      : '';
  return new GrpcStatusError(
    code,
    `[${tag}] ${method} failed: ${name} (${grpcCode})${details ? `: ${details}` : ''}${hint}`,
    { code: grpcCode, details },
    { ...(kind ? { kind } : {}), cause: err },
  );
}

/** A call made on a closed connector. */
export function closedError(tag: string, method: string): IntegrationError {
  return new IntegrationError(ErrorCode.ProviderUnavailable, `[${tag}] ${method}: connector is closed`, {
    provider: PROVIDER,
  });
}
