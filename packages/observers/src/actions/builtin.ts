import type { BulkResult, CacheProvider, Document, QueueProvider, SearchProvider } from '@fraiseql/core';
import { ErrorCode } from '@fraiseql/core';
import { observersError, permanent } from '../errors';
import { renderTemplate } from '../templates';
import type {
  ActionDefinition,
  ActionRunner,
  AuditAction,
  CacheInvalidateAction,
  EnqueueAction,
  SearchDeleteAction,
  SearchIndexAction,
  WebhookAction,
} from '../types';
import { eventJson, runWebhook } from './webhook';

function need<T>(provider: T | undefined, kind: string): T {
  if (!provider)
    throw permanent(
      observersError(ErrorCode.ProviderNotConfigured, `no ${kind} provider is configured for this action`),
    );
  return provider;
}

export interface BuiltinDeps {
  providers: { cache?: CacheProvider; queue?: QueueProvider; search?: SearchProvider };
  fetch: typeof fetch;
  actionTimeoutMs: number;
}

/** Audit records carry the outcome, so `audit` runs after its siblings; the executor supplies it. */
export interface AuditOutcome {
  observer: string;
  results: { action: ActionDefinition; status: 'succeeded' | 'failed'; error?: string }[];
}

/**
 * A search provider that files audit records itself (Elasticsearch: daily `<index>-YYYY.MM.DD`
 * indices behind the alias `<index>`). `createIntegrations` wraps providers; the wrapper keeps the
 * provider as `inner`.
 */
interface AuditSink {
  writeAudit(index: string, docs: Document[]): Promise<BulkResult>;
}

function auditSinkOf(search: SearchProvider): AuditSink | undefined {
  for (const p of [search, (search as { inner?: unknown }).inner]) {
    if (p && typeof (p as Partial<AuditSink>).writeAudit === 'function') return p as AuditSink;
  }
  return undefined;
}

export function builtinActions(deps: BuiltinDeps): Record<string, ActionRunner> {
  return {
    webhook: (event, action, ctx) =>
      runWebhook(event, action as WebhookAction, ctx, deps.fetch, deps.actionTimeoutMs),
    enqueue: async (event, action) => {
      const a = action as EnqueueAction;
      const jobId = await need(deps.providers.queue, 'queue').enqueue(
        a.queue,
        eventJson(event),
        a.priority === undefined ? {} : { priority: a.priority },
      );
      return { jobId };
    },
    'search.index': async (event, action) => {
      const a = action as SearchIndexAction;
      const data =
        event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data)
          ? (event.data as Record<string, unknown>)
          : { value: event.data };
      await need(deps.providers.search, 'search').indexDocument({
        index: a.index,
        id: event.entityId,
        data: { ...data, id: event.entityId },
      });
      return { indexed: event.entityId };
    },
    'search.delete': async (event, action) => {
      await need(deps.providers.search, 'search').deleteDocument(
        (action as SearchDeleteAction).index,
        event.entityId,
      );
      return { deleted: event.entityId };
    },
    'cache.invalidate': async (event, action) => {
      const a = action as CacheInvalidateAction;
      const cache = need(deps.providers.cache, 'cache');
      let removed = 0;
      for (const key of a.keys ?? []) if (await cache.delete(renderTemplate(key, event))) removed++;
      if (a.pattern) removed += await cache.deletePattern(renderTemplate(a.pattern, event));
      return { removed };
    },
    audit: async (event, action, ctx) => {
      const a = action as AuditAction;
      const outcome = (ctx as { audit?: AuditOutcome }).audit;
      const search = need(deps.providers.search, 'search');
      const index = a.index ?? 'fraiseql_events';
      const results = outcome?.results.length ? outcome.results : [{ action, status: 'succeeded' as const }];
      const docs = results.map((r, i) => ({
        index,
        id: `${event.id}:${ctx.observer}:${i}`,
        data: {
          event_id: event.id,
          entity_type: event.entity,
          entity_id: event.entityId,
          event_kind: event.kind,
          timestamp: event.createdAt.toISOString(),
          observer_id: ctx.observer,
          action_type: r.action.type,
          status: r.status,
          ...(r.error ? { error: r.error } : {}),
          data: event.data,
        },
      }));
      const sink = auditSinkOf(search);
      const bulk = sink ? await sink.writeAudit(index, docs) : await search.indexDocuments(docs);
      if (bulk.failed.length > 0)
        throw observersError(
          ErrorCode.IndexingFailed,
          `audit into "${index}" failed: ${bulk.failed[0]?.reason}`,
        );
      return { recorded: docs.length };
    },
  };
}
