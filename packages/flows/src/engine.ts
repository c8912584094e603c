import { randomUUID } from 'node:crypto';
import {
  sleep as coreSleep,
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  isPlainObject,
  matchesFilter,
  redactSecrets,
} from '@fraiseql/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Registry } from 'prom-client';
import { type CompiledFlow, compileFlow } from './definitions';
import { createEnrichCache } from './enrich-cache';
import { permanent, StepError } from './errors';
import { decode, encode } from './formats';
import { safeCopy, setPath } from './json';
import { applyMapping } from './mapping';
import { flowMetrics } from './metrics';
import { createPluginManager, silentLogger } from './plugins';
import { backoffDelay, checkStatus, classify, fillTemplate } from './step-support';
import type {
  Connector,
  DeadLetter,
  Destination,
  EnrichStep,
  FlowEngineOptions,
  FlowLogRecord,
  FlowManager,
  FlowMessage,
  FlowState,
  FlowStatus,
  FormatStep,
  PluginManager,
  PluginStep,
  Step,
  StepContext,
  TransformStep,
} from './types';

// ajv-formats is CommonJS: its function is the module or its `default`, depending on the loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

/** Largest payload (JSON characters) copied into a log record. */
const MAX_LOGGED_PAYLOAD = 16 * 1024;

/** A log record as kept: the time as a number until someone reads it. */
type LogEntry = Omit<FlowLogRecord, 'time'> & { at: number };

interface FlowEntry {
  compiled: CompiledFlow;
  name: string;
  state: FlowState;
  processed: number;
  failed: number;
  dlq: number;
  inFlight: number;
  lastError?: string;
  startedAt?: Date;
  stops: (() => Promise<void>)[];
  logs: LogEntry[];
  deadLetters: DeadLetter[];
}

function notFound(name: string): IntegrationError {
  return new IntegrationError(
    ErrorCode.InvalidConfiguration,
    `[flows] no flow named ${JSON.stringify(name)}`,
    {
      kind: 'configuration',
      field: 'flows',
    },
  );
}

