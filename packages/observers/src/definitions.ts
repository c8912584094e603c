import {
  type Filter,
  isPlainObject,
  matchesFilter,
  type NormalizedFilter,
  normalizeFilter,
  Problems,
  parseFilterExpression,
} from '@fraiseql/core';
import { unknownPlaceholders } from './templates';
import type { ActionDefinition, ChangeKind, EntityEvent, ObserverDefinition, RetryPolicy } from './types';

export const BUILTIN_ACTIONS = [
  'webhook',
  'enqueue',
  'search.index',
  'search.delete',
  'cache.invalidate',
  'audit',
];
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const INDEX = /^[A-Za-z0-9_-]{1,64}$/;
const QUEUE = /^[A-Za-z0-9_.:-]{1,128}$/;
const KINDS: Record<string, ChangeKind> = {
  INSERT: 'INSERT',
  UPDATE: 'UPDATE',
  DELETE: 'DELETE',
  created: 'INSERT',
  updated: 'UPDATE',
  deleted: 'DELETE',
};

/** `'created'` → `'INSERT'` etc.; undefined when not a kind. */
export function parseKind(kind: unknown): ChangeKind | undefined {
  return typeof kind === 'string' ? (KINDS[kind] ?? KINDS[kind.toUpperCase()]) : undefined;
}

export interface CompiledObserver {
  name: string;
  entity: string;
  events: ReadonlySet<ChangeKind>;
  filter: NormalizedFilter;
  actions: ActionDefinition[];
  retry: Required<RetryPolicy>;
}

/** Which providers the definitions need, for the cross-checks. */
export interface AvailableProviders {
  cache: boolean;
  queue: boolean;
  search: boolean;
}

function compileCondition(condition: unknown, where: string, problems: Problems): NormalizedFilter {
  if (condition === undefined) return [];
  let filter: Filter | undefined;
  if (typeof condition === 'string') {
    filter = problems.check(() => parseFilterExpression(condition));
    if (!filter) return [];
  } else filter = condition as Filter;
  try {
    return normalizeFilter(filter);
  } catch (err) {
    problems.add(`${where}.condition: ${(err as Error).message}`);
    return [];
  }
}

function templates(values: unknown[], where: string, problems: Problems): void {
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const unknown = unknownPlaceholders(v);
    if (unknown.length > 0)
      problems.add(`${where}: unknown placeholder(s) ${unknown.map((u) => `{${u}}`).join(', ')}`);
  }
}

function checkAction(
  action: unknown,
  where: string,
  problems: Problems,
  known: ReadonlySet<string> | undefined,
  providers: AvailableProviders | undefined,
): void {
  if (!isPlainObject(action) || typeof action.type !== 'string') {
    problems.add(`${where} must be an object with a string "type"`);
    return;
  }
  const a = action as Record<string, unknown>;
  const need = (kind: keyof AvailableProviders) => {
    if (providers && !providers[kind])
      problems.add(`${where} (${a.type}) needs a ${kind} provider, and none is configured`);
  };
  switch (a.type) {
    case 'webhook': {
      if (typeof a.url !== 'string' || !/^https?:\/\//i.test(a.url))
        problems.add(`${where}.url must be an http(s) URL`);
      if (a.method !== undefined && !['POST', 'PUT', 'PATCH'].includes(a.method as string))
        problems.add(`${where}.method must be POST, PUT or PATCH, got ${String(a.method)}`);
      if (
        a.headers !== undefined &&
        (!isPlainObject(a.headers) || Object.values(a.headers).some((h) => typeof h !== 'string'))
      )
        problems.add(`${where}.headers must map names to strings`);
      if (a.secret !== undefined && (typeof a.secret !== 'string' || a.secret.length === 0))
        problems.add(`${where}.secret must be a non-empty string`);
      problems.positive(a.timeoutMs, `${where}.timeoutMs`);
      templates([a.url, ...(isPlainObject(a.headers) ? Object.values(a.headers) : [])], where, problems);
      return;
    }
    case 'enqueue':
      if (typeof a.queue !== 'string' || !QUEUE.test(a.queue))
        problems.add(
          `${where}.queue must be 1-128 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(a.queue)}`,
        );
      if (a.priority !== undefined && (typeof a.priority !== 'number' || !Number.isInteger(a.priority)))
        problems.add(`${where}.priority must be an integer`);
      need('queue');
      return;
    case 'search.index':
    case 'search.delete':
    case 'audit':
      if (
        (a.type !== 'audit' || a.index !== undefined) &&
        (typeof a.index !== 'string' || !INDEX.test(a.index))
      )
        problems.add(
          `${where}.index must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(a.index)}`,
        );
      need('search');
      return;
    case 'cache.invalidate': {
      const keys = a.keys;
      if (
        keys !== undefined &&
        (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || k.length === 0))
      )
        problems.add(`${where}.keys must be an array of non-empty strings`);
      if (a.pattern !== undefined && (typeof a.pattern !== 'string' || a.pattern.length === 0))
        problems.add(`${where}.pattern must be a non-empty string`);
      if (keys === undefined && a.pattern === undefined) problems.add(`${where} needs "keys" or "pattern"`);
      templates([...(Array.isArray(keys) ? keys : []), a.pattern], where, problems);
      need('cache');
      return;
    }
    default:
      if (known && !known.has(a.type as string))
        problems.add(
          `${where}: unknown action type "${a.type}" (built in: ${BUILTIN_ACTIONS.join(', ')}; others need registerAction)`,
        );
  }
}

