import type { CacheProvider, Filter, QueueProvider, SearchProvider } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { Registry } from 'prom-client';

export type ChangeKind = 'INSERT' | 'UPDATE' | 'DELETE';

/** One row of the change log, as observers see it. */
export interface EntityEvent {
  /** Change-log id, decimal. */
  id: string;
  /** `'default'`, or the database name in a bridge. */
  source: string;
  entity: string;
  entityId: string;
  kind: ChangeKind;
  data: unknown;
  createdAt: Date;
  /**
   * W3C trace context (`traceparent`, `tracestate`) the event carries to its actions. Optional:
   * set by whoever hands the event in (`@fraiseql/tracing`'s `withTraceContext`); the change log
   * does not record one.
   */
  traceContext?: { traceparent: string; tracestate?: string };
}

/**
 * Runs around each action attempt (`@fraiseql/tracing`'s `observerActionHook` opens a span there,
 * child of `event.traceContext`). Must call `run` once and return its result.
 */
export type AroundAction = <T>(
  info: { observer: string; action: string; event: EntityEvent },
  run: () => Promise<T>,
) => Promise<T>;

export type WebhookAction = {
  type: 'webhook';
  url: string;
  /** Default `'POST'`. */
  method?: 'POST' | 'PUT' | 'PATCH';
  headers?: Record<string, string>;
  /** Per-request limit; default: the runtime's `actionTimeoutMs`. */
  timeoutMs?: number;
  /** HMAC-SHA256 key: the body is signed in `x-fraiseql-signature`. Default: unsigned. */
  secret?: string;
};
export type EnqueueAction = { type: 'enqueue'; queue: string; priority?: number };
export type SearchIndexAction = { type: 'search.index'; index: string };
export type SearchDeleteAction = { type: 'search.delete'; index: string };
export type CacheInvalidateAction = { type: 'cache.invalidate'; keys?: string[]; pattern?: string };
export type AuditAction = { type: 'audit'; index?: string };
/** An action registered with `registerAction`. */
export type CustomAction = { type: string; [option: string]: unknown };

export type ActionDefinition =
  | WebhookAction
  | EnqueueAction
  | SearchIndexAction
  | SearchDeleteAction
  | CacheInvalidateAction
  | AuditAction
  | CustomAction;

export interface RetryPolicy {
  /** Runs of an action before it goes to the DLQ. Default 3. */
  maxAttempts?: number;
  /** Wait before the 2nd run. Default 1000. */
  initialDelayMs?: number;
  /** Longest wait. Default 60000. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  multiplier?: number;
}

export interface ObserverDefinition {
  /** Unique; `[A-Za-z0-9_.-]{1,128}`. */
  name: string;
  /** `object_type` of the change log, or `'*'`. */
  entity: string;
  /** Default: all three. */
  events?: ChangeKind[];
  /** Portable Filter on `event.data`, or the expression form `"total >= 1000 and status == 'new'"`. */
  condition?: Filter | string;
  actions: ActionDefinition[];
  retry?: RetryPolicy;
}

export interface ActionContext {
  /** Aborted when the action's time limit passes or the runtime stops. */
  signal: AbortSignal;
  observer: string;
}

export type ActionRunner = (
  event: EntityEvent,
  action: ActionDefinition,
  ctx: ActionContext,
) => Promise<unknown>;

