import { context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { inSpan } from './spans';
import { extract, inject, type TraceCarrier } from './w3c';

/** The slice of a flow message the step hook reads and writes (`@fraiseql/flows` FlowMessage). */
export interface HeaderCarrying {
  id: string;
  headers: Record<string, string>;
}

/**
 * `FlowEngineOptions.aroundStep` for `@fraiseql/flows`: a span per step. Its parent is the
 * `traceparent` in the message headers (set by the previous step, by the HTTP source, or by
 * whoever produced the message), else the active context (e.g. the queue consumer span of a
 * durable flow); the step sees, and hands on, headers carrying its own span.
 */
export function flowStepHook(tracer: Tracer) {
  return <M extends HeaderCarrying>(
    info: { flow: string; step: string; type: string },
    msg: M,
    run: (msg: M) => Promise<M>,
  ): Promise<M> =>
    inSpan(
      tracer,
      `flow ${info.flow} ${info.step}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'fraiseql.flow.name': info.flow,
          'fraiseql.flow.step': info.step,
          'fraiseql.flow.step.type': info.type,
          'messaging.message.id': msg.id,
        },
        parent: extract(msg.headers, context.active()),
      },
      async () => {
        const carrier = inject();
        const withCtx = carrier ? { ...msg, headers: { ...msg.headers, ...carrier } } : msg;
        const out = await run(withCtx);
        return carrier && out ? { ...out, headers: { ...out.headers, ...carrier } } : out;
      },
    );
}

/** The slice of an observer event the action hook reads (`@fraiseql/observers` EntityEvent). */
export interface TraceContextCarrying {
  id: string;
  entity: string;
  traceContext?: TraceCarrier;
}

/**
 * `ObserverRuntimeOptions.aroundAction` for `@fraiseql/observers`: a span per action run, child
 * of the event's `traceContext` when it has one (else of the active context). An `enqueue` action
 * run inside it seals this span into the job, so the trace goes on to the worker.
 */
export function observerActionHook(tracer: Tracer) {
  return <T>(
    info: { observer: string; action: string; event: TraceContextCarrying },
    run: () => Promise<T>,
  ): Promise<T> =>
    inSpan(
      tracer,
      `observer ${info.observer} ${info.action}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'fraiseql.observer.name': info.observer,
          'fraiseql.observer.action': info.action,
          'fraiseql.event.id': info.event.id,
          'fraiseql.event.entity': info.event.entity,
        },
        parent: extract(info.event.traceContext, context.active()),
      },
      run,
    );
}

/** `event` with the active trace context in `traceContext` (for events handed to `processEvent`). */
export function withTraceContext<E extends object>(event: E): E & { traceContext?: TraceCarrier } {
  const carrier = inject();
  return carrier ? { ...event, traceContext: carrier } : event;
}

/** The active span's trace id (handy in logs), or undefined. */
export function activeTraceId(): string | undefined {
  return trace.getSpanContext(context.active())?.traceId;
}
