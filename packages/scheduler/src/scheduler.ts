import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { QueueProvider } from '@fraiseql/core';
import { assertScheduleId, normalize, timingOf } from './definition';
import { Engine } from './engine';
import { scheduleNotFound } from './errors';
import type { SchedulerMetrics } from './metrics';
import type { ScheduleStore, StoredSchedule } from './store';
import type { ScheduleInfo, ScheduleInput, Scheduler, SchedulerLogger } from './types';

export interface SchedulerParts {
  queue: QueueProvider;
  store: ScheduleStore;
  tickMs: number;
  leaseMs: number;
  metrics: SchedulerMetrics;
  logger: SchedulerLogger;
  now: () => number;
}

function info(s: StoredSchedule, now: number): ScheduleInfo {
  const d = s.def;
  const out: ScheduleInfo = {
    id: d.id,
    tz: d.tz,
    queue: d.queue,
    data: d.data,
    backfillMs: d.backfillMs,
    nextRun: null,
    lastRun: s.lastTick === null ? null : new Date(s.lastTick),
    lastJobId: s.lastJobId,
    firedCount: s.fired,
  };
  if (d.cron !== undefined) out.cron = d.cron;
  if (d.everyMs !== undefined) out.everyMs = d.everyMs;
  if (d.opts !== undefined) out.opts = d.opts;
  if (d.startAtMs !== undefined) out.startAt = new Date(d.startAtMs);
  if (d.endAtMs !== undefined) out.endAt = new Date(d.endAtMs);
  if (d.limit !== undefined) out.limit = d.limit;
  if (d.limit === undefined || s.fired < d.limit) {
    try {
      const next = timingOf(d).next(Math.max(now, s.lastTick ?? Number.NEGATIVE_INFINITY));
      out.nextRun = next === null ? null : new Date(next);
    } catch {
      out.nextRun = null;
    }
  }
  return out;
}

/** The public face: API calls go straight to the store; the loop runs the {@link Engine}. */
export class SchedulerImpl implements Scheduler {
  readonly #p: SchedulerParts;
  readonly #engine: Engine;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  #inFlight: Promise<void> | null = null;

  constructor(p: SchedulerParts) {
    this.#p = p;
    this.#engine = new Engine({
      ...p,
      owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    });
  }

  async upsert(s: ScheduleInput): Promise<void> {
    const { def } = normalize(s);
    await this.#p.store.put(def, this.#p.now());
    this.#wake();
  }

  async remove(id: string): Promise<boolean> {
    assertScheduleId(id);
    return this.#p.store.remove(id);
  }

  async list(): Promise<ScheduleInfo[]> {
    const now = this.#p.now();
    return (await this.#p.store.all()).map((s) => info(s, now));
  }

  async runNow(id: string): Promise<string> {
    assertScheduleId(id);
    const s = await this.#p.store.get(id);
    if (!s) throw scheduleNotFound(id);
    const opts = { ...s.def.opts };
    delete opts.dedupKey;
    return this.#p.queue.enqueue(s.def.queue, structuredClone(s.def.data), opts);
  }

  poll(): Promise<void> {
    // One pass at a time: a pass started while another runs waits for it instead of overlapping.
    const run = (this.#inFlight ?? Promise.resolve()).then(() => this.#engine.pass());
    const tracked = run.finally(() => {
      if (this.#inFlight === tracked) this.#inFlight = null;
    });
    this.#inFlight = tracked;
    return tracked;
  }

  async start(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    await this.#loop();
  }

  async #loop(): Promise<void> {
    if (!this.#running) return;
    try {
      await this.poll();
    } catch (err) {
      // The engine never throws; this is a last guard so the loop never dies.
      this.#p.logger.error({ err: String(err) }, '[scheduler] pass failed');
    }
    if (!this.#running) return;
    const now = this.#p.now();
    const next = this.#engine.nextDue();
    const wait = Math.max(0, Math.min(this.#p.tickMs, next === null ? this.#p.tickMs : next - now));
    this.#timer = setTimeout(() => void this.#loop(), wait);
  }

  /** An upsert may bring a tick earlier than the current sleep: pass again soon. */
  #wake(): void {
    if (!this.#running || this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#loop(), 0);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#inFlight?.catch(() => {});
    await this.#p.store.close();
  }
}
