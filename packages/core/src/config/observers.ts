import * as z from 'zod';
import { normalizeFilter } from '../filter';
import { parseFilterExpression } from '../filter-expression';
import {
  bool,
  camelizeDeep,
  envName,
  nonEmpty,
  oneOf,
  positiveInt,
  positiveNumber,
  sqlIdent,
  table,
  tableName,
} from './leaves';
import type { IntegrationsConfig } from './types';

const OBSERVER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const KINDS = ['INSERT', 'UPDATE', 'DELETE', 'created', 'updated', 'deleted'] as const;
/** Literal secrets in an action: refused, they must come through `<key>_env`. */
const SECRET_ACTION_KEYS = ['secret', 'password', 'token', 'api_key'];

const condition = z.unknown().superRefine((v, ctx) => {
  try {
    if (typeof v === 'string') parseFilterExpression(v);
    else if (v !== null && typeof v === 'object') normalizeFilter(camelizeDeep(v));
    else throw new Error(`expected an expression string or a filter table (got ${typeof v})`);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** One action: `type` plus the action's own keys (camelCased); `*_env` keys are resolved when the runtime is built. */
const action = z
  .record(z.string(), z.unknown())
  .superRefine((a, ctx) => {
    if (typeof a.type !== 'string' || a.type.length === 0)
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'required: a non-empty string' });
    for (const key of Object.keys(a)) {
      if (SECRET_ACTION_KEYS.includes(key))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `secrets are never stored in the config file; set ${key}_env = "SOME_VARIABLE" instead`,
        });
      if (
        key.endsWith('_env') &&
        (typeof a[key] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(a[key] as string))
      )
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'expected an environment variable name (letters, digits and _)',
        });
    }
  })
  .transform((a) => camelizeDeep(a) as Record<string, unknown>);

const observer = table({
  name: z.custom<string>((v) => typeof v === 'string' && OBSERVER_NAME.test(v), {
    error: 'expected an observer name: 1-128 characters of letters, digits, "_", "." and "-"',
  }),
  entity: nonEmpty,
  events: z.array(oneOf(KINDS)).min(1).optional(),
  condition: condition.optional(),
  actions: z.array(action).min(1),
  retry: table({
    max_attempts: positiveInt.optional(),
    initial_delay_ms: positiveInt.optional(),
    max_delay_ms: positiveInt.optional(),
    multiplier: positiveNumber.optional(),
  }).optional(),
});

/** `[observers]` (DESIGN §8.5). Durations in TOML seconds (`window_seconds`, `ttl_seconds`) become milliseconds. */
export const observersSection = table({
  group: nonEmpty.optional(),
  listener_id: nonEmpty.optional(),
  change_log: tableName.optional(),
  schema: sqlIdent.optional(),
  batch_size: positiveInt.optional(),
  poll_interval_ms: positiveInt.optional(),
  max_parallelism: positiveInt.optional(),
  action_timeout_ms: positiveInt.optional(),
  retention_days: positiveInt.optional(),
  source: nonEmpty.optional(),
  failover: table({
    health_check_interval_ms: positiveInt.optional(),
    failover_threshold_ms: positiveInt.optional(),
  }).optional(),
  breaker: table({
    failure_rate_threshold: positiveNumber.optional(),
    minimum_requests: positiveInt.optional(),
    window_ms: positiveInt.optional(),
    half_open_after_ms: positiveInt.optional(),
  }).optional(),
  dedup: table(
    {
      enabled: bool.optional(),
      window_seconds: positiveInt.optional(),
      key: oneOf(['content', 'id'] as const).optional(),
    },
    ({ windowSeconds, ...rest }) =>
      windowSeconds === undefined ? rest : { ...rest, windowMs: (windowSeconds as number) * 1000 },
  ).optional(),
  action_cache: table(
    { enabled: bool.optional(), ttl_seconds: positiveInt.optional() },
    ({ ttlSeconds, ...rest }) =>
      ttlSeconds === undefined ? rest : { ...rest, ttlMs: (ttlSeconds as number) * 1000 },
  ).optional(),
  transport: oneOf(['postgres', 'nats'] as const).optional(),
  role: oneOf(['all', 'listener', 'worker'] as const).optional(),
  /** `[observers.nats]`: read by `@fraiseql/observers-nats` (§8.6); kept as a table here. */
  nats: table({
    servers_env: envName.optional(),
    servers: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional(),
    stream: nonEmpty.optional(),
    subject_prefix: nonEmpty.optional(),
    durable: nonEmpty.optional(),
    ack_wait_ms: positiveInt.optional(),
    max_deliver: positiveInt.optional(),
    max_in_flight: positiveInt.optional(),
  }).optional(),
  observer: z.array(observer).optional(),
});

/** The cross-checks of §8.5 on a validated config: what `[observers]` needs from the other sections. */
export function observerCrossChecks(config: IntegrationsConfig): { path: string; message: string }[] {
  const obs = config.observers;
  if (!obs) return [];
  const issues: { path: string; message: string }[] = [];
  const on = (o: { enabled?: boolean } | undefined) => (o ? (o.enabled ?? true) : false);
  if (on(obs.dedup) && !config.cache)
    issues.push({
      path: 'observers.dedup',
      message: 'dedup is stored in the [cache] backend, and there is no [cache] section',
    });
  if (on(obs.actionCache) && !config.cache)
    issues.push({
      path: 'observers.action_cache',
      message: 'the action cache is stored in the [cache] backend, and there is no [cache] section',
    });
  if (obs.transport === 'nats' && !obs.nats)
    issues.push({
      path: 'observers.transport',
      message: 'transport = "nats" needs an [observers.nats] section',
    });
  (obs.observer ?? []).forEach((o, i) => {
    o.actions.forEach((a, j) => {
      const path = `observers.observer[${i}].actions[${j}]`;
      const type = a.type;
      if (type === 'enqueue' && !config.queues)
        issues.push({ path, message: 'an enqueue action needs a [queues] section' });
      if ((type === 'search.index' || type === 'search.delete' || type === 'audit') && !config.search)
        issues.push({ path, message: `a ${String(type)} action needs a [search] section` });
      if (type === 'cache.invalidate' && !config.cache)
        issues.push({ path, message: 'a cache.invalidate action needs a [cache] section' });
    });
  });
  return issues;
}
