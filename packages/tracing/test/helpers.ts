import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** An SDK recording into memory, with the async-hooks context manager (what an app would install). */
export function recordingTracer(name = 'fraiseql-test') {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    tracer: provider.getTracer(name),
    exporter,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    byName: (n: string): ReadableSpan => {
      const s = exporter.getFinishedSpans().find((x) => x.name === n);
      if (!s)
        throw new Error(
          `no span "${n}" among: ${exporter
            .getFinishedSpans()
            .map((x) => x.name)
            .join(', ')}`,
        );
      return s;
    },
    async close() {
      await provider.shutdown();
      context.disable();
      trace.disable();
    },
  };
}

export const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
export const idOf = (s: ReadableSpan): string => s.spanContext().spanId;
export const traceOf = (s: ReadableSpan): string => s.spanContext().traceId;
