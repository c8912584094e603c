import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { assertOptionsObject, ErrorCode, Problems } from '@fraiseql/core';
import type { Unlisten } from '@fraiseql/postgres';
import { Registry } from 'prom-client';
import { builtinActions } from './actions/builtin';
import { changeLogChannel, ensureChangeLog } from './change-log';
import { BUILTIN_ACTIONS, type CompiledObserver, compileObservers, parseKind } from './definitions';
import { createDlqApi } from './dlq';
import { observersError } from './errors';
import { checkEvent } from './event';
import { Breakers } from './executor/breakers';
import { composeExecutor, type ExecutorStack } from './executor/compose';
import { Interrupted } from './executor/types';
import { type ObserverMetrics, observerMetrics } from './metrics';
import { resolveRuntimeOptions } from './options';
import { ChangeLogReader } from './reader';
import { type Cursor, ObserverStore } from './store';
import type {
  ActionRunner,
  EntityEvent,
  EventDebug,
  ExecutionRecord,
  ExecutionSummary,
  ObserverDlq,
  ObserverRuntime,
  ObserverRuntimeOptions,
  ObserverStatus,
} from './types';

const P = 'observers';

function leaderChannel(group: string): string {
  return `fraiseql_observers_leader:${group}`.slice(0, 63);
}

class Runtime extends EventEmitter implements ObserverRuntime {
  readonly listenerId: string;
  readonly group: string;
  private readonly changeLog: string;
  private readonly schema: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly healthCheckIntervalMs: number;
  private readonly failoverThresholdMs: number;
  private readonly role: 'all' | 'listener' | 'worker';
  private readonly retentionDays: number;
  private readonly observers: CompiledObserver[];
  private readonly runners = new Map<string, ActionRunner>();
  private readonly breakers: Breakers;
  private readonly stack: ExecutorStack;
  private readonly store: ObserverStore;
  private readonly reader: ChangeLogReader;
  private readonly metrics: ObserverMetrics;
  private readonly teardown = new AbortController();
  readonly dlq: ObserverDlq;

  private running = false;
  private epoch = 0;
  private leading = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private pendingWake = false;
  private ticker: NodeJS.Timeout | null = null;
  private unlisten: Unlisten[] = [];
  private tickBusy = false;
  private migrated: Promise<void> | null = null;
  /** A previous leadership's loop still finishing its batch: no takeover until it is done. */
  private looping = false;

  constructor(private readonly o: ObserverRuntimeOptions) {
    super();
    const r = resolveRuntimeOptions(o);
    this.listenerId = r.listenerId;
    this.group = r.group;
    this.changeLog = r.changeLog;
    this.schema = r.schema;
    this.batchSize = r.batchSize;
    this.pollIntervalMs = r.pollIntervalMs;
    this.healthCheckIntervalMs = r.healthCheckIntervalMs;
    this.failoverThresholdMs = r.failoverThresholdMs;
    this.retentionDays = r.retentionDays;
    this.role = r.role;
    const { maxParallelism, actionTimeoutMs } = r;
    const b = o.breaker ?? {};

    const providers = o.providers ?? {};
    this.observers = compileObservers(o.observers, {
      providers: { cache: !!providers.cache, queue: !!providers.queue, search: !!providers.search },
    });
    const fetchImpl = o.fetch ?? globalThis.fetch;
    for (const [type, run] of Object.entries(
      builtinActions({ providers, fetch: fetchImpl, actionTimeoutMs }),
    ))
      this.runners.set(type, run);
    this.metrics = observerMetrics(o.registry ?? new Registry());
    this.breakers = new Breakers(b, {
      ...(providers.cache ? { cache: providers.cache.name } : {}),
      ...(providers.queue ? { queue: providers.queue.name } : {}),
      ...(providers.search ? { search: providers.search.name } : {}),
    });
    this.store = new ObserverStore(o.sql, this.schema, this.group);
    this.reader = new ChangeLogReader(o.sql, this.changeLog, r.source);
    this.stack = composeExecutor({
      observers: () => this.observers,
      runners: this.runners,
      breakers: this.breakers,
      dlq: {
        add: async (e) => {
          await this.store.addDlq(e);
          this.metrics.dlqSize.inc();
        },
      },
      maxParallelism,
      actionTimeoutMs,
      stop: this.teardown.signal,
      ...(o.dedup ? { dedup: o.dedup } : {}),
      ...(o.actionCache ? { actionCache: o.actionCache } : {}),
      metrics: this.metrics,
      ...(o.logger ? { logger: o.logger } : {}),
      ...(o.aroundAction ? { aroundAction: o.aroundAction } : {}),
    });
    this.dlq = createDlqApi({
      store: this.store,
      actions: () => this.stack.actions,
      metrics: this.metrics,
      ready: () => this.tables(),
    });
  }

