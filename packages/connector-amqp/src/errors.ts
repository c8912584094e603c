import { describeError, ErrorCode, IntegrationError, networkErrorCode } from '@fraiseql/core';
import { PROVIDER } from './options.ts';

/** AMQP reply codes that mean the configuration is wrong (retrying will not help). */
const PERMANENT_AMQP: Record<number, ErrorCode> = {
  403: ErrorCode.InvalidConfiguration, // ACCESS_REFUSED (bad credentials / vhost permissions)
  404: ErrorCode.RabbitMQError, // NOT_FOUND (exchange or queue missing)
  406: ErrorCode.InvalidConfiguration, // PRECONDITION_FAILED (redeclared with other arguments)
  530: ErrorCode.InvalidConfiguration, // NOT_ALLOWED (vhost missing)
};

function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Any driver failure as an IntegrationError: network codes become IN5xx (transient), a refused
 * login or a conflicting declaration IN002, a missing exchange/queue IN404 (permanent), and any
 * other channel or connection loss IN502 (transient: the flow retries after the reconnect).
 */
export function amqpError(err: unknown, tag: string, context: string, secrets: string[]): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const amqp = amqpCode(err);
  const text = describeError(err, secrets);
  const refused = /ACCESS_REFUSED|authentication|403/i.test(text)
    ? ErrorCode.InvalidConfiguration
    : undefined;
  const code =
    networkErrorCode(err) ??
    (amqp === undefined ? undefined : PERMANENT_AMQP[amqp]) ??
    refused ??
    ErrorCode.ProviderUnavailable;
  const kind = code === ErrorCode.InvalidConfiguration ? 'configuration' : undefined;
  return new IntegrationError(code, `[${tag}] ${context}: ${text}`, {
    provider: PROVIDER,
    cause: err,
    ...(kind ? { kind } : {}),
  });
}

export function unavailable(tag: string, message: string, cause?: unknown): IntegrationError {
  return IntegrationError.provider(ErrorCode.ProviderUnavailable, PROVIDER, `[${tag}] ${message}`, cause);
}

/** A message body that is not UTF-8 JSON (IN308, permanent: never requeued). */
export function badBody(tag: string, message: string, cause?: unknown): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidJobData, `[${tag}] ${message}`, {
    kind: 'invalid_input',
    provider: PROVIDER,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A bad argument of a call (IN308 for bodies, IN002 for names). */
export function badArgument(tag: string, message: string, field: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, `[${tag}] ${message}`, {
    kind: 'invalid_input',
    provider: PROVIDER,
    field,
  });
}
