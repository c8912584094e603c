import { createHmac } from 'node:crypto';
import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { permanent, safeUrl } from '../errors';
import { renderTemplate } from '../templates';
import type { ActionContext, EntityEvent, WebhookAction } from '../types';

/** The event as JSON data (webhook body, job data, audit record). */
export function eventJson(event: EntityEvent) {
  return {
    id: event.id,
    source: event.source,
    entity: event.entity,
    entity_id: event.entityId,
    kind: event.kind,
    data: event.data,
    created_at: event.createdAt.toISOString(),
  };
}

/** The JSON body every webhook receives (DESIGN §8.2). */
export function webhookBody(event: EntityEvent, observer: string): string {
  return JSON.stringify({ event: eventJson(event), observer });
}

/** `sha256=<hex>` of the raw body; receivers recompute it with the shared secret. */
export function signWebhook(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The host a webhook's breaker is keyed by. */
export function webhookTarget(action: WebhookAction, event: EntityEvent): string {
  try {
    return `webhook:${new URL(renderTemplate(action.url, event, 'url')).host}`;
  } catch {
    return 'webhook:invalid';
  }
}

/**
 * Sends the event. 2xx succeeds; 4xx is permanent (DLQ without retries) except 408 and 429;
 * 5xx, timeouts and connection errors throw a retryable error. The URL in messages has no
 * credentials or query string.
 */
export async function runWebhook(
  event: EntityEvent,
  action: WebhookAction,
  ctx: ActionContext,
  fetchImpl: typeof fetch,
  defaultTimeoutMs: number,
): Promise<{ status: number }> {
  const url = renderTemplate(action.url, event, 'url');
  const body = webhookBody(event, ctx.observer);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(action.headers ?? {}))
    headers[name.toLowerCase()] = renderTemplate(value, event);
  headers['content-type'] = 'application/json';
  headers['x-fraiseql-event-id'] = event.id;
  if (action.secret) headers['x-fraiseql-signature'] = signWebhook(body, action.secret);
  const timeoutMs = action.timeoutMs ?? defaultTimeoutMs;
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
  const where = `${action.method ?? 'POST'} ${safeUrl(url)}`;
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: action.method ?? 'POST',
      headers,
      body,
      signal,
      redirect: 'manual',
    });
  } catch (err) {
    const timedOut = signal.aborted;
    throw new IntegrationError(
      timedOut ? ErrorCode.ConnectionTimeout : ErrorCode.ProviderUnavailable,
      timedOut
        ? `[observers] webhook ${where} timed out`
        : `[observers] webhook ${where} failed: ${(err as Error)?.cause ? String((err as Error & { cause: unknown }).cause) : String(err)}`,
      { provider: 'webhook' },
    );
  }
  // Drain so the connection returns to the pool; the body is not part of the outcome.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return { status: res.status };
  const error = new IntegrationError(
    ErrorCode.ProviderUnavailable,
    `[observers] webhook ${where} answered ${res.status}`,
    {
      provider: 'webhook',
    },
  );
  if (res.status >= 300 && res.status < 500 && res.status !== 408 && res.status !== 429)
    throw permanent(error);
  throw error;
}