export interface ExecutionSummary {
  eventId: string;
  /** Observers whose entity, kind and condition matched. */
  observers: string[];
  actionsRun: number;
  actionsFailed: number;
  duplicateSkipped: boolean;
  cacheHits: number;
  cacheMisses: number;
  durationMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ListenerInfo {
  listenerId: string;
  role: string;
  healthy: boolean;
  lastHeartbeatAt: Date;
  hostname: string;
  pid: number;
}

export interface ObserverStatus {
  listenerId: string;
  group: string;
  role: 'leader' | 'standby';
  leader: string | null;
  epoch: number;
  checkpoint: string | null;
  eventsBehind: number;
  listeners: ListenerInfo[];
  healthyListeners: number;
  breakers: Record<string, BreakerState>;
  dlqSize: number;
}

export interface DlqEntry {
  id: string;
  eventId: string;
  observer: string;
  /** Position of the action in its observer. */
  actionIndex: number;
  action: ActionDefinition;
  error: string;
  attempts: number;
  event: EntityEvent;
  createdAt: Date;
}

/** A failed action on its way into the DLQ. */
export interface DlqInput {
  event: EntityEvent;
  observer: string;
  index: number;
  action: ActionDefinition;
  error: string;
  attempts: number;
}

/** What `debug-event` shows: one action's outcome for one event. */
export interface ExecutionRecord {
  eventId: string;
  observer: string;
  actionIndex: number;
  actionType: string;
  status: 'succeeded' | 'failed' | 'dlq' | 'cached';
  attempts: number;
  durationMs: number;
  error: string | null;
  createdAt: Date;
}

export interface EventDebug {
  event: EntityEvent;
  matchedObservers: string[];
  executions: ExecutionRecord[];
}

/** pino-compatible; the runtime logs through it when given. */
export interface ObserverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Moves events from the listener to the workers; default in-process. NATS: `@fraiseql/observers-nats`. */
export interface EventTransport {
  readonly name: string;
  publish(events: EntityEvent[]): Promise<void>;
  subscribe(handler: (event: EntityEvent) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface DedupOptions {
  store: CacheProvider;
  /** How long a processed event's mark suppresses duplicates. Default 300000. */
  windowMs?: number;
  /** `'content'`: SHA-256 of the canonical event body; `'id'`: the change-log id. Default `'content'`. */
  key?: 'content' | 'id';
}

export interface ActionCacheOptions {
  store: CacheProvider;
  /** How long a success is remembered. Default 60000. */
  ttlMs?: number;
}

export interface BreakerOptions {
  /** Failure share that opens a breaker. Default 0.5. */
  failureRateThreshold?: number;
  /** Calls in the window before the rate counts. Default 20. */
  minimumRequests?: number;
  /** Sliding window. Default 60000. */
  windowMs?: number;
  /** Open → half-open after. Default 60000. */
  halfOpenAfterMs?: number;
}

export interface FailoverOptions {
  /** Leader heartbeat / standby check period. Default 5000. */
  healthCheckIntervalMs?: number;
  /** A leader heartbeat older than this is taken over. Default 60000. */
  failoverThresholdMs?: number;
}

export interface ObserverRuntimeOptions {
  /** Change log and the runtime's tables (in `schema`). */
  sql: SqlClient;
  observers: ObserverDefinition[];
  /** Default `${hostname}:${pid}`. */
  listenerId?: string;
  /** Listeners of a group share one checkpoint and one leader. Default `'default'`. */
  group?: string;
  /** Default `'tb_entity_change_log'`. */
  changeLog?: string;
  /** Default `'public'`. */
  schema?: string;
  /** Events read per batch. Default 100. */
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives. Default 1000. */
  pollIntervalMs?: number;
  /** Actions in flight per listener. Default 100. */
  maxParallelism?: number;
  /** Per action attempt; aborts its signal. Default 30000. */
  actionTimeoutMs?: number;
  /** Default off. */
  dedup?: false | DedupOptions;
  /** Default off. */
  actionCache?: false | ActionCacheOptions;
  breaker?: BreakerOptions;
  failover?: FailoverOptions;
  providers?: { cache?: CacheProvider; queue?: QueueProvider; search?: SearchProvider };
  /** Default in-process. */
  transport?: EventTransport;
  /** Default `'all'`. */
  role?: 'all' | 'listener' | 'worker';
  /** `event.source` of this database. Default `'default'`. */
  source?: string;
  /** Default: a registry of its own. */
  registry?: Registry;
  logger?: ObserverLogger;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Days `observer_executions` rows are kept. Default 7. */
  retentionDays?: number;
  /** A hook around each action attempt (tracing). Default: none. */
  aroundAction?: AroundAction;
}

export interface ObserverDlq {
  list(opts?: { limit?: number; offset?: number; observer?: string }): Promise<DlqEntry[]>;
  /** IN300 when absent. */
  get(id: string): Promise<DlqEntry>;
  /** Re-runs that action; the entry is removed on success. */
  retry(id: string): Promise<ExecutionSummary>;
  retryAll(opts?: { observer?: string; dryRun?: boolean }): Promise<{ count: number; ids: string[] }>;
  delete(id: string): Promise<boolean>;
}

export interface FailoverEvent {
  group: string;
  from: string | null;
  to: string;
  epoch: number;
}

export interface ObserverRuntime {
  /** Migrates, registers, becomes leader or stands by. */
  start(): Promise<void>;
  /** Finishes in-flight events, saves the checkpoint, hands leadership over. */
  stop(): Promise<void>;
  registerAction(type: string, run: ActionRunner): void;
  /** The whole stack (dedup, matching, cache, concurrency, retry, DLQ) on one event. */
  processEvent(event: EntityEvent): Promise<ExecutionSummary>;
  status(): Promise<ObserverStatus>;
  /** Per event: every action's recorded outcome (`observer_executions`). */
  executions(eventId: string): Promise<ExecutionRecord[]>;
  /** `debug-event`: the change-log row, the observers it matches now, and every recorded outcome; IN300 when absent. */
  debugEvent(eventId: string): Promise<EventDebug>;
  /** The latest change-log events, newest first (`debug-event --entity-type T --kind K --history N`). */
  recentEvents(opts?: { entity?: string; kind?: string; limit?: number }): Promise<EntityEvent[]>;
  readonly dlq: ObserverDlq;
  on(event: 'executed', cb: (s: ExecutionSummary) => void): void;
  on(event: 'failover', cb: (e: FailoverEvent) => void): void;
}
