import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { encodeBody } from './codec.ts';
import { amqpError } from './errors.ts';
import type { AmqpLink, PubChannel } from './link.ts';
import { PROVIDER, type ResolvedAmqpOptions } from './options.ts';
import type { AmqpPublishOptions, AmqpStats } from './types.ts';

let seq = 0;

interface Pending {
  since: number;
  fail: (err: IntegrationError) => void;
}

/**
 * Publishes waiting for their confirm. A confirm comes, or the channel closes (heartbeats catch
 * a dead broker) and fails them; the sweeper is the last guard (a broker that blocks publishers
 * on a memory alarm answers neither): one timer for all publishes instead of one each.
 */
export class ConfirmDeadlines {
  private pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  add(p: Pending): void {
    this.pending.add(p);
    this.timer ??= setInterval(() => this.sweep(), Math.max(50, Math.min(1000, this.ms / 4)));
    this.timer.unref?.();
  }

  delete(p: Pending): void {
    // The sweeper stays (unref'd) while idle: one publish at a time would otherwise set and clear
    // an interval per message.
    this.pending.delete(p);
  }

  private sweep(): void {
    const limit = performance.now() - this.ms;
    for (const p of this.pending) if (p.since < limit) p.fail(undefined as never);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

export interface PublishContext {
  link: AmqpLink;
  o: ResolvedAmqpOptions;
  stats: AmqpStats;
  deadlines: ConfirmDeadlines;
}

/**
 * One publish on the shared confirm channel, resolved once the broker confirmed it. A publish the
 * broker returned (no queue bound, with `mandatory`) or refused (missing exchange) is a permanent
 * IN404; a lost connection or channel is IN502 (transient: the flow retries after the reconnect).
 */
export function publishConfirmed(
  ctx: PublishContext,
  exchange: string,
  routingKey: string,
  body: unknown,
  opts: AmqpPublishOptions,
): Promise<void> {
  const { content, contentType } = encodeBody(body, ctx.o.tag);
  const p = ctx.link.openPub;
  // The common case stays synchronous up to the write: no extra awaits per message.
  if (p && !p.drain) return send(ctx, p, exchange, routingKey, content, contentType, opts);
  return (async () => {
    const ch = await ctx.link.confirmChannel(describe(exchange, routingKey));
    if (ch.drain) await ch.drain;
    return send(ctx, ch, exchange, routingKey, content, contentType, opts);
  })();
}

function describe(exchange: string, routingKey: string): string {
  return `publish to exchange "${exchange || '(default)'}" with routing key "${routingKey}"`;
}

function send(
  ctx: PublishContext,
  p: PubChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  contentType: string,
  opts: AmqpPublishOptions,
): Promise<void> {
  const { o, stats, deadlines } = ctx;
  const correlationId = `fq-${++seq}`;
  return new Promise<void>((resolve, reject) => {
    const entry: Pending = {
      since: performance.now(),
      fail: () => {
        deadlines.delete(entry);
        reject(
          new IntegrationError(
            ErrorCode.ConnectionTimeout,
            `[${o.tag}] ${describe(exchange, routingKey)}: no confirm within ${o.operationTimeoutMs} ms`,
            { provider: PROVIDER },
          ),
        );
      },
    };
    const done = (err: unknown) => {
      deadlines.delete(entry);
      if (!err) {
        if (!p.returned.delete(correlationId)) {
          stats.published++;
          return resolve();
        }
        return reject(
          new IntegrationError(
            ErrorCode.RabbitMQError,
            `[${o.tag}] ${describe(exchange, routingKey)} failed: no queue is bound for it (message returned as unroutable)`,
            { provider: PROVIDER },
          ),
        );
      }
      // The channel's own error (404 NOT_FOUND for a missing exchange) arrives with its close.
      setImmediate(() =>
        reject(amqpError(p.error ?? err, o.tag, `${describe(exchange, routingKey)} failed`, o.secrets)),
      );
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
      deadlines.add(entry);
      if (!ok)
        p.drain ??= new Promise<void>((r) =>
          p.ch.once('drain', () => {
            p.drain = undefined;
            r();
          }),
        );
    } catch (err) {
      // amqplib throws synchronously on a channel that has just closed.
      reject(amqpError(err, o.tag, `${describe(exchange, routingKey)} failed`, o.secrets));
    }
  });
}

/** `publish(target, body, { exchange?, routingKey? })`: which exchange and routing key it means. */
export function publishTarget(
  target: string,
  opts: AmqpPublishOptions,
): { exchange: string; routingKey: string } {
  if (opts.exchange !== undefined) return { exchange: opts.exchange, routingKey: opts.routingKey ?? target };
  return { exchange: target, routingKey: opts.routingKey ?? '' };
}
