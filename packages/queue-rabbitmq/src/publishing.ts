import type { ConsumeMessage, Options } from 'amqplib';
import type { RabbitConnection } from './connection';
import type { Declarations } from './declarations';
import type { Envelope } from './envelope';
import { nextRung, priorityLevel } from './topology';

/** The message body; `dataJson` (already validated and sized by `toJson`) is spliced in as is. */
export function encode(env: Envelope, dataJson?: string): Buffer {
  if (dataJson === undefined) return Buffer.from(JSON.stringify(env), 'utf8');
  const { data: _data, ...rest } = env;
  const head = JSON.stringify(rest);
  return Buffer.from(`${head.slice(0, -1)},"data":${dataJson}}`, 'utf8');
}

function props(env: Envelope): Options.Publish {
  return {
    persistent: true,
    messageId: env.id,
    priority: priorityLevel(env.priority),
    contentType: 'application/json',
    timestamp: Math.floor(env.createdAt / 1000),
    type: 'fraiseql.job',
  };
}

/** Confirmed publishes of jobs: to the jobs queue, a delay rung, or the dead-letter queue. */
export class Publisher {
  constructor(
    private readonly conn: RabbitConnection,
    private readonly decl: Declarations,
  ) {}

  /**
   * Publishes a job where it belongs now: the jobs queue when due (or due within
   * `LOCAL_WAIT_MS`), otherwise the delay rung {@link nextRung} picks. Confirmed.
   */
  async send(env: Envelope, what: string, dataJson?: string): Promise<void> {
    const n = this.decl.names(env.queue);
    await this.decl.ensureQueue(env.queue);
    const remaining = env.runAt - Date.now();
    const rung = nextRung(remaining, env.delayMs ?? remaining);
    let target = n.jobs;
    if (rung > 0) {
      target = n.delay(rung);
      await this.decl.ensureRung(env.queue, rung);
    }
    await this.conn.publish('', target, encode(env, dataJson), props(env), what, () =>
      this.decl.redeclareQueue(env.queue, rung),
    );
  }

  async sendToDlq(env: Envelope, what: string): Promise<void> {
    await this.decl.ensureQueue(env.queue);
    await this.conn.publish('', this.decl.names(env.queue).dlq, encode(env), props(env), what, () =>
      this.decl.redeclareQueue(env.queue),
    );
  }

  /** Keeps an unreadable delivery (its body as it was) in the dead-letter queue. */
  async quarantine(queue: string, msg: ConsumeMessage, reason: string): Promise<void> {
    await this.decl.ensureQueue(queue);
    const props: Options.Publish = {
      persistent: true,
      contentType: msg.properties.contentType,
      headers: { ...(msg.properties.headers ?? {}), 'x-fraiseql-error': reason },
    };
    if (typeof msg.properties.messageId === 'string') props.messageId = msg.properties.messageId;
    await this.conn.publish(
      '',
      this.decl.names(queue).dlq,
      msg.content,
      props,
      `quarantining a message of "${queue}"`,
    );
  }
}
