import type { IntegrationsTracing } from '@fraiseql/core';
import { type Attributes, context, SpanKind, type Tracer } from '@opentelemetry/api';
import { flowStepHook, observerActionHook } from './hooks';
import { instrumentStore, type Section } from './instrument';
import { instrumentQueue } from './queue';
import { inSpan } from './spans';
import { extract } from './w3c';

export { activeTraceId, flowStepHook, observerActionHook, withTraceContext } from './hooks';
export { instrumentStore } from './instrument';
export { instrumentQueue, openEnvelope, TRACE_KEY } from './queue';
export { ERROR_CODE_ATTRIBUTE, recordError } from './spans';
export { extract, inject, type TraceCarrier } from './w3c';

/** What `createTracing` returns: core's hooks plus the ones for flows and observers. */
export interface Tracing extends IntegrationsTracing {
  /** Pass as `FlowEngineOptions.aroundStep`. */
  aroundStep: ReturnType<typeof flowStepHook>;
  /** Pass as `ObserverRuntimeOptions.aroundAction`. */
  aroundAction: ReturnType<typeof observerActionHook>;
}

/**
 * Tracing over the application's OpenTelemetry `tracer` (the application installs the SDK and
 * exporter). `createIntegrations(config, { tracer })` calls this itself; call it directly to
 * instrument a provider built by hand, or to get the flow/observer hooks.
 */
export function createTracing(tracer: Tracer): Tracing {
  return {
    instrument<P extends object>(section: Section, provider: P): P {
      return section === 'queue'
        ? instrumentQueue(provider, tracer)
        : instrumentStore(section, provider, tracer);
    },
    inbound<T>(
      name: string,
      headers: Record<string, string | string[] | undefined>,
      attributes: Record<string, string | number>,
      fn: () => Promise<T>,
    ): Promise<T> {
      return inSpan(
        tracer,
        name,
        {
          kind: SpanKind.SERVER,
          attributes: attributes as Attributes,
          parent: extract(headers, context.active()),
        },
        fn,
      );
    },
    aroundStep: flowStepHook(tracer),
    aroundAction: observerActionHook(tracer),
  };
}
