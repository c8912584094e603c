import type { ProviderImporter, ProviderModule } from './config/loader';
import { ErrorCode, IntegrationError, wrapError } from './errors';

/**
 * Tracing is a plug-in of `createIntegrations`, like the providers: core knows this interface
 * only, `@fraiseql/tracing` implements it on `@opentelemetry/api` and is loaded by dynamic import
 * when (and only when) a `tracer` is given. So core has no OpenTelemetry dependency, and without a
 * tracer nothing is wrapped: the providers are exactly the untraced ones (zero cost on the hot path).
 */
export interface IntegrationsTracing {
  /** Wraps a provider: a span per operation; for queues, the trace context rides from enqueue to process. */
  instrument<P extends object>(section: 'search' | 'cache' | 'queue', provider: P): P;
  /**
   * Runs `fn` in a SERVER span continuing the caller's trace (W3C `traceparent`/`tracestate` in
   * `headers`); `done(status)` gives the span the response status. Used by apps/server per request.
   */
  inbound<T>(
    name: string,
    headers: Record<string, string | string[] | undefined>,
    attributes: Record<string, string | number>,
    fn: () => Promise<T>,
  ): Promise<T>;
}

export const TRACING_PACKAGE = '@fraiseql/tracing';

/** Loads `@fraiseql/tracing` and builds its tracing over the application's OpenTelemetry `tracer`. */
export async function loadTracing(importer: ProviderImporter, tracer: unknown): Promise<IntegrationsTracing> {
  if (
    tracer === null ||
    typeof tracer !== 'object' ||
    typeof (tracer as { startSpan?: unknown }).startSpan !== 'function'
  )
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      'createIntegrations: `tracer` must be an OpenTelemetry Tracer (trace.getTracer(name) from @opentelemetry/api)',
      { kind: 'configuration', field: 'tracer' },
    );
  let mod: ProviderModule | undefined;
  try {
    mod = await importer(TRACING_PACKAGE);
  } catch (err) {
    throw wrapError(err, ErrorCode.ProviderUnavailable, 'tracing', `could not load ${TRACING_PACKAGE}`);
  }
  const create = (mod?.createTracing ?? (mod?.default as ProviderModule | undefined)?.createTracing) as
    | ((tracer: unknown) => IntegrationsTracing)
    | undefined;
  if (mod === undefined)
    throw new IntegrationError(
      ErrorCode.ProviderNotConfigured,
      `createIntegrations({ tracer }) needs ${TRACING_PACKAGE}: run \`pnpm add ${TRACING_PACKAGE}\``,
      { kind: 'configuration', provider: 'tracing' },
    );
  if (typeof create !== 'function')
    throw IntegrationError.provider(
      ErrorCode.ProviderUnavailable,
      'tracing',
      `${TRACING_PACKAGE} does not export createTracing(); install a version matching @fraiseql/core`,
    );
  return create(tracer);
}
