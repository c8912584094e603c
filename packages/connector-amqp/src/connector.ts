import { describeError, isPlainObject } from '@fraiseql/core';
import { badArgument } from './errors.ts';
import { AmqpLink } from './link.ts';
import { resolveOptions } from './options.ts';
import { ConfirmDeadlines, type PublishContext, publishConfirmed, publishTarget } from './publishing.ts';
import { Subscription } from './subscription.ts';
import type { AmqpConnector, AmqpConnectorOptions, AmqpPublishOptions, AmqpStats } from './types.ts';

const emptyStats = (): Omit<AmqpStats, 'connected' | 'reconnects'> => ({
  inFlight: 0,
  maxInFlight: 0,
  acked: 0,
  requeued: 0,
  rejected: 0,
  published: 0,
});

/**
 * An AMQP 0-9-1 (RabbitMQ) connector for flows: connects, declares the exchanges, queues and
 * bindings (idempotently), and keeps them — and every subscription — alive across connection
 * losses. Resolves once connected and declared; a bad URL, refused login or conflicting
 * declaration rejects with an IntegrationError.
 */
export async function createAmqpConnector(options: AmqpConnectorOptions): Promise<AmqpConnector> {
  const o = resolveOptions(options);
  const link = new AmqpLink(o);
  await link.open();
  const counters = emptyStats();
  const stats = (): AmqpStats => ({ connected: link.connected, reconnects: link.reconnects, ...counters });
  const deadlines = new ConfirmDeadlines(o.operationTimeoutMs);
  const pub: PublishContext = { link, o, stats: counters as AmqpStats, deadlines };
  const subs = new Set<Subscription>();
  let closed = false;

  const name = (value: unknown, field: string): string => {
    if (typeof value !== 'string') throw badArgument(o.tag, `${field} must be a string`, field);
    return value;
  };

  async function publish(target: string, body: unknown, opts: AmqpPublishOptions = {}): Promise<void> {
    name(target, 'target');
    if (!isPlainObject(opts)) throw badArgument(o.tag, 'publish options must be an object', 'opts');
    const { exchange, routingKey } = publishTarget(target, opts);
    await publishConfirmed(pub, name(exchange, 'exchange'), name(routingKey, 'routingKey'), body, opts);
  }

  return {
    name: o.name,
    type: 'amqp',
    publish,
    async subscribe(queue, handler) {
      if (typeof queue !== 'string' || queue.length === 0)
        throw badArgument(o.tag, 'subscribe: queue must be a non-empty string', 'queue');
      if (typeof handler !== 'function')
        throw badArgument(o.tag, 'subscribe: handler must be a function', 'handler');
      const sub = new Subscription(link, o, counters as AmqpStats, queue, handler);
      await sub.start();
      subs.add(sub);
      return async () => {
        subs.delete(sub);
        await sub.stop();
      };
    },
    async deliver(message, destination) {
      if (!isPlainObject(destination))
        throw badArgument(o.tag, 'deliver: destination must be an object', 'to');
      const exchange = destination.exchange ?? '';
      const routingKey = destination.routingKey ?? destination.topic ?? '';
      const headers = forwardedHeaders(message.headers);
      await publishConfirmed(pub, name(exchange, 'exchange'), name(routingKey, 'routingKey'), message.body, {
        ...(message.id ? { messageId: message.id } : {}),
        ...(headers ? { headers } : {}),
      });
    },
    async test() {
      const t0 = performance.now();
      const latencyMs = () => Math.round((performance.now() - t0) * 100) / 100;
      if (closed) return { ok: false, latencyMs: 0, detail: 'connector is closed' };
      if (!link.connected)
        return {
          ok: false,
          latencyMs: 0,
          detail: `not connected (reconnecting)${link.lastError ? `: ${describeError(link.lastError, o.secrets)}` : ''}`,
        };
      try {
        // A channel round trip proves the broker answers, not just that a socket is open.
        const m = await link.connection('test');
        const ch = await m.createChannel();
        ch.on('error', () => {});
        await ch.close();
        return { ok: true, latencyMs: latencyMs(), detail: `connected, ${subs.size} subscription(s)` };
      } catch (err) {
        return { ok: false, latencyMs: latencyMs(), detail: describeError(err, o.secrets) };
      }
    },
    stats,
    resetStats() {
      Object.assign(counters, emptyStats(), { inFlight: counters.inFlight });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of [...subs]) await s.stop();
      subs.clear();
      deadlines.close();
      await link.close();
    },
  };
}

/**
 * The flow message's headers sent along as AMQP headers, without the transport headers of its
 * source (`amqp-routing-key`, `mqtt-topic`, …): they describe where it came from, not where it goes.
 */
function forwardedHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  let out: Record<string, string> | undefined;
  for (const k in headers) {
    if (k.startsWith('amqp-') || k.startsWith('mqtt-')) continue;
    out ??= {};
    out[k] = headers[k] as string;
  }
  return out;
}
