import type { CacheProvider, Filter, QueueProvider } from '@fraiseql/core';
import type { Registry } from 'prom-client';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Change kinds of observer events (§8). */
export type Kind = 'INSERT' | 'UPDATE' | 'DELETE';

export type FlowSource =
  | { type: 'queue'; queue: string; concurrency?: number }
  | { type: 'observer'; entity?: string; events?: Kind[] }
  | { type: 'http' }
  | { type: 'connector'; connector: string; topic?: string; queue?: string };

export type Destination =
  | { queue: string }
  | {
      connector: string;
      path?: string;
      topic?: string;
      routingKey?: string;
      exchange?: string;
      table?: string;
      method?: string;
    };

export type ExponentialBackoff = {
  type: 'exponential';
  initialMs: number;
  maxMs: number;
  multiplier: number;
};
export type LinearBackoff = { type: 'linear'; initialMs: number; stepMs: number };

export interface RetryPolicy {
  /** Runs of a failing step before the message goes to the DLQ. Default 3. */
  maxAttempts?: number;
  backoff?: ExponentialBackoff | LinearBackoff;
}

export type TransformStep = { type: 'transform'; name: string; mapping: Json };
export type ValidateStep = { type: 'validate'; name: string; schema: object };
export type EnrichStep = {
  type: 'enrich';
  name: string;
  connector: string;
  request: { method?: string; path: string };
  into: string;
  cacheTtlMs?: number;
};
export type RouteStep = {
  type: 'route';
  name: string;
  routes: { when?: Filter | string; to: Destination }[];
};
export type DeliverStep = { type: 'deliver'; name: string; to: Destination };
export type FormatStep = {
  type: 'decode' | 'encode';
  name: string;
  format: 'json' | 'xml' | 'avro';
  schema?: object;
};
/** A step contributed by a plugin. */
export type PluginStep = { type: string; name: string; [option: string]: unknown };

export type Step =
  | TransformStep
  | ValidateStep
  | EnrichStep
  | RouteStep
  | DeliverStep
  | FormatStep
  | PluginStep;

export interface FlowDefinition {
  name: string;
  description?: string;
  source: FlowSource;
  steps: Step[];
  errorHandling?: { retry?: RetryPolicy; dlq?: string };
  monitoring?: { metrics?: boolean; logging?: { level?: string; includePayload?: boolean } };
}

/** A message as it travels through a flow. */
export interface FlowMessage {
  id: string;
  body: unknown;
  headers: Record<string, string>;
  /** Delivery attempt at the source (1 on the first delivery). */
  attempt: number;
  source: FlowSource['type'];
}

export type FlowState = 'created' | 'running' | 'stopped' | 'failed';

export interface FlowStatus {
  name: string;
  state: FlowState;
  processed: number;
  failed: number;
  dlq: number;
  inFlight: number;
  lastError?: string;
  startedAt?: Date;
}

/** What goes to the DLQ. */
export interface DeadLetter {
  flow: string;
  step: string;
  reason: string;
  message: FlowMessage;
  attempts: number;
  failedAt: string;
}

export interface FlowLogRecord {
  time: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  flow: string;
  event: string;
  messageId?: string;
  step?: string;
  detail?: string;
  payload?: unknown;
}

