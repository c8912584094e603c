import type { ConsumeMessage, Options } from 'amqplib';
import type { RabbitConnection } from './connection';
import type { Declarations } from './declarations';
import type { Envelope } from './envelope';
import { jobMessage } from './message';
import { type BatchMessage, publishBatch } from './publish-batch';
import { nextRung } from './topology';

/** Confirmed publishes of jobs: to the jobs queue, a delay rung, or the dead-letter queue. */
export class Publisher {
  constructor(
    private readonly conn: RabbitConnection,
    private readonly decl: Declarations,
    /** `maxPriority` of a queue (0: a plain queue, no priority property). */
    private readonly maxPriority: (queue: string) => number,
  ) {}

  /**
   * Publishes a job where it belongs now: the jobs queue when due (or due within
   * `LOCAL_WAIT_MS`), otherwise the delay rung {@link nextRung} picks. Confirmed.
   */
  async send(env: Envelope, what: string, dataJson?: string): Promise<void> {
    const n = this.decl.names(env.queue);
    if (!this.decl.isDeclared(env.queue)) await this.decl.ensureQueue(env.queue);
    const remaining = env.runAt - Date.now();
    const rung = nextRung(remaining, env.delayMs ?? remaining);
    let target = n.jobs;
    if (rung > 0) {
      target = n.delay(rung);
      await this.decl.ensureRung(env.queue, rung);
    }
    const m = jobMessage(env, this.maxPriority(env.queue), dataJson);
    await this.conn.publish('', target, m.content, m.props, what, () =>
      this.decl.redeclareQueue(env.queue, rung),
    );
  }

  /**
   * Publishes the jobs of one queue (one `enqueueMany` batch): the due ones in one confirmed
   * batch to the jobs queue, delayed ones one by one to their rungs. Confirmed when it resolves.
   */
  async sendMany(queue: string, jobs: { env: Envelope; dataJson?: string }[], what: string): Promise<void> {
    if (!this.decl.isDeclared(queue)) await this.decl.ensureQueue(queue);
    const levels = this.maxPriority(queue);
    const now = Date.now();
    const due: BatchMessage[] = [];
    const later: Promise<void>[] = [];
    for (const { env, dataJson } of jobs) {
      const remaining = env.runAt - now;
      if (nextRung(remaining, env.delayMs ?? remaining) > 0) later.push(this.send(env, what, dataJson));
      else due.push(jobMessage(env, levels, dataJson));
    }
    const batch =
      due.length > 0
        ? publishBatch(this.conn, this.decl.names(queue).jobs, due, what, () =>
            this.decl.redeclareQueue(queue),
          )
        : Promise.resolve();
    await Promise.all([batch, ...later]);
  }

  async sendToDlq(env: Envelope, what: string): Promise<void> {
    await this.decl.ensureQueue(env.queue);
    // No priority on the dead-letter queue (a plain queue): it is read oldest first.
    const m = jobMessage(env, 0);
    await this.conn.publish('', this.decl.names(env.queue).dlq, m.content, m.props, what, () =>
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
    if (typeof msg.properties.type === 'string') props.type = msg.properties.type;
    if (typeof msg.properties.timestamp === 'number') props.timestamp = msg.properties.timestamp;
    await this.conn.publish(
      '',
      this.decl.names(queue).dlq,
      msg.content,
      props,
      `quarantining a message of "${queue}"`,
    );
  }
}
