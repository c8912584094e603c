import type { JobInfo } from '@fraiseql/core';
import type { GetMessage } from 'amqplib';
import type { RabbitConnection } from './connection';
import { BadEnvelope, type Envelope, jobInfo } from './envelope';
import { readJob } from './message';
import type { Publisher } from './publishing';

/** Messages moved per channel by `retryFailed` before their acks. */
const DLQ_BATCH = 200;

/**
 * Up to `max` jobs from the head of the dead-letter queue `dlq`, fetched unacked on a channel of
 * their own and requeued in place when it closes.
 */
export function peekDeadLetters(
  conn: RabbitConnection,
  queue: string,
  dlq: string,
  max: number,
): Promise<JobInfo[]> {
  return conn.withTempChannel(`reading failed jobs of "${queue}"`, async (ch) => {
    const out: JobInfo[] = [];
    while (out.length < max) {
      const msg = await ch.get(dlq, { noAck: false });
      if (msg === false) break;
      out.push(describeFailed(queue, msg));
    }
    return out;
  });
}

/**
 * Moves up to `limit` dead letters (all of those there when it starts, if undefined) back to
 * pending with attempts reset, each published and confirmed before its dead letter is acked.
 * Returns how many moved.
 */
export async function retryDeadLetters(
  conn: RabbitConnection,
  publisher: Publisher,
  queue: string,
  dlq: string,
  limit: number | undefined,
): Promise<number> {
  let left = limit ?? Number.POSITIVE_INFINITY;
  let moved = 0;
  for (;;) {
    const batch = await conn.withTempChannel(`retrying failed jobs of "${queue}"`, async (ch) => {
      const taken: { msg: GetMessage; env: Envelope }[] = [];
      let bad = 0;
      // Unreadable dead letters are held unacked (so the loop sees each once) and requeued
      // when this channel closes.
      while (taken.length < Math.min(DLQ_BATCH, left)) {
        const msg = await ch.get(dlq, { noAck: false });
        if (msg === false) break;
        // Never retry more than was there when the call started: jobs failing meanwhile wait.
        if (left === Number.POSITIVE_INFINITY) left = msg.fields.messageCount + 1 + taken.length + bad;
        try {
          taken.push({ msg, env: readJob(msg, queue) });
        } catch {
          bad++;
        }
      }
      const now = Date.now();
      await Promise.all(
        taken.map(({ env }) => {
          const fresh: Envelope = { ...env, attempts: 0, failures: 0, lost: 0, runAt: now };
          delete fresh.failedAt;
          delete fresh.delayMs;
          return publisher.send(fresh, `retrying failed job ${env.id}`);
        }),
      );
      for (const { msg } of taken) ch.ack(msg);
      return { moved: taken.length, bad, empty: taken.length + bad === 0 };
    });
    moved += batch.moved;
    left -= batch.moved + batch.bad;
    if (batch.empty || left <= 0 || batch.moved === 0) break;
  }
  return moved;
}

/** A dead letter as a failed job; a body that is not an envelope shows its raw text and the reason. */
function describeFailed(queue: string, msg: GetMessage): JobInfo {
  try {
    const env = readJob(msg, queue);
    return jobInfo(env, 'failed', env.attempts);
  } catch (err) {
    const reason = err instanceof BadEnvelope ? err.message : String(err);
    const header = msg.properties.headers?.['x-fraiseql-error'];
    const stamp =
      typeof msg.properties.timestamp === 'number' ? new Date(msg.properties.timestamp * 1000) : new Date(0);
    return {
      id: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '',
      queue,
      data: msg.content.toString('utf8'),
      attempts: 0,
      maxRetries: 0,
      createdAt: stamp,
      state: 'failed',
      priority: 0,
      runAt: stamp,
      lastError: typeof header === 'string' ? header : reason,
    };
  }
}
