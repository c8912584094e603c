// tracing: what tracing costs on the hottest call there is, a cache `get` (hit) on the memory
// provider through createIntegrations (the resilience layer is on every side). The peer is
// createIntegrations in a process where @fraiseql/tracing was never loaded. Compared with it:
// - off: @fraiseql/tracing installed and loaded, createIntegrations without a tracer. Core only
//   wraps when a tracer is given, so this is the "costs nothing" claim (aim 0.98, i.e. noise);
// - no-op tracer: a tracer from @opentelemetry/api with no SDK registered (the app installed no
//   SDK): each call starts one non-recording span — reported, no aim;
// - on: an SDK tracer recording every span (BasicTracerProvider, AlwaysOn, a processor that drops
//   finished spans, so no exporter is measured) — reported, no aim.
import { createIntegrations } from '@fraiseql/core';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { compareOne, microThroughput } from '../lib/harness.mjs';

export const name = 'tracing';

const KEYS = 1000;

export async function run(ctx) {
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 150 : 350;
  const config = { cache: { backend: 'memory' } };
  // Provider packages (and @fraiseql/tracing) resolve from the bench's own dependencies.
  const importer = (specifier) => import(specifier);
  const dropAll = { onStart() {}, onEnd() {}, forceFlush: async () => {}, shutdown: async () => {} };
  const sdk = new BasicTracerProvider({ spanProcessors: [dropAll] });
  const none = await createIntegrations(config, { importer });
  // Loaded like an application that depends on it would have it (the module is in memory).
  await import('@fraiseql/tracing');
  const off = await createIntegrations(config, { importer });
  const noop = await createIntegrations(config, { importer, tracer: trace.getTracer('bench') });
  const on = await createIntegrations(config, { importer, tracer: sdk.getTracer('bench') });
  const all = [none, off, noop, on];
  const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
  for (const i of all) for (const k of keys) await i.cache.set(k, 'x'.repeat(100));
  const get = (i) => () => microThroughput((n) => i.cache.get(keys[n % KEYS]), { ms });
  const rows = [];
  try {
    for (const [label, ours, aim] of [
      ['tracing off (package loaded, no tracer)', off, 0.98],
      ['no-op tracer (API without an SDK)', noop, undefined],
      ['tracer recording every span', on, undefined],
    ]) {
      rows.push(
        await compareOne({
          benchmark: `tracing: cache get through createIntegrations, ${label}`,
          unit: 'ops/s',
          ...(aim === undefined ? {} : { aim }),
          peerName: 'createIntegrations, no tracing package loaded',
          rounds,
          log: ctx.log,
          ours: get(ours),
          peer: get(none),
        }),
      );
    }
  } finally {
    await Promise.all([...all.map((i) => i.close()), sdk.shutdown()]);
  }
  return rows;
}