/** The flow engine: flows over queue/http/observer/connector sources, retry then DLQ, metrics, logs. */
export async function createFlowEngine(opts: FlowEngineOptions = {}): Promise<FlowManager> {
  const logger = opts.logger ?? silentLogger;
  let plugins: PluginManager;
  if (Array.isArray(opts.plugins)) {
    plugins = createPluginManager({ logger });
    for (const p of opts.plugins) await plugins.registerPlugin(p);
  } else plugins = opts.plugins ?? createPluginManager({ logger });
  const queue = opts.providers?.queue;
  const cache = opts.providers?.cache;
  const registry = opts.registry ?? new Registry();
  const sleep = opts.sleep ?? ((ms: number) => coreSleep(ms));
  const logLimit = opts.logLimit ?? 1000;
  const maxDepth = opts.maxDepth ?? 512;
  const aroundStep = opts.aroundStep;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const flows = new Map<string, FlowEntry>();
  const enrichCache = createEnrichCache(cache, opts.enrichCacheSize ?? 1000);

  const { messages, stepDuration, errors, connectorRequests } = flowMetrics(registry);

  const connectorMap = (): Map<string, Connector> => {
    const m = new Map<string, Connector>();
    for (const c of [...(opts.connectors ?? []), ...plugins.connectors()]) m.set(c.name, c);
    return m;
  };
  // Per message: a lookup, not a map rebuilt. Plugin connectors win over `opts.connectors`, as in connectorMap.
  const findConnector = (name: string): Connector | undefined =>
    plugins.connectors().find((c) => c.name === name) ?? opts.connectors?.find((c) => c.name === name);
  const connector = (name: string): Connector => {
    const c = findConnector(name);
    if (!c) throw permanent(`unknown connector "${name}"`);
    return c;
  };
  const entry = (name: string): FlowEntry => {
    const f = flows.get(name);
    if (!f) throw notFound(name);
    return f;
  };

  function log(f: FlowEntry, rec: Omit<FlowLogRecord, 'time' | 'flow'>, payload?: unknown): void {
    // The ISO time is made when the logs are read: most records are never read.
    const r: LogEntry = { at: Date.now(), flow: f.name, ...rec };
    if (r.detail) r.detail = redactSecrets(r.detail);
    if (payload !== undefined && f.compiled.def.monitoring?.logging?.includePayload) {
      try {
        const text = JSON.stringify(payload) ?? 'null';
        // Redaction is regex work: bounded so a huge body costs nothing.
        r.payload =
          text.length > MAX_LOGGED_PAYLOAD
            ? `[payload of ${text.length} characters omitted]`
            : JSON.parse(redactSecrets(text));
      } catch {
        r.payload = '[unserializable]';
      }
    }
    f.logs.push(r);
    // Trimmed in batches: a splice per record would move the whole window on every message.
    if (f.logs.length >= logLimit * 2) f.logs.splice(0, f.logs.length - logLimit);
    logger[r.level](
      { flow: f.name, step: r.step, messageId: r.messageId },
      `[flows] ${r.event}${r.detail ? `: ${r.detail}` : ''}`,
    );
  }

  async function request(c: Connector, req: Parameters<NonNullable<Connector['request']>>[0]) {
    if (!c.request) throw permanent(`connector "${c.name}" has no request()`);
    try {
      const res = await c.request(req);
      connectorRequests.inc({ connector: c.name, outcome: res.status < 400 ? 'ok' : 'error' });
      return res;
    } catch (err) {
      connectorRequests.inc({ connector: c.name, outcome: 'error' });
      throw err;
    }
  }

  async function deliver(to: Destination, msg: FlowMessage): Promise<void> {
    if ('queue' in to) {
      if (!queue) throw permanent('no queue provider');
      await queue.enqueue(to.queue, msg.body);
      return;
    }
    const c = connector(to.connector);
    if (c.deliver) return c.deliver(msg, to);
    const target = to.topic ?? to.routingKey ?? to.exchange;
    if (c.publish && target !== undefined) return c.publish(target, msg.body, { ...to });
    if (c.insert && to.table) return c.insert(to.table, msg.body);
    if (c.request) {
      const res = await request(c, { method: to.method ?? 'POST', path: to.path ?? '/', body: msg.body });
      return checkStatus(`connector "${c.name}"`, res.status);
    }
    if (c.publish) return c.publish(to.connector, msg.body, { ...to });
    throw permanent(`connector "${c.name}" cannot deliver to ${JSON.stringify(to)}`);
  }

  async function enrich(f: FlowEntry, step: EnrichStep, msg: FlowMessage): Promise<FlowMessage> {
    const c = connector(step.connector);
    const method = (step.request.method ?? 'GET').toUpperCase();
    const path = fillTemplate(step.request.path, msg.body);
    const key = `flows:${f.name}:${step.name}:${method} ${path}`;
    const value = await enrichCache.lookup(key, step.cacheTtlMs, async () => {
      const res = await request(c, { method, path });
      checkStatus(`enrich ${method} ${path}`, res.status);
      return safeCopy(res.body, maxDepth);
    });
    return { ...msg, body: setPath(msg.body, step.into, value) };
  }

  async function runStep(f: FlowEntry, step: Step, msg: FlowMessage): Promise<FlowMessage> {
    switch (step.type) {
      case 'transform':
        return { ...msg, body: applyMapping((step as TransformStep).mapping, msg.body) };
      case 'validate': {
        const v = f.compiled.validators.get(step.name);
        if (v && !v(msg.body)) {
          const errs = (v.errors ?? []) as { instancePath?: string; message?: string }[];
          throw permanent(
            `validation failed: ${errs.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`,
            errs,
          );
        }
        return msg;
      }
      case 'enrich':
        return enrich(f, step as EnrichStep, msg);
      case 'route': {
        const routes = f.compiled.routes.get(step.name) ?? [];
        const doc = isPlainObject(msg.body) ? msg.body : { value: msg.body };
        const hit = routes.find((r) => matchesFilter(r.filter, doc));
        if (!hit) throw permanent('unroutable: no route matched');
        await deliver(hit.to, msg);
        return msg;
      }
      case 'deliver':
        await deliver((step as { to: Destination }).to, msg);
        return msg;
      case 'decode': {
        const s = step as FormatStep;
        return { ...msg, body: safeCopy(await decode(s.format, msg.body, s.schema), maxDepth) };
      }
      case 'encode': {
        const s = step as FormatStep;
        return { ...msg, body: await encode(s.format, msg.body, s.schema) };
      }
      default: {
        const impl = plugins.steps().get(step.type);
        if (!impl) throw permanent(`no active plugin provides step type "${step.type}"`);
        const ctx: StepContext = {
          flow: f.name,
          connector: findConnector,
          providers: { ...(queue ? { queue } : {}), ...(cache ? { cache } : {}) },
          logger,
        };
        return impl(msg, step as PluginStep, ctx);
      }
    }
  }

  async function deadLetter(f: FlowEntry, step: string, reason: string, msg: FlowMessage, attempts: number) {
    let message = msg;
    try {
      JSON.stringify(msg.body);
    } catch {
      message = { ...msg, body: '[unserializable]' };
    }
    const record: DeadLetter = {
      flow: f.name,
      step,
      reason,
      message,
      attempts,
      failedAt: new Date().toISOString(),
    };
    if (queue) {
      try {
        await queue.enqueue(f.compiled.dlq, record);
      } catch (err) {
        // A body the queue refuses (too large, unserializable) must not keep the message from the DLQ.
        if (!isIntegrationError(err) || err.code !== ErrorCode.InvalidJobData) throw err;
        await queue.enqueue(f.compiled.dlq, {
          ...record,
          message: { ...msg, body: `[body omitted: ${describeError(err).slice(0, 200)}]` },
        });
      }
    } else {
      f.deadLetters.push(record);
      if (f.deadLetters.length > 10_000) f.deadLetters.shift();
    }
    f.dlq++;
    f.failed++;
    messages.inc({ flow: f.name, outcome: 'dlq' });
    log(f, { level: 'warn', event: 'dead-lettered', messageId: msg.id, step, detail: reason }, msg.body);
  }

  /** Runs every step; resolves once delivered or dead-lettered (throws only when the DLQ write fails). */
  async function run(f: FlowEntry, input: FlowMessage): Promise<'delivered' | 'dlq'> {
    f.inFlight++;
    try {
      let msg = input;
      log(f, { level: 'debug', event: 'received', messageId: msg.id }, msg.body);
      for (const step of f.compiled.def.steps) {
        for (let attempt = 1; ; attempt++) {
          const end = stepDuration.startTimer({ flow: f.name, step: step.name });
          try {
            msg = aroundStep
              ? await aroundStep({ flow: f.name, step: step.name, type: step.type }, msg, (m) =>
                  runStep(f, step, m),
                )
              : await runStep(f, step, msg);
            end();
            break;
          } catch (raw) {
            end();
            const err = classify(raw);
            errors.inc({ flow: f.name, step: step.name });
            f.lastError = `${step.name}: ${err.message}`;
            const last = err.permanent || attempt >= f.compiled.retry.maxAttempts;
            log(f, {
              level: last ? 'error' : 'warn',
              event: last ? 'step failed' : 'step failed, retrying',
              messageId: msg.id,
              step: step.name,
              detail: err.message,
            });
            if (last) {
              await deadLetter(f, step.name, err.message, msg, attempt);
              return 'dlq';
            }
            await sleep(backoffDelay(f.compiled.retry.backoff, attempt));
          }
        }
      }
      f.processed++;
      messages.inc({ flow: f.name, outcome: 'delivered' });
      log(f, { level: 'info', event: 'delivered', messageId: msg.id });
      return 'delivered';
    } finally {
      f.inFlight--;
    }
  }

  /** One pass over the body: the safe copy stops (and says so) past `maxDepth`. */
  function intake(body: unknown, where: string): unknown {
    try {
      return safeCopy(body, maxDepth);
    } catch (err) {
      if (!(err instanceof StepError)) throw err;
      throw new IntegrationError(
        ErrorCode.InvalidJobData,
        `[flows] ${where}: message nested deeper than ${maxDepth}`,
        {
          kind: 'invalid_input',
        },
      );
    }
  }

  function status(f: FlowEntry): FlowStatus {
    return {
      name: f.name,
      state: f.state,
      processed: f.processed,
      failed: f.failed,
      dlq: f.dlq,
      inFlight: f.inFlight,
      ...(f.lastError ? { lastError: f.lastError } : {}),
      ...(f.startedAt ? { startedAt: f.startedAt } : {}),
    };
  }

  const httpQueue = (name: string) => `${name}.http`;

  async function stop(f: FlowEntry): Promise<void> {
    const stops = f.stops.splice(0);
    for (const s of stops)
      await s().catch((err) => log(f, { level: 'warn', event: 'stop failed', detail: describeError(err) }));
  }

  const manager: FlowManager = {
    plugins,
    async createFlow(def) {
      const compiled = compileFlow(def, {
        connectors: connectorMap(),
        pluginSteps: new Set(plugins.steps().keys()),
        hasQueue: !!queue,
        ajv,
      });
      if (flows.has(def.name))
        throw new IntegrationError(
          ErrorCode.InvalidConfiguration,
          `[flows] flow "${def.name}" already exists`,
          {
            kind: 'configuration',
            field: 'flows',
          },
        );
      const f: FlowEntry = {
        compiled,
        name: def.name,
        state: 'created',
        processed: 0,
        failed: 0,
        dlq: 0,
        inFlight: 0,
        stops: [],
        logs: [],
        deadLetters: [],
      };
      flows.set(def.name, f);
      log(f, { level: 'info', event: 'created' });
      return status(f);
    },
    async startFlow(name) {
      const f = entry(name);
      if (f.state === 'running') return status(f);
      const src = f.compiled.def.source;
      try {
        if (src.type === 'queue' && queue) {
          const w = queue.process<unknown>(
            src.queue,
            async (job) => {
              await run(f, {
                id: job.id,
                body: intake(job.data, 'queue'),
                headers: {},
                attempt: job.attempts,
                source: 'queue',
              });
              return { status: 'complete' };
            },
            src.concurrency ? { concurrency: src.concurrency } : {},
          );
          f.stops.push(() => w.close());
        } else if (src.type === 'connector') {
          const c = connector(src.connector);
          const sub = await c.subscribe?.(src.topic ?? src.queue ?? '', async (m) => {
            await run(f, {
              id: m.id ?? randomUUID(),
              body: intake(m.body, 'connector'),
              headers: m.headers ?? {},
              attempt: 1,
              source: 'connector',
            });
          });
          if (sub) f.stops.push(typeof sub === 'function' ? sub : () => sub.close());
        }
        if ((src.type === 'http' || src.type === 'observer') && queue) {
          const w = queue.process<{ id: string; body: unknown; headers: Record<string, string> }>(
            httpQueue(name),
            async (job) => {
              await run(f, {
                id: job.data.id,
                body: intake(job.data.body, 'http'),
                headers: job.data.headers ?? {},
                attempt: job.attempts,
                source: src.type,
              });
              return { status: 'complete' };
            },
          );
          f.stops.push(() => w.close());
        }
      } catch (err) {
        f.state = 'failed';
        f.lastError = describeError(err);
        await stop(f);
        throw err;
      }
      f.state = 'running';
      f.startedAt = new Date();
      log(f, { level: 'info', event: 'started' });
      return status(f);
    },
    async stopFlow(name) {
      const f = entry(name);
      await stop(f);
      if (f.state === 'running') f.state = 'stopped';
      log(f, { level: 'info', event: 'stopped' });
      return status(f);
    },
    getFlowStatus: (name) => status(entry(name)),
    listFlows: () => [...flows.values()].map(status),
    async deleteFlow(name) {
      const f = flows.get(name);
      if (!f) return false;
      await stop(f);
      flows.delete(name);
      return true;
    },
    logs(name, o = {}) {
      const all = entry(name).logs;
      const limit = Math.min(o.limit ?? 100, logLimit);
      return all.slice(Math.max(0, all.length - limit)).map(({ at, ...r }) => ({
        time: new Date(at).toISOString(),
        ...r,
      }));
    },
    deadLetters: (name) => [...entry(name).deadLetters],
    async post(name, body, headers = {}) {
      const f = entry(name);
      const type = f.compiled.def.source.type;
      if (type !== 'http' && type !== 'observer')
        throw new IntegrationError(
          ErrorCode.UnsupportedOperation,
          `[flows] flow "${name}" has a ${type} source, not http`,
          {
            kind: 'configuration',
          },
        );
      const id = randomUUID();
      const safe = intake(body, 'post');
      if (queue) {
        await queue.enqueue(httpQueue(name), { id, body: safe, headers });
        return id;
      }
      if (f.state !== 'running')
        throw new IntegrationError(ErrorCode.UnsupportedOperation, `[flows] flow "${name}" is not running`, {
          kind: 'configuration',
        });
      await run(f, { id, body: safe, headers, attempt: 1, source: type });
      return id;
    },
    observerAction(name) {
      return async (event: unknown) => {
        const f = entry(name);
        const src = f.compiled.def.source;
        if (src.type === 'observer' && isPlainObject(event)) {
          if (src.entity && event.entity !== src.entity) return;
          if (src.events && !src.events.includes(event.kind as never)) return;
        }
        await manager.post(name, event);
      };
    },
    async close() {
      for (const f of flows.values()) {
        await stop(f);
        if (f.state === 'running') f.state = 'stopped';
      }
      await plugins.close();
    },
  };
  opts.observers?.registerAction('flow', (async (event: unknown, action: { flow?: string }) => {
    if (typeof action?.flow !== 'string') throw new Error('the flow action needs a "flow" name');
    await manager.observerAction(action.flow)(event);
  }) as never);
  return manager;
}
