import { ErrorCode, IntegrationError, withTimeout } from '@fraiseql/core';
import { encodeBody } from './codec.ts';
import { amqpError } from './errors.ts';
import type { AmqpLink } from './link.ts';
import { PROVIDER, type ResolvedAmqpOptions } from './options.ts';
import type { AmqpPublishOptions, AmqpStats } from './types.ts';

let seq = 0;

/**
 * One publish on the shared confirm channel, resolved once the broker confirmed it. A publish the
 * broker returned (no queue bound, with `mandatory`) or refused (missing exchange) is a permanent
 * IN404; a lost connection or channel is IN502 (transient: the flow retries after the reconnect).
 */
export async function publishConfirmed(
  link: AmqpLink,
  o: ResolvedAmqpOptions,
  stats: AmqpStats,
  exchange: string,
  routingKey: string,
  body: unknown,
  opts: AmqpPublishOptions,
): Promise<void> {
  const what = `publish to exchange "${exchange || '(default)'}" with routing key "${routingKey}"`;
  const { content, contentType } = encodeBody(body, o.tag);
  const confirmed = (async () => {
    const p = await link.confirmChannel(what);
    if (p.drain) await p.drain;
    const correlationId = `fq-${++seq}`;
    await new Promise<void>((resolve, reject) => {
      const done = (err: unknown) => {
        if (!err) {
          if (!p.returned.delete(correlationId)) return resolve();
          return reject(
            new IntegrationError(
              ErrorCode.RabbitMQError,
              `[${o.tag}] ${what} failed: no queue is bound for it (message returned as unroutable)`,
              { provider: PROVIDER },
            ),
          );
        }
        // The channel's own error (404 NOT_FOUND for a missing exchange) arrives with its close.
        setImmediate(() => reject(amqpError(p.error ?? err, o.tag, `${what} failed`, o.secrets)));
      };
      try {
        const ok = p.ch.publish(
          exchange,
          routingKey,
          content,
          {
            persistent: opts.persistent ?? true,
            contentType,
            correlationId,
            mandatory: o.mandatory,
            ...(opts.headers ? { headers: opts.headers } : {}),
            ...(opts.messageId ? { messageId: opts.messageId } : {}),
          },
          done,
        );
        if (!ok)
          p.drain ??= new Promise<void>((r) =>
            p.ch.once('drain', () => {
              p.drain = undefined;
              r();
            }),
          );
      } catch (err) {
        // amqplib throws synchronously on a channel that has just closed.
        reject(amqpError(err, o.tag, `${what} failed`, o.secrets));
      }
    });
  })();
  await withTimeout(
    confirmed,
    o.operationTimeoutMs,
    () =>
      new IntegrationError(
        ErrorCode.ConnectionTimeout,
        `[${o.tag}] ${what}: no confirm within ${o.operationTimeoutMs} ms`,
        { provider: PROVIDER },
      ),
  );
  stats.published++;
}

/** `publish(target, body, { exchange?, routingKey? })`: which exchange and routing key it means. */
export function publishTarget(
  target: string,
  opts: AmqpPublishOptions,
): { exchange: string; routingKey: string } {
  if (opts.exchange !== undefined) return { exchange: opts.exchange, routingKey: opts.routingKey ?? target };
  return { exchange: target, routingKey: opts.routingKey ?? '' };
}