export interface ConnectorRequest {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ConnectorResponse {
  status: number;
  body: unknown;
}

/** An incoming message of a subscribing connector. */
export interface ConnectorMessage {
  body: unknown;
  headers?: Record<string, string>;
  id?: string;
}

/** The minimal connector contract the engine uses (DESIGN §10.3); kinds implement what they allow. */
export interface Connector {
  name: string;
  type: string;
  test(): Promise<{ ok: boolean; latencyMs: number; detail?: string }>;
  close(): Promise<void>;
  request?(req: ConnectorRequest): Promise<ConnectorResponse>;
  publish?(target: string, body: unknown, opts?: Record<string, unknown>): Promise<void>;
  insert?(table: string, row: unknown): Promise<void>;
  /** The message is acknowledged when `handler` resolves. Returns the unsubscribe function. */
  subscribe?(
    topicOrQueue: string,
    handler: (msg: ConnectorMessage) => Promise<void>,
  ): Promise<(() => Promise<void>) | { close(): Promise<void> }>;
  /** A connector-specific delivery; preferred over publish/insert/request when present. */
  deliver?(message: FlowMessage, destination: Destination): Promise<void>;
}

export interface FlowLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a plugin step receives besides the message and its own definition. */
export interface StepContext {
  flow: string;
  connector(name: string): Connector | undefined;
  providers: { queue?: QueueProvider; cache?: CacheProvider };
  logger: FlowLogger;
}

export type StepImplementation = (
  message: FlowMessage,
  step: PluginStep,
  ctx: StepContext,
) => Promise<FlowMessage>;

export interface PluginHookContext {
  plugin: string;
  logger: FlowLogger;
}

export interface PluginDependency {
  name: string;
  /** A semver range the dependency's version must satisfy. */
  version: string;
}

export interface Plugin {
  name: string;
  version: string;
  manifest: { description?: string; author?: string; license?: string; dependencies?: PluginDependency[] };
  connectors?: Connector[];
  steps?: Record<string, StepImplementation>;
  actions?: Record<string, (...args: never[]) => Promise<unknown>>;
  hooks?: {
    preStartup?(ctx: PluginHookContext): Promise<void> | void;
    postShutdown?(ctx: PluginHookContext): Promise<void> | void;
  };
}

export interface PluginInfo {
  name: string;
  version: string;
  state: 'active' | 'failed';
  error?: string;
}

export interface PluginManager {
  registerPlugin(plugin: Plugin): Promise<PluginInfo>;
  unregisterPlugin(name: string): Promise<boolean>;
  getPlugin(name: string): (PluginInfo & { plugin: Plugin }) | undefined;
  listPlugins(): PluginInfo[];
  /** Step implementations of the active plugins. */
  steps(): Map<string, StepImplementation>;
  // steps(), connectors() and actions() hand back the same objects until a plugin changes: read only.
  /** Connectors of the active plugins. */
  connectors(): Connector[];
  actions(): Map<string, (...args: never[]) => Promise<unknown>>;
  /** Runs every postShutdown hook and forgets the plugins. */
  close(): Promise<void>;
}

export interface FlowEngineOptions {
  connectors?: Connector[];
  plugins?: PluginManager | Plugin[];
  providers?: { queue?: QueueProvider; cache?: CacheProvider };
  /** Observer runtime to register the `flow` action on (its `registerAction`), optional. */
  observers?: {
    registerAction(type: string, run: (event: never, action: never, ctx: never) => Promise<unknown>): void;
  };
  registry?: Registry;
  logger?: FlowLogger;
  /** Log records kept per flow. Default 1000. */
  logLimit?: number;
  /** Waits between retries; injectable for tests. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Entries of the in-memory enrich cache (used without `providers.cache`). Default 1000. */
  enrichCacheSize?: number;
  /** Deepest message body accepted by `post`. Default 512. */
  maxDepth?: number;
  /**
   * Runs around each step attempt (`@fraiseql/tracing`'s `flowStepHook` opens a span there and
   * carries its `traceparent` in the message headers to the next step). Must call `run` once with
   * the message (possibly with extra headers) and return what it returns. Default: none.
   */
  aroundStep?: (
    info: { flow: string; step: string; type: string },
    msg: FlowMessage,
    run: (msg: FlowMessage) => Promise<FlowMessage>,
  ) => Promise<FlowMessage>;
}

export interface FlowManager {
  readonly plugins: PluginManager;
  createFlow(def: FlowDefinition): Promise<FlowStatus>;
  startFlow(name: string): Promise<FlowStatus>;
  stopFlow(name: string): Promise<FlowStatus>;
  getFlowStatus(name: string): FlowStatus;
  listFlows(): FlowStatus[];
  deleteFlow(name: string): Promise<boolean>;
  logs(name: string, opts?: { limit?: number }): FlowLogRecord[];
  /** Messages sent to the DLQ of a flow when there is no queue provider (in-memory DLQ). */
  deadLetters(name: string): DeadLetter[];
  /**
   * The http source (`POST /flows/:name/messages`): returns the message id. With a queue provider
   * the message is enqueued on `<flow>.http` (durable) and processed by the running flow; without
   * one it runs inline and `post` resolves once it was delivered or dead-lettered.
   */
  post(name: string, body: unknown, headers?: Record<string, string>): Promise<string>;
  /**
   * An observer action `(event) => Promise<void>` feeding events into the `observer`-sourced flow
   * `name` (filtered by its `entity`/`events`); same path as `post`.
   */
  observerAction(name: string): (event: unknown) => Promise<void>;
  close(): Promise<void>;
}
