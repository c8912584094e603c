import { ErrorCode, IntegrationError, wrapError } from '@fraiseql/core';

export const PROVIDER = 'rabbitmq';

/** Any failure as an IntegrationError: network codes become IN5xx, the rest IN404, secrets masked. */
export function rabbitError(err: unknown, context: string, secret?: string): IntegrationError {
  return wrapError(err, ErrorCode.RabbitMQError, PROVIDER, context, [secret]);
}

/** What RabbitMQ cannot do, said loudly (IN005) instead of being ignored. */
export function unsupported(what: string, why: string): IntegrationError {
  return new IntegrationError(ErrorCode.UnsupportedOperation, `[rabbitmq] ${what} is not supported: ${why}`, {
    provider: PROVIDER,
  });
}

export function unavailable(message: string, cause?: unknown): IntegrationError {
  return IntegrationError.provider(ErrorCode.ProviderUnavailable, PROVIDER, `[rabbitmq] ${message}`, cause);
}

export function timedOut(message: string): IntegrationError {
  return IntegrationError.provider(ErrorCode.ConnectionTimeout, PROVIDER, `[rabbitmq] ${message}`);
}

/** An AMQP channel error code (404 NOT_FOUND, 406 PRECONDITION_FAILED, …) of a driver error. */
export function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** IN303 for a bad argument of a queue call (`items`, `limit`, `handler`). */
export function invalidArgument(message: string, field: string): IntegrationError {
  return IntegrationError.invalidInput(ErrorCode.InvalidJobOptions, message, field);
}
