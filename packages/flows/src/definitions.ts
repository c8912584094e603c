import {
  type Filter,
  isPlainObject,
  type NormalizedFilter,
  normalizeFilter,
  Problems,
  parseFilterExpression,
} from '@fraiseql/core';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { checkJsonPath, mappingPaths, UNSAFE_KEYS } from './json';
import type { Connector, Destination, FlowDefinition, RetryPolicy, Step } from './types';

export { Problems };

export const BUILTIN_STEPS = ['transform', 'validate', 'enrich', 'route', 'deliver', 'decode', 'encode'];
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const QUEUE = /^[A-Za-z0-9_.:-]{1,128}$/;
const FORMATS = ['json', 'xml', 'avro'];

export type CompiledRoute = { filter: NormalizedFilter; to: Destination };
export interface CompiledFlow {
  def: FlowDefinition;
  dlq: string;
  retry: Required<RetryPolicy>;
  validators: Map<string, ((data: unknown) => boolean) & { errors?: unknown }>;
  routes: Map<string, CompiledRoute[]>;
}

export interface CompileContext {
  connectors: ReadonlyMap<string, Connector>;
  pluginSteps: ReadonlySet<string>;
  hasQueue: boolean;
  ajv: Ajv2020;
}

function queueName(v: unknown, where: string, problems: Problems): void {
  if (typeof v !== 'string' || !QUEUE.test(v))
    problems.add(`${where} must be 1-128 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(v)}`);
}

function destinationQueues(def: FlowDefinition): string[] {
  const out: string[] = [];
  for (const s of Array.isArray(def.steps) ? def.steps : []) {
    if (!isPlainObject(s)) continue;
    const dests =
      s.type === 'deliver'
        ? [s.to]
        : s.type === 'route' && Array.isArray(s.routes)
          ? s.routes.map((r: unknown) => (isPlainObject(r) ? r.to : undefined))
          : [];
    for (const d of dests) if (isPlainObject(d) && typeof d.queue === 'string') out.push(d.queue);
  }
  return out;
}

function checkDestination(d: unknown, where: string, problems: Problems, ctx: CompileContext): void {
  if (!isPlainObject(d)) {
    problems.add(`${where} must be { queue } or { connector, ... }`);
    return;
  }
  if (d.queue !== undefined) {
    queueName(d.queue, `${where}.queue`, problems);
    if (!ctx.hasQueue)
      problems.add(`${where}: delivering to queue "${String(d.queue)}" needs a queue provider`);
  } else if (typeof d.connector === 'string') {
    const c = ctx.connectors.get(d.connector);
    if (!c) problems.add(`${where}: unknown connector "${d.connector}"`);
    else if (!c.deliver && !c.publish && !c.insert && !c.request)
      problems.add(`${where}: connector "${d.connector}" cannot deliver (no deliver/publish/insert/request)`);
  } else problems.add(`${where} must have a "queue" or a "connector"`);
}

function compileWhen(when: unknown, where: string, problems: Problems): NormalizedFilter {
  if (when === undefined) return [];
  try {
    const filter = typeof when === 'string' ? parseFilterExpression(when) : (when as Filter);
    return normalizeFilter(filter);
  } catch (err) {
    problems.add(`${where}.when: ${(err as Error).message}`);
    return [];
  }
}

function checkStep(
  step: Step,
  where: string,
  problems: Problems,
  ctx: CompileContext,
  flow: CompiledFlow,
): void {
  const s = step as Record<string, unknown>;
  switch (s.type) {
    case 'transform':
      if (s.mapping === undefined) problems.add(`${where}.mapping is required`);
      for (const { path, where: w } of mappingPaths(s.mapping, `${where}.mapping`)) {
        try {
          checkJsonPath(path);
        } catch (err) {
          problems.add(`${w}: bad JSONPath ${JSON.stringify(path)}: ${(err as Error).message}`);
        }
      }
      return;
    case 'validate':
      if (!isPlainObject(s.schema) && typeof s.schema !== 'boolean') {
        problems.add(`${where}.schema must be a JSON Schema object`);
        return;
      }
      try {
        flow.validators.set(step.name, ctx.ajv.compile(s.schema as object));
      } catch (err) {
        problems.add(`${where}.schema: invalid JSON Schema: ${(err as Error).message}`);
      }
      return;
    case 'enrich': {
      const c = typeof s.connector === 'string' ? ctx.connectors.get(s.connector) : undefined;
      if (!c) problems.add(`${where}: unknown connector ${JSON.stringify(s.connector)}`);
      else if (!c.request) problems.add(`${where}: connector "${c.name}" has no request()`);
      const req = s.request as Record<string, unknown> | undefined;
      if (!isPlainObject(req) || typeof req.path !== 'string')
        problems.add(`${where}.request must be { method?, path }`);
      else if (req.method !== undefined && typeof req.method !== 'string')
        problems.add(`${where}.request.method must be a string`);
      if (
        typeof s.into !== 'string' ||
        s.into === '' ||
        s.into.split('.').some((p) => p === '' || UNSAFE_KEYS.has(p))
      )
        problems.add(`${where}.into must be a dotted path without __proto__/constructor/prototype`);
      problems.positive(s.cacheTtlMs, `${where}.cacheTtlMs`);
      return;
    }
    case 'route': {
      if (!Array.isArray(s.routes) || s.routes.length === 0) {
        problems.add(`${where}.routes must be a non-empty array`);
        return;
      }
      const compiled: CompiledRoute[] = [];
      for (const [i, r] of (s.routes as unknown[]).entries()) {
        if (!isPlainObject(r)) {
          problems.add(`${where}.routes[${i}] must be { when?, to }`);
          continue;
        }
        checkDestination(r.to, `${where}.routes[${i}].to`, problems, ctx);
        compiled.push({
          filter: compileWhen(r.when, `${where}.routes[${i}]`, problems),
          to: r.to as Destination,
        });
      }
      flow.routes.set(step.name, compiled);
      return;
    }
    case 'deliver':
      checkDestination(s.to, `${where}.to`, problems, ctx);
      return;
    case 'decode':
    case 'encode':
      if (!FORMATS.includes(s.format as string))
        problems.add(`${where}.format must be json, xml or avro, got ${JSON.stringify(s.format)}`);
      if (s.format === 'avro' && !isPlainObject(s.schema)) problems.add(`${where}: avro needs a schema`);
      return;
    default:
      if (!ctx.pluginSteps.has(s.type as string))
        problems.add(
          `${where}: unknown step type ${JSON.stringify(s.type)} (built in: ${BUILTIN_STEPS.join(', ')}; others come from plugins)`,
        );
  }
}

