import { hostname } from 'node:os';
import { ErrorCode, numberOption, positiveIntOption, positiveOption, stringOption } from '@fraiseql/core';
import { assertIdentifier } from '@fraiseql/postgres';
import { DEFAULT_CHANGE_LOG } from './change-log';
import { observersError } from './errors';
import type { ObserverRuntimeOptions } from './types';

const P = 'observers';
const GROUP = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The runtime's options with their defaults, every one checked (IN002 naming the option). */
export function resolveRuntimeOptions(o: ObserverRuntimeOptions) {
  const listenerId = stringOption(o.listenerId, 'listenerId', `${hostname()}:${process.pid}`, P);
  const group = stringOption(o.group, 'group', 'default', P, GROUP);
  const changeLog = stringOption(o.changeLog, 'changeLog', DEFAULT_CHANGE_LOG, P);
  const schema = stringOption(o.schema, 'schema', 'public', P);
  assertIdentifier(schema, 'schema');
  const batchSize = positiveIntOption(o.batchSize, 'batchSize', 100, P);
  const pollIntervalMs = positiveOption(o.pollIntervalMs, 'pollIntervalMs', 1000, P, 'milliseconds');
  const healthCheckIntervalMs = positiveOption(
    o.failover?.healthCheckIntervalMs,
    'failover.healthCheckIntervalMs',
    5000,
    P,
    'milliseconds',
  );
  const failoverThresholdMs = positiveOption(
    o.failover?.failoverThresholdMs,
    'failover.failoverThresholdMs',
    60_000,
    P,
    'milliseconds',
  );
  const retentionDays = positiveOption(o.retentionDays, 'retentionDays', 7, P);
  const maxParallelism = positiveIntOption(o.maxParallelism, 'maxParallelism', 100, P);
  const actionTimeoutMs = positiveOption(o.actionTimeoutMs, 'actionTimeoutMs', 30_000, P, 'milliseconds');
  const role = o.role ?? 'all';
  if (!['all', 'listener', 'worker'].includes(role))
    throw observersError(
      ErrorCode.InvalidConfiguration,
      `role must be all, listener or worker, got ${String(role)}`,
      'role',
    );
  if (role !== 'all' && !o.transport)
    throw observersError(
      ErrorCode.InvalidConfiguration,
      `role "${role}" needs a transport (listeners publish to workers)`,
      'role',
    );
  const b = o.breaker ?? {};
  numberOption(b.failureRateThreshold, 'breaker.failureRateThreshold', undefined, {
    provider: P,
    min: 0.01,
    max: 1,
  });
  positiveIntOption(b.minimumRequests, 'breaker.minimumRequests', undefined, P);
  positiveOption(b.windowMs, 'breaker.windowMs', undefined, P);
  positiveOption(b.halfOpenAfterMs, 'breaker.halfOpenAfterMs', undefined, P);
  for (const [name, opt] of [
    ['dedup', o.dedup],
    ['actionCache', o.actionCache],
  ] as const) {
    if (opt && typeof opt.store?.exists !== 'function')
      throw observersError(ErrorCode.InvalidConfiguration, `${name}.store must be a CacheProvider`, name);
  }
  if (o.dedup) positiveOption(o.dedup.windowMs, 'dedup.windowMs', undefined, P);
  if (o.dedup && o.dedup.key !== undefined && o.dedup.key !== 'content' && o.dedup.key !== 'id')
    throw observersError(
      ErrorCode.InvalidConfiguration,
      `dedup.key must be "content" or "id", got ${String(o.dedup.key)}`,
      'dedup.key',
    );
  if (o.actionCache) positiveOption(o.actionCache.ttlMs, 'actionCache.ttlMs', undefined, P);

  return {
    listenerId,
    group,
    changeLog,
    schema,
    batchSize,
    pollIntervalMs,
    healthCheckIntervalMs,
    failoverThresholdMs,
    retentionDays,
    maxParallelism,
    actionTimeoutMs,
    role: role as 'all' | 'listener' | 'worker',
    source: stringOption(o.source, 'source', 'default', P),
  };
}
