import {
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  type SpanContext,
  trace,
} from '@opentelemetry/api';

/**
 * W3C Trace Context (`traceparent`, `tracestate`) written and read here rather than through the
 * global propagator: the context must travel in job data and event fields even when the
 * application registered no propagator (an SDK without one is common in workers).
 */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The carrier of the span active in `ctx`, or undefined when there is none (no SDK, nothing sampled). */
export function inject(ctx: Context = context.active()): TraceCarrier | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  const carrier: TraceCarrier = { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` };
  const state = sc.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

function header(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** `base` with the remote parent of `carrier` (HTTP headers or a stored carrier); `base` when it has none. */
export function extract(carrier: unknown, base: Context = context.active()): Context {
  if (!carrier || typeof carrier !== 'object') return base;
  const c = carrier as Record<string, unknown>;
  const tp = header(c.traceparent)?.trim().toLowerCase();
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (!m) return base;
  const sc: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & 0x01,
    isRemote: true,
  };
  if (!isSpanContextValid(sc)) return base;
  const ts = header(c.tracestate);
  if (ts) sc.traceState = createTraceState(ts);
  return trace.setSpanContext(base, sc);
}
