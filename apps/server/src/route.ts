import type {
  CacheProvider,
  ErrorCode,
  IntegrationService,
  QueueProvider,
  SearchProvider,
} from '@fraiseql/core';
import type { Connector, FlowManager } from '@fraiseql/flows';
import type { ObserverRuntime } from '@fraiseql/observers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ScheduleAdmin } from './routes/schedules';
import type { ParamSpec, QuerySpec } from './validation';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** What the route handlers work with. */
export interface RouteContext {
  service: IntegrationService;
  /** The configured provider, or IN004. */
  search(): SearchProvider;
  cache(): CacheProvider;
  queue(): QueueProvider;
  /** The observer runtime, when `[observers]` runs in this process. */
  observers?(): ObserverRuntime | undefined;
  /** The flow engine and its connectors, when flows run in this process. */
  flows?(): FlowManager | undefined;
  connectors?(): Connector[];
  /** The scheduler (`@fraiseql/scheduler`), when schedules run in this process (DESIGN §14.1). */
  scheduler?(): ScheduleAdmin | undefined;
  /** Queue names with jobs in the backend (`[]` when the backend cannot list them). */
  queueNames?(): Promise<string[]>;
  /** Primary key of an index's documents: learnt from `PUT …/settings`, then `primaryKeys`, then `id`. */
  primaryKeyOf(index: string): string;
  setPrimaryKey(index: string, key: string): void;
  /** The route table, for /openapi.json. */
  openapi(): Record<string, unknown>;
  metricsText(): Promise<{ contentType: string; text: string }>;
}

export interface ResponseSpec {
  description: string;
  /** JSON schema of an `application/json` body, or a content type for other bodies. */
  schema?: Record<string, unknown>;
  contentType?: string;
}

export interface BodySpec {
  /** JSON schema (Ajv) of a JSON body; absent for raw bodies. */
  schema?: Record<string, unknown>;
  /** Content types for the OpenAPI document. */
  contentTypes: string[];
  description: string;
  /** Code of a body that is malformed or fails its schema; may depend on the field at fault. */
  code: ErrorCode | ((field: string | undefined) => ErrorCode);
  /** Code of a body over the size limit. Default: `code`. */
  tooLargeCode?: ErrorCode;
  /** `documents` routes take the larger limit. Default `default`. */
  limit?: 'default' | 'documents';
  /** A missing body is treated as this value (before schema validation). */
  whenMissing?: unknown;
}

export interface RouteSpec {
  method: Method;
  /** Fastify path (`/search/:index`). */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'system' | 'search' | 'cache' | 'queues' | 'observers' | 'flows';
  /** No token needed (only /health). Default false. */
  public?: boolean;
  params?: Record<string, ParamSpec>;
  query?: readonly QuerySpec[];
  /** Code of a query-string problem. */
  queryCode?: ErrorCode;
  body?: BodySpec;
  /** Code used for body-parsing problems on routes that take no body. */
  familyCode: ErrorCode;
  responses: Record<number, ResponseSpec>;
  handler(
    ctx: RouteContext,
    req: FastifyRequest,
    reply: FastifyReply,
    input: { params: Record<string, string>; query: Record<string, string | number | undefined> },
  ): Promise<unknown>;
}