/** Validates a flow definition; every problem is listed in one IN002. */
export function compileFlow(def: FlowDefinition, ctx: CompileContext): CompiledFlow {
  const problems = new Problems('flows');
  if (!isPlainObject(def)) problems.throwIfAny('flow');
  const name = typeof def?.name === 'string' && NAME.test(def.name) ? def.name : undefined;
  if (!name)
    problems.add(`name must be 1-128 characters of [A-Za-z0-9_.-], got ${JSON.stringify(def?.name)}`);
  const eh = def?.errorHandling ?? {};
  const r = eh.retry ?? {};
  problems.positive(r.maxAttempts, 'errorHandling.retry.maxAttempts', true);
  const b = r.backoff as Record<string, unknown> | undefined;
  if (b !== undefined) {
    if (b.type === 'exponential') {
      problems.positive(b.initialMs, 'errorHandling.retry.backoff.initialMs');
      problems.positive(b.maxMs, 'errorHandling.retry.backoff.maxMs');
      problems.positive(b.multiplier, 'errorHandling.retry.backoff.multiplier');
    } else if (b.type === 'linear') {
      problems.positive(b.initialMs, 'errorHandling.retry.backoff.initialMs');
      if (typeof b.stepMs !== 'number' || !(b.stepMs >= 0))
        problems.add('errorHandling.retry.backoff.stepMs must be a number >= 0');
    } else problems.add('errorHandling.retry.backoff.type must be exponential or linear');
  }
  const dlq = eh.dlq ?? `${name ?? 'flow'}.dlq`;
  queueName(dlq, 'errorHandling.dlq', problems);
  const flow: CompiledFlow = {
    def,
    dlq,
    retry: {
      maxAttempts: r.maxAttempts ?? 3,
      backoff: (r.backoff as RetryPolicy['backoff']) ?? {
        type: 'exponential',
        initialMs: 1000,
        maxMs: 60_000,
        multiplier: 2,
      },
    },
    validators: new Map(),
    routes: new Map(),
  };

  const src = def?.source as Record<string, unknown> | undefined;
  if (!isPlainObject(src)) problems.add('source must be an object with a "type"');
  else if (src.type === 'queue') {
    queueName(src.queue, 'source.queue', problems);
    problems.positive(src.concurrency, 'source.concurrency', true);
    if (!ctx.hasQueue) problems.add('source: a queue source needs a queue provider');
    if (typeof src.queue === 'string' && destinationQueues(def).includes(src.queue))
      problems.add(`cycle: queue "${src.queue}" is both the source and a destination of this flow`);
  } else if (src.type === 'connector') {
    const c = typeof src.connector === 'string' ? ctx.connectors.get(src.connector) : undefined;
    if (!c) problems.add(`source: unknown connector ${JSON.stringify(src.connector)}`);
    else if (!c.subscribe) problems.add(`source: connector "${c.name}" cannot subscribe`);
    if (typeof src.topic !== 'string' && typeof src.queue !== 'string')
      problems.add('source: a connector source needs a "topic" or a "queue"');
  } else if (src.type === 'observer') {
    if (src.entity !== undefined && typeof src.entity !== 'string')
      problems.add('source.entity must be a string');
    if (src.events !== undefined && !Array.isArray(src.events))
      problems.add('source.events must be an array');
  } else if (src.type !== 'http')
    problems.add(`source.type must be queue, observer, http or connector, got ${JSON.stringify(src.type)}`);

  if (!Array.isArray(def?.steps) || def.steps.length === 0) problems.add('steps must be a non-empty array');
  else {
    const seen = new Set<string>();
    for (const [i, step] of def.steps.entries()) {
      const where = `steps[${i}]`;
      if (
        !isPlainObject(step) ||
        typeof step.type !== 'string' ||
        typeof step.name !== 'string' ||
        !step.name
      ) {
        problems.add(`${where} must be an object with a string "type" and "name"`);
        continue;
      }
      if (seen.has(step.name)) problems.add(`${where}: duplicate step name "${step.name}"`);
      seen.add(step.name);
      checkStep(step, `${where} (${step.name})`, problems, ctx, flow);
    }
  }
  problems.throwIfAny(`flow ${JSON.stringify(def?.name)}`);
  return flow;
}
