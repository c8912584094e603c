import { type Provider, resilienceOf } from '@fraiseql/core';
import type { ResponseSpec, RouteContext } from '../route';
import { ERROR_BODY } from '../schemas';

/** What the route files share: error responses, and how an operation is timed on its SLO. */

export const error = (description: string): ResponseSpec => ({ description, schema: ERROR_BODY });
const BAD_REQUEST = error('Invalid input (code per route: IN101, IN106, IN205, IN307, …)');
const NOT_CONFIGURED = error('The provider this route needs is not configured (IN004)');
const PROVIDER_DOWN = error('The backend failed (IN4xx/IN5xx)');
const BREAKER_OPEN = error('The circuit breaker of the backend is open (IN503)');
export const COMMON_ERRORS: Record<number, ResponseSpec> = {
  400: BAD_REQUEST,
  500: NOT_CONFIGURED,
  502: PROVIDER_DOWN,
  503: BREAKER_OPEN,
};

/**
 * Times operations the IntegrationService has no method for on the matching SLO tracker, exactly
 * as the service does: a provider from createIntegrations already times itself.
 */
export function timed<T>(
  ctx: RouteContext,
  op: string,
  provider: Provider,
  fn: () => Promise<T>,
): Promise<T> {
  if (resilienceOf(provider)) return fn();
  return ctx.service.slo.getOrRegister(op).timeAsync(fn, provider.name);
}

/**
 * Runs an operation through the IntegrationService when it holds `provider` (its SLO timing),
 * else straight on the provider, timed the same way.
 */
export function call<P extends Provider, T>(
  ctx: RouteContext,
  provider: P,
  held: Provider | undefined,
  op: string,
  viaService: () => Promise<T>,
  direct: (p: P) => Promise<T>,
): Promise<T> {
  return provider === held ? viaService() : timed(ctx, op, provider, () => direct(provider));
}