  registerAction(type: string, run: ActionRunner): void {
    if (typeof type !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(type))
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `registerAction: type must be 1-64 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(type)}`,
        'type',
      );
    if (typeof run !== 'function')
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `registerAction("${type}"): run must be a function`,
        'run',
      );
    this.runners.set(type, run);
  }

  /** Action types of the definitions that nothing can run; checked at start, after registerAction. */
  private checkActionTypes(): void {
    const problems = new Problems('observers');
    for (const o of this.observers)
      o.actions.forEach((a, i) => {
        if (!this.runners.has(a.type))
          problems.add(
            `observer "${o.name}".actions[${i}]: unknown action type "${a.type}" (built in: ${BUILTIN_ACTIONS.join(', ')}; others need registerAction)`,
          );
      });
    problems.throwIfAny('invalid observers');
  }

  /** The runtime's tables, created once on first use (start, processEvent, dlq, status). */
  private tables(): Promise<void> {
    if (!this.migrated) {
      this.migrated = this.store.migrate();
      this.migrated.catch(() => {
        this.migrated = null;
      });
    }
    return this.migrated;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.checkActionTypes();
    await this.tables();
    if (this.role !== 'worker') {
      await ensureChangeLog(this.o.sql, { table: this.changeLog });
      this.unlisten.push(
        await this.o.sql.listen(changeLogChannel(this.changeLog), () => this.poke(), {
          onReconnect: () => this.poke(),
        }),
      );
      this.unlisten.push(await this.o.sql.listen(leaderChannel(this.group), () => void this.tick()));
    }
    this.running = true;
    if (this.o.transport && this.role !== 'listener')
      await this.o.transport.subscribe(async (event) => {
        await this.processEvent(event);
      });
    await this.tick();
    this.ticker = setInterval(() => void this.tick(), this.healthCheckIntervalMs);
    this.ticker.unref();
  }

  private poke(): void {
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    } else this.pendingWake = true;
  }

  private idle(ms: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Lease renewal or takeover, then the heartbeat (with the role just decided), housekeeping. */
  private async tick(): Promise<void> {
    if (!this.running || this.tickBusy) return;
    this.tickBusy = true;
    try {
      if (this.role !== 'worker') {
        if (this.leading) {
          if (!(await this.store.renew(this.listenerId, this.epoch))) this.lose();
        } else if (!this.looping) {
          const got = await this.store.acquire(this.listenerId, this.failoverThresholdMs);
          if (got && this.running) {
            this.epoch = got.epoch;
            this.leading = true;
            this.metrics.leader.set({ listener: this.listenerId }, 1);
            if (got.previous !== null && got.previous !== this.listenerId) {
              this.metrics.failovers.inc();
              this.emit('failover', {
                group: this.group,
                from: got.previous,
                to: this.listenerId,
                epoch: got.epoch,
              });
            }
            this.looping = true;
            this.loop = this.run()
              .catch((err) => this.o.logger?.error({ err }, '[observers] listener loop failed'))
              .finally(() => {
                this.looping = false;
              });
          }
        }
      }
      await this.store.heartbeat({
        listenerId: this.listenerId,
        role: this.role === 'worker' ? 'worker' : this.leading ? 'leader' : 'standby',
        hostname: hostname(),
        pid: process.pid,
      });
      if (this.leading) await this.refreshGauges();
      if (Math.random() < 0.01) await this.store.prune(this.retentionDays);
    } catch (err) {
      this.o.logger?.warn({ err }, '[observers] heartbeat failed');
    } finally {
      this.tickBusy = false;
    }
  }

  /** Lag, DLQ size and the depth of the queues enqueue actions feed (the leader reports them). */
  private async refreshGauges(): Promise<void> {
    const { eventId } = await this.store.leader();
    if (eventId !== null)
      this.metrics.eventsBehind.set({ group: this.group }, await this.reader.behind(eventId));
    this.metrics.dlqSize.set(await this.store.dlqSize());
    const queue = this.o.providers?.queue;
    if (!queue) return;
    const queues = new Set(
      this.observers.flatMap((o) =>
        o.actions.filter((a) => a.type === 'enqueue').map((a) => String((a as { queue?: unknown }).queue)),
      ),
    );
    for (const name of queues) this.metrics.jobQueueDepth.set({ queue: name }, await queue.queueLength(name));
  }

  private lose(): void {
    this.leading = false;
    this.metrics.leader.set({ listener: this.listenerId }, 0);
    this.poke();
  }

  /** The leader's loop: read a batch, run it, save the cursor (fenced by epoch), wait when caught up. */
  private async run(): Promise<void> {
    let cursor: Cursor = await this.store.cursor();
    while (this.running && this.leading) {
      let next: Cursor;
      let count: number;
      try {
        const batch = await this.reader.read(cursor, this.batchSize);
        count = batch.events.length;
        if (count > 0) {
          if (this.o.transport) await this.o.transport.publish(batch.events);
          if (this.role === 'all' && !this.o.transport && !(await this.runBatch(batch.events))) return;
        }
        next = batch.next;
        if (!(await this.store.saveCursor(next, this.epoch))) {
          this.o.logger?.warn(
            { group: this.group, epoch: this.epoch },
            '[observers] leadership lost; stopping this listener',
          );
          this.lose();
          return;
        }
      } catch (err) {
        this.o.logger?.error({ err }, '[observers] reading the change log failed; retrying');
        await this.idle(this.pollIntervalMs);
        cursor = await this.store.cursor().catch(() => cursor);
        continue;
      }
      cursor = next;
      if (count < this.batchSize && next.hi === null) await this.idle(this.pollIntervalMs);
    }
  }

  /** Events of one (entity, entityId) in id order; others in parallel. False when interrupted. */
  private async runBatch(events: EntityEvent[]): Promise<boolean> {
    const chains = new Map<string, EntityEvent[]>();
    for (const e of events) {
      const key = `${e.entity}\u0000${e.entityId}`;
      const chain = chains.get(key);
      if (chain) chain.push(e);
      else chains.set(key, [e]);
    }
    const records: Parameters<ObserverStore['recordExecutions']>[0] = [];
    let complete = true;
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        for (const event of chain) {
          try {
            const outcome = await this.stack.events.run(event);
            records.push(...outcome.records);
            this.done(event, outcome.summary);
          } catch (err) {
            complete = false;
            if (!(err instanceof Interrupted))
              this.o.logger?.error({ err, eventId: event.id }, '[observers] event failed');
            return;
          }
        }
      }),
    );
    await this.store
      .recordExecutions(records)
      .catch((err) => this.o.logger?.warn({ err }, '[observers] recording executions failed'));
    return complete;
  }

  private done(event: EntityEvent, summary: ExecutionSummary): void {
    this.metrics.eventsProcessed.inc({ entity: event.entity, kind: event.kind });
    this.metrics.eventLag.observe(Math.max(0, (Date.now() - event.createdAt.getTime()) / 1000));
    this.emit('executed', summary);
  }

  async processEvent(event: EntityEvent): Promise<ExecutionSummary> {
    const e = checkEvent(event);
    await this.tables();
    const outcome = await this.stack.events.run(e);
    await this.store
      .recordExecutions(outcome.records)
      .catch((err) => this.o.logger?.warn({ err }, '[observers] recording executions failed'));
    this.done(e, outcome.summary);
    return outcome.summary;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    this.poke();
    await this.loop;
    this.loop = null;
    for (const u of this.unlisten.splice(0)) await u().catch(() => undefined);
    if (this.leading) {
      this.leading = false;
      this.metrics.leader.set({ listener: this.listenerId }, 0);
      await this.store.release(this.listenerId, this.epoch).catch(() => undefined);
      await this.o.sql.notify(leaderChannel(this.group), this.listenerId).catch(() => undefined);
    }
    await this.store.forgetListener(this.listenerId).catch(() => undefined);
  }

  async status(): Promise<ObserverStatus> {
    await this.tables();
    const [leader, listeners, dlqSize] = await Promise.all([
      this.store.leader(),
      this.store.listeners(this.failoverThresholdMs),
      this.store.dlqSize(),
    ]);
    const eventsBehind =
      leader.eventId === null ? 0 : await this.reader.behind(leader.eventId).catch(() => 0);
    this.metrics.eventsBehind.set({ group: this.group }, eventsBehind);
    this.metrics.dlqSize.set(dlqSize);
    return {
      listenerId: this.listenerId,
      group: this.group,
      role: this.leading ? 'leader' : 'standby',
      leader: leader.leader,
      epoch: leader.epoch,
      checkpoint: leader.eventId,
      eventsBehind,
      listeners,
      healthyListeners: listeners.filter((l) => l.healthy).length,
      breakers: this.breakers.states(),
      dlqSize,
    };
  }

  async executions(eventId: string): Promise<ExecutionRecord[]> {
    await this.tables();
    return this.store.executions(eventId);
  }

  async debugEvent(eventId: string): Promise<EventDebug> {
    await this.tables();
    const event = typeof eventId === 'string' ? await this.reader.byId(eventId) : null;
    if (!event)
      throw observersError(
        ErrorCode.JobNotFound,
        `event ${JSON.stringify(String(eventId)).slice(0, 40)} not found in the change log`,
        'id',
      );
    return {
      event,
      matchedObservers: this.stack.observer.matching(event).map((o) => o.name),
      executions: await this.store.executions(event.id),
    };
  }

  async recentEvents(opts: { entity?: string; kind?: string; limit?: number } = {}): Promise<EntityEvent[]> {
    const limit = opts.limit ?? 20;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `limit must be an integer from 1 to 1000, got ${limit}`,
        'limit',
      );
    const kind = opts.kind === undefined ? undefined : parseKind(opts.kind);
    if (opts.kind !== undefined && !kind)
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `kind must be INSERT, UPDATE, DELETE (or created, updated, deleted), got ${JSON.stringify(opts.kind)}`,
        'kind',
      );
    return this.reader.recent({
      ...(opts.entity ? { entity: opts.entity } : {}),
      ...(kind ? { kind } : {}),
      limit,
    });
  }
}

/**
 * Creates the observer runtime (DESIGN §8.3). Definitions and options are validated here (IN002
 * listing every problem); action types that nothing can run are refused by `start()`, so custom
 * types can be registered in between. Nothing touches the database until `start()`.
 */
export async function createObserverRuntime(opts: ObserverRuntimeOptions): Promise<ObserverRuntime> {
  assertOptionsObject(opts, P);
  if (!opts.sql || typeof opts.sql.query !== 'function')
    throw observersError(
      ErrorCode.InvalidConfiguration,
      'sql must be a SqlClient (createSqlClient from @fraiseql/postgres)',
      'sql',
    );
  return new Runtime(opts);
}
