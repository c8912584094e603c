import type { Context } from '@opentelemetry/api';
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** The attribute carrying an error's IN code (`IN204`, `IN301`, …). */
export const ERROR_CODE_ATTRIBUTE = 'fraiseql.error.code';

/** Marks `span` failed: the exception event, status ERROR, and the IN code when the error has one. */
export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^IN\d{3}$/.test(code)) span.setAttribute(ERROR_CODE_ATTRIBUTE, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

export interface SpanOptions {
  kind: SpanKind;
  attributes: Attributes;
  /** Parent context; default the active one. */
  parent?: Context;
  /** Called with the result before the span ends (e.g. to add the job id). */
  onResult?: (span: Span, value: unknown) => void;
}

/**
 * Runs `fn` in a new span, active while it runs. A span that does not record (the API without an
 * SDK, or not sampled) costs one `startSpan`: no context switch, no attributes, no callbacks.
 */
export function inSpan<T>(tracer: Tracer, name: string, o: SpanOptions, fn: () => Promise<T>): Promise<T> {
  const parent = o.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: o.kind, attributes: o.attributes }, parent);
  if (!span.isRecording()) {
    span.end();
    return o.parent ? context.with(o.parent, fn) : fn();
  }
  let p: Promise<T>;
  try {
    p = context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    recordError(span, err);
    span.end();
    return Promise.reject(err);
  }
  return p.then(
    (value) => {
      o.onResult?.(span, value);
      span.end();
      return value;
    },
    (err: unknown) => {
      recordError(span, err);
      span.end();
      throw err;
    },
  );
}

export { SpanKind };
