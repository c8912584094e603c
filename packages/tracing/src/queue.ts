import type { Job, JobHandler, JobInfo, JobResult } from '@fraiseql/core';
import { type Attributes, context, type Span, type Tracer } from '@opentelemetry/api';
import { proxy, type TracedMethod } from './instrument';
import { inSpan, SpanKind } from './spans';
import { extract, inject, type TraceCarrier } from './w3c';

/**
 * The contract's jobs have no metadata field, and the PostgreSQL and Redis backends keep only the
 * data: so the trace context travels in an envelope around the data, `{ [TRACE_KEY]: carrier,
 * data }`, written at enqueue only when there is a context to carry (a tracer is set and a span
 * is recording) and taken off again by every read of this layer (`process`, `getJob`,
 * `listJobs`), so handlers and operators see the data they enqueued. Jobs written without tracing
 * have no envelope and pass through unchanged.
 */
export const TRACE_KEY = '__fraiseqlTrace';

interface Envelope {
  [TRACE_KEY]: TraceCarrier;
  data: unknown;
}

function isEnvelope(v: unknown): v is Envelope {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const t = (v as Record<string, unknown>)[TRACE_KEY] as { traceparent?: unknown } | undefined;
  return typeof t?.traceparent === 'string' && 'data' in v && Object.keys(v).length === 2;
}

/** `data` and the trace carrier it travelled with (undefined for a job enqueued without tracing). */
export function openEnvelope(data: unknown): { data: unknown; carrier?: TraceCarrier } {
  return isEnvelope(data) ? { data: data.data, carrier: data[TRACE_KEY] } : { data };
}

function seal(data: unknown): unknown {
  const carrier = inject();
  return carrier ? { [TRACE_KEY]: carrier, data } : data;
}

function unwrapInfo(j: JobInfo | null): JobInfo | null {
  if (!j || !isEnvelope(j.data)) return j;
  return { ...j, data: j.data.data };
}

const ADMIN = [
  'queueLength',
  'failedCount',
  'getJob',
  'listJobs',
  'retryJob',
  'deleteJob',
  'pause',
  'resume',
  'isPaused',
];

/**
 * Queues: a PRODUCER span per enqueue (`publish <queue>`) whose context is sealed into the job, a
 * CONSUMER span per run (`process <queue>`) continuing it, and CLIENT spans for the other calls;
 * messaging semantic conventions throughout.
 */
export function instrumentQueue<P extends object>(provider: P, tracer: Tracer): P {
  const system = (provider as { name?: string }).name ?? 'queue';
  const attrs = (queue: unknown, operation: string): Attributes => ({
    'messaging.system': system,
    'messaging.destination.name': String(queue),
    'messaging.operation': operation,
  });
  const setId = (span: Span, id: unknown) => {
    if (typeof id === 'string') span.setAttribute('messaging.message.id', id);
  };
  const methods: Record<string, TracedMethod> = {};

  for (const m of ['enqueue', 'enqueueDelayed'])
    methods[m] = (target, method, args) =>
      inSpan(
        tracer,
        `publish ${String(args[0])}`,
        { kind: SpanKind.PRODUCER, attributes: attrs(args[0], 'publish'), onResult: setId },
        // Sealed inside the span, so the consumer's parent is this producer span.
        () => target[method](args[0], seal(args[1]), ...args.slice(2)),
      );
  methods.enqueueMany = (target, method, args) => {
    const items = args[1] as { data: unknown; opts?: unknown }[];
    return inSpan(
      tracer,
      `publish ${String(args[0])}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...attrs(args[0], 'publish'),
          'messaging.batch.message_count': Array.isArray(items) ? items.length : 0,
        },
      },
      () =>
        target[method](
          args[0],
          Array.isArray(items) ? items.map((it) => ({ ...it, data: seal(it?.data) })) : items,
        ),
    );
  };
  for (const m of ADMIN)
    methods[m] = (target, method, args) =>
      inSpan(
        tracer,
        `${method} ${String(args[0])}`,
        { kind: SpanKind.CLIENT, attributes: attrs(args[0], method) },
        async () => {
          const r = await target[method](...args);
          if (method === 'getJob') return unwrapInfo(r);
          if (method === 'listJobs' && Array.isArray(r)) return r.map((j: JobInfo) => unwrapInfo(j));
          return r;
        },
      );

  const runJob =
    (queue: string, handler: JobHandler<unknown>) =>
    (job: Job<unknown>): Promise<JobResult | void> => {
      const { data, carrier } = openEnvelope(job.data);
      const unwrapped: Job<unknown> = carrier ? { ...job, data } : job;
      return inSpan(
        tracer,
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            ...attrs(queue, 'process'),
            'messaging.message.id': job.id,
            'fraiseql.job.attempt': job.attempts,
          },
          ...(carrier ? { parent: extract(carrier, context.active()) } : {}),
          onResult: (span, r) => {
            const status = (r as JobResult | undefined)?.status ?? 'complete';
            span.setAttribute('fraiseql.job.result', status);
          },
        },
        () => handler(unwrapped),
      );
    };
  // The Worker comes back synchronously; the span is per job run, around the handler.
  methods.process = (target, _method, args) =>
    target.process(args[0], runJob(String(args[0]), args[1] as JobHandler<unknown>), ...args.slice(2));
  return proxy(provider, methods);
}
