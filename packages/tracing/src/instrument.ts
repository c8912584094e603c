import type { Attributes, Tracer } from '@opentelemetry/api';
import { inSpan, SpanKind } from './spans';

export type Section = 'search' | 'cache' | 'queue';

/** A traced method: receives the untraced provider, the method name and the call's arguments. */
export type TracedMethod = (target: any, method: string, args: unknown[]) => unknown;

/**
 * A Proxy over `provider` whose listed methods are traced; everything else (name, capabilities,
 * the resilience state the service reads, backend extras like RabbitMQ's DLQ calls) is the
 * provider's own, called on the provider itself.
 */
export function proxy<P extends object>(provider: P, methods: Record<string, TracedMethod>): P {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(provider, {
    get(target, prop) {
      const hit = cache.get(prop);
      if (hit !== undefined) return hit;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const traced = typeof prop === 'string' ? methods[prop] : undefined;
      const fn = traced
        ? (...args: unknown[]) => traced(target, prop as string, args)
        : (value as (...a: unknown[]) => unknown).bind(target);
      cache.set(prop, fn);
      return fn;
    },
  });
}

// Health checks are not traced: the service probes them on a timer, they would drown the traces.
const CACHE_METHODS = [
  'get',
  'set',
  'getJson',
  'setJson',
  'delete',
  'deletePattern',
  'exists',
  'ttl',
  'expire',
  'incr',
  'getOrSet',
];

const SEARCH_METHODS = [
  'search',
  'indexDocument',
  'indexDocuments',
  'deleteDocument',
  'clearIndex',
  'configureIndex',
];

/** The index a search call works on (`db.collection.name`). */
function indexOf(args: unknown[]): string | undefined {
  const a = args[0] as { index?: unknown } | { index?: unknown }[] | string | undefined;
  if (typeof a === 'string') return a;
  if (Array.isArray(a)) return typeof a[0]?.index === 'string' ? a[0].index : undefined;
  if (a && typeof a.index === 'string') return a.index;
  return undefined;
}

/** Cache and search: one CLIENT span per call with the database semantic conventions. */
export function instrumentStore<P extends object>(
  section: 'search' | 'cache',
  provider: P,
  tracer: Tracer,
): P {
  const system = (provider as { name?: string }).name ?? section;
  const methods: Record<string, TracedMethod> = {};
  for (const m of section === 'cache' ? CACHE_METHODS : SEARCH_METHODS) {
    // Built once per method: a call with tracing off allocates nothing of its own but the span.
    const base = {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': system, 'db.operation.name': m } as Attributes,
    };
    const baseName = `${section} ${m}`;
    methods[m] = (target, method, args) => {
      const index = section === 'search' ? indexOf(args) : undefined;
      if (index === undefined) return inSpan(tracer, baseName, base, () => target[method](...args));
      return inSpan(
        tracer,
        `${baseName} ${index}`,
        { kind: SpanKind.CLIENT, attributes: { ...base.attributes, 'db.collection.name': index } },
        () => target[method](...args),
      );
    };
  }
  return proxy(provider, methods);
}
