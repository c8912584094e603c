import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIntegrations, type Integrations } from '@fraiseql/core';
import { createFlowEngine } from '@fraiseql/flows';
import { createObserverRuntime, ensureChangeLog } from '@fraiseql/observers';
import type { SqlClient } from '@fraiseql/postgres';
import { startServer } from '@fraiseql/server';
import { uniqueName, waitFor } from '@fraiseql/testkit';
import { startWorkers } from '@fraiseql/worker';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTracing, ERROR_CODE_ATTRIBUTE, TRACE_KEY, withTraceContext } from '../src/index';
import { idOf, parentOf, recordingTracer, traceOf } from './helpers';

const otel = recordingTracer();
const dir = mkdtempSync(join(tmpdir(), 'fraiseql-tracing-'));
let integrations: Integrations;
// This package is what an application would have installed; the providers come from our devDependencies.
const importer = (specifier: string) =>
  (specifier === '@fraiseql/tracing' ? import('../src/index') : import(specifier)) as Promise<never>;

beforeAll(async () => {
  integrations = await createIntegrations(
    {
      cache: { backend: 'memory' },
      search: { provider: 'postgresql' },
      queues: { backend: 'postgresql', retryDelayMs: 10 } as never,
      postgres: { embeddedDir: join(dir, 'pglite') },
    },
    { tracer: otel.tracer, importer },
  );
}, 60_000);
afterAll(async () => {
  await integrations?.close();
  await otel.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => otel.exporter.reset());

describe('createIntegrations(config, { tracer })', () => {
  it('gives every cache operation a CLIENT span with db.system, and records errors with their IN code', async () => {
    const cache = integrations.cache!;
    await cache.set('k', 'v', 60_000);
    expect(new TextDecoder().decode((await cache.get('k'))!)).toBe('v');
    const get = otel.byName('cache get');
    expect(get.kind).toBe(SpanKind.CLIENT);
    expect(get.attributes).toMatchObject({ 'db.system': 'memory', 'db.operation.name': 'get' });
    expect(get.status.code).not.toBe(SpanStatusCode.ERROR);

    await expect(cache.set('k', 'v', -1)).rejects.toMatchObject({ code: 'IN204' });
    const failed = otel.spans().filter((s) => s.name === 'cache set')[1]!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes[ERROR_CODE_ATTRIBUTE]).toBe('IN204');
    expect(failed.events.map((e) => e.name)).toContain('exception');
    // The service still sees the resilience layer under the tracing one.
    expect((await integrations.service.status())['cache:memory']?.breaker).toBe('closed');
  });

  it('gives search operations db.system and db.collection.name', async () => {
    const search = integrations.search!;
    const index = uniqueName('idx').replace(/[^A-Za-z0-9_-]/g, '_');
    await search.configureIndex(index, { searchable: ['name'] });
    await search.indexDocuments([{ id: 'a', index, data: { name: 'Blue widget' } }]);
    const r = await search.search({ index, query: 'widget' });
    expect(r.hits.map((h) => h.id)).toEqual(['a']);
    const span = otel.byName(`search search ${index}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      'db.system': 'postgresql',
      'db.operation.name': 'search',
      'db.collection.name': index,
    });
    expect(otel.byName(`search indexDocuments ${index}`).attributes['db.collection.name']).toBe(index);
    await expect(search.search({ index: 'bad index!', query: '' })).rejects.toMatchObject({ code: 'IN106' });
    const failed = otel.byName('search search bad index!');
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes[ERROR_CODE_ATTRIBUTE]).toBe('IN106');
  });

  it('rejects a tracer that is not one', async () => {
    await expect(
      createIntegrations({ cache: { backend: 'memory' } }, { tracer: { nope: true }, importer }),
    ).rejects.toMatchObject({ code: 'IN002', kind: 'configuration' });
  });

  it('one trace from an HTTP request through enqueue to the worker handler', async () => {
    const queue = uniqueName('traced').replace(/[^A-Za-z0-9_.:-]/g, '_');
    const seen: { traceId?: string; spanId?: string; data?: unknown }[] = [];
    const workers = startWorkers({
      integrations,
      builtins: false,
      handlers: {
        [queue]: async (job) => {
          const sc = trace.getSpanContext(context.active());
          // The handler's own spans join the trace too.
          await otel.tracer.startActiveSpan('handler work', async (s) => s.end());
          seen.push({ traceId: sc?.traceId, spanId: sc?.spanId, data: job.data });
        },
      },
    });
    const server = await startServer({
      integrations,
      registry: new Registry(),
      port: 0,
      closeIntegrations: false,
      env: {},
    });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpan = '00f067aa0ba902b7';
      const res = await fetch(`${server.url}/queues/${queue}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
        body: JSON.stringify({ data: { hello: 'world' } }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await waitFor(
        () => seen.length === 1 && otel.spans().some((s) => s.name === `process ${queue}`),
        20_000,
      );

      const http = otel.byName(`POST /queues/:queue/jobs`);
      const publish = otel.byName(`publish ${queue}`);
      const process = otel.byName(`process ${queue}`);
      const work = otel.byName('handler work');
      for (const s of [http, publish, process, work]) expect(traceOf(s), s.name).toBe(traceId);
      expect(http.kind).toBe(SpanKind.SERVER);
      expect(parentOf(http)).toBe(callerSpan);
      expect(parentOf(publish)).toBe(idOf(http));
      expect(parentOf(process)).toBe(idOf(publish));
      expect(parentOf(work)).toBe(idOf(process));
      expect(seen[0]).toEqual({ traceId, spanId: idOf(process), data: { hello: 'world' } });
      expect(publish.kind).toBe(SpanKind.PRODUCER);
      expect(publish.attributes).toMatchObject({
        'messaging.system': 'postgresql',
        'messaging.destination.name': queue,
        'messaging.operation': 'publish',
        'messaging.message.id': id,
      });
      expect(process.kind).toBe(SpanKind.CONSUMER);
      expect(process.attributes).toMatchObject({
        'messaging.operation': 'process',
        'messaging.message.id': id,
        'fraiseql.job.result': 'complete',
      });

      // Readers of this layer (the server's job API here) see the data as enqueued…
      const job = (await (await fetch(`${server.url}/queues/${queue}/jobs/${id}`)).json()) as {
        data: unknown;
      };
      expect(job.data).toEqual({ hello: 'world' });
      // …while the backend stored the context with it (the contract has no metadata field).
      const backend = (integrations.queue as unknown as { inner: Integrations['queue'] }).inner!;
      const stored = (await backend.getJob(queue, id))?.data as Record<string, { traceparent: string }>;
      expect(stored[TRACE_KEY]?.traceparent).toBe(`00-${traceId}-${idOf(publish)}-01`);
    } finally {
      await workers.close({ timeoutMs: 2000 });
      await server.close();
    }
  }, 60_000);

  it('a failing job records the error on its process span; a job without context runs untouched', async () => {
    const queue = uniqueName('fails').replace(/[^A-Za-z0-9_.:-]/g, '_');
    const workers = startWorkers({
      integrations,
      builtins: false,
      handlers: {
        [queue]: async (job) => {
          if ((job.data as { fail?: boolean }).fail) throw new Error('boom');
        },
      },
    });
    try {
      const id = await otel.tracer.startActiveSpan('root', async (root) => {
        try {
          return await integrations.queue!.enqueue(queue, { fail: true }, { maxRetries: 0 });
        } finally {
          root.end();
        }
      });
      await waitFor(async () => (await integrations.queue!.getJob(queue, id))?.state === 'failed', 20_000);
      await waitFor(() => otel.spans().some((s) => s.name === `process ${queue}`), 5000);
      const process = otel.byName(`process ${queue}`);
      expect(process.status.code).toBe(SpanStatusCode.ERROR);
      expect(traceOf(process)).toBe(traceOf(otel.byName('root')));
      expect((await integrations.queue!.getJob(queue, id))?.data).toEqual({ fail: true });
      const [listed] = await integrations.queue!.listJobs(queue, { state: 'failed' });
      expect(listed?.data).toEqual({ fail: true });
    } finally {
      await workers.close({ timeoutMs: 2000 });
    }
  }, 60_000);
});

describe('observer events and flow messages carry the trace', () => {
  it('an observer event hands its trace context to its actions, and an enqueue action on to the job', async () => {
    const tracing = createTracing(otel.tracer);
    const sql = integrations.sql as SqlClient;
    const schema = uniqueName('obs').replace(/[^a-z0-9_]/gi, '_');
    const changeLog = `${schema}.tb_entity_change_log`;
    await ensureChangeLog(sql, { table: changeLog });
    const queue = uniqueName('obsq').replace(/[^A-Za-z0-9_.:-]/g, '_');
    const runtime = await createObserverRuntime({
      sql,
      schema,
      changeLog,
      observers: [{ name: 'sync', entity: 'Order', actions: [{ type: 'enqueue', queue }] }],
      providers: { queue: integrations.queue! },
      aroundAction: tracing.aroundAction,
    });
    const root = otel.tracer.startSpan('request');
    const event = context.with(trace.setSpan(context.active(), root), () =>
      withTraceContext({
        id: '7',
        source: 'default',
        entity: 'Order',
        entityId: 'o-7',
        kind: 'INSERT' as const,
        data: { total: 1 },
        createdAt: new Date(),
      }),
    );
    root.end();
    expect(event.traceContext?.traceparent).toContain(root.spanContext().traceId);
    // Processed outside any active span: the parent comes from the event alone.
    const summary = await context.with(trace.deleteSpan(context.active()), () => runtime.processEvent(event));
    expect(summary).toMatchObject({ actionsRun: 1, actionsFailed: 0 });
    const action = otel.byName('observer sync enqueue');
    const publish = otel.byName(`publish ${queue}`);
    expect(parentOf(action)).toBe(root.spanContext().spanId);
    expect(parentOf(publish)).toBe(idOf(action));
    expect(traceOf(publish)).toBe(root.spanContext().traceId);
    const [job] = await integrations.queue!.listJobs(queue, { state: 'pending' });
    expect(job?.data).not.toHaveProperty(TRACE_KEY);
    await runtime.stop().catch(() => undefined);
  }, 60_000);

  it('each flow step is a span, child of the previous step through the message headers', async () => {
    const tracing = createTracing(otel.tracer);
    const delivered: { headers: Record<string, string>; body: unknown }[] = [];
    const engine = await createFlowEngine({
      aroundStep: tracing.aroundStep,
      connectors: [
        {
          name: 'sink',
          type: 'test',
          deliver: async (msg: { headers: Record<string, string>; body: unknown }) => {
            delivered.push({ headers: msg.headers, body: msg.body });
          },
          healthCheck: async () => true,
          close: async () => undefined,
        } as never,
      ],
    });
    await engine.createFlow({
      name: 'traced',
      source: { type: 'http' },
      steps: [
        { type: 'transform', name: 'shape', mapping: { total: '$.amount' } },
        { type: 'deliver', name: 'push', to: { connector: 'sink' } },
      ],
    } as never);
    await engine.startFlow('traced');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await engine.post('traced', { amount: 5 }, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    await waitFor(() => delivered.length === 1, 10_000);
    const shape = otel.byName('flow traced shape');
    const push = otel.byName('flow traced push');
    expect(traceOf(shape)).toBe(traceId);
    expect(parentOf(shape)).toBe('b7ad6b7169203331');
    expect(parentOf(push)).toBe(idOf(shape));
    // The delivering step hands its own context on (an outbound connector can forward it).
    expect(delivered[0]!.headers.traceparent).toBe(`00-${traceId}-${idOf(push)}-01`);
    await engine.stopFlow('traced');
  }, 30_000);
});