/**
 * Validates observer definitions and compiles their conditions; every problem is listed in one
 * IN002. `known` = the action types that can run (built-ins plus registered ones); without it,
 * custom types are not checked (they may be registered before `start()`).
 */
export function compileObservers(
  defs: unknown,
  opts: { known?: ReadonlySet<string>; providers?: AvailableProviders } = {},
): CompiledObserver[] {
  const problems = new Problems('observers');
  if (!Array.isArray(defs)) {
    problems.add('observers must be an array');
    problems.throwIfAny('invalid observers');
  }
  const seen = new Set<string>();
  const out: CompiledObserver[] = [];
  (defs as unknown[]).forEach((raw, i) => {
    if (!isPlainObject(raw)) {
      problems.add(`observers[${i}] must be an object`);
      return;
    }
    const def = raw as unknown as ObserverDefinition;
    const where = `observer "${typeof def.name === 'string' ? def.name : i}"`;
    if (typeof def.name !== 'string' || !NAME.test(def.name))
      problems.add(`observers[${i}].name must match ${NAME}`);
    else if (seen.has(def.name)) problems.add(`${where}: duplicate name`);
    else seen.add(def.name);
    if (typeof def.entity !== 'string' || def.entity.length === 0 || def.entity.length > 255)
      problems.add(`${where}.entity must be a non-empty string (or "*")`);
    const events = new Set<ChangeKind>();
    if (def.events !== undefined) {
      if (!Array.isArray(def.events) || def.events.length === 0)
        problems.add(`${where}.events must be a non-empty array`);
      else
        for (const e of def.events) {
          const k = parseKind(e);
          if (k) events.add(k);
          else problems.add(`${where}.events: unknown kind ${JSON.stringify(e)} (INSERT, UPDATE, DELETE)`);
        }
    } else for (const k of ['INSERT', 'UPDATE', 'DELETE'] as const) events.add(k);
    const filter = compileCondition(def.condition, where, problems);
    if (!Array.isArray(def.actions) || def.actions.length === 0)
      problems.add(`${where}.actions must be a non-empty array`);
    else
      def.actions.forEach((a, j) => {
        checkAction(a, `${where}.actions[${j}]`, problems, opts.known, opts.providers);
      });
    const r = (def.retry ?? {}) as RetryPolicy;
    if (def.retry !== undefined && !isPlainObject(def.retry))
      problems.add(`${where}.retry must be an object`);
    problems.positive(r.maxAttempts, `${where}.retry.maxAttempts`, true);
    problems.positive(r.initialDelayMs, `${where}.retry.initialDelayMs`);
    problems.positive(r.maxDelayMs, `${where}.retry.maxDelayMs`);
    if (r.multiplier !== undefined && (typeof r.multiplier !== 'number' || !(r.multiplier >= 1)))
      problems.add(`${where}.retry.multiplier must be a number ≥ 1`);
    out.push({
      name: def.name,
      entity: def.entity,
      events,
      filter,
      actions: Array.isArray(def.actions) ? def.actions : [],
      retry: {
        maxAttempts: r.maxAttempts ?? 3,
        initialDelayMs: r.initialDelayMs ?? 1000,
        maxDelayMs: r.maxDelayMs ?? 60_000,
        multiplier: r.multiplier ?? 2,
      },
    });
  });
  problems.throwIfAny('invalid observers');
  return out;
}

/** Whether `observer` wants `event`. Never throws: a missing field or non-object data does not match. */
export function observerMatches(observer: CompiledObserver, event: EntityEvent): boolean {
  if (observer.entity !== '*' && observer.entity !== event.entity) return false;
  if (!observer.events.has(event.kind)) return false;
  if (observer.filter.length === 0) return true;
  const data = isPlainObject(event.data) ? (event.data as Record<string, unknown>) : {};
  try {
    return matchesFilter(observer.filter, data);
  } catch {
    return false;
  }
}
