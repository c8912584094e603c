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
  /** Fixed claim-ahead window; undefined: adaptive. */
  aheadMs?: number | undefined;
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

/** The loop wakes `aheadMs` before the next tick and its pass claims up to this much further. */
const WAKE_SLACK_MS = 10;

/** The public face: API calls go straight to the store; the loop runs the {@link Engine}. */
export class SchedulerImpl implements Scheduler {
  readonly #p: SchedulerParts;
  readonly #engine: Engine;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  #inFlight: Promise<void> | null = null;
  /** An upsert came while the loop's pass ran. */
  #woken = false;

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
    return this.#pass(0);
  }

  /** One pass at a time: a pass started while another runs waits for it instead of overlapping. */
  #pass(aheadMs: number): Promise<void> {
    const run = (this.#inFlight ?? Promise.resolve()).then(() => this.#engine.pass(aheadMs));
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

  /**
   * Pass, then sleep until the claim-ahead window before the next tick (at most `tickMs`). The
   * loop's passes claim ahead; `#timer` is null while one runs.
   */
  async #loop(): Promise<void> {
    if (!this.#running) return;
    this.#timer = null;
    try {
      // The slack covers a timer that fires a millisecond early by this clock.
      await this.#pass(this.#engine.aheadMs() + WAKE_SLACK_MS);
    } catch (err) {
      // The engine never throws; this is a last guard so the loop never dies.
      this.#p.logger.error({ err: String(err) }, '[scheduler] pass failed');
    }
    if (!this.#running) return;
    const now = this.#p.now();
    const next = this.#engine.nextDue();
    const until = next === null ? this.#p.tickMs : next - this.#engine.aheadMs() - now;
    const wait = this.#woken ? 0 : Math.max(0, Math.min(this.#p.tickMs, until));
    this.#woken = false;
    this.#timer = setTimeout(() => void this.#loop(), wait);
  }

  /** An upsert may bring a tick earlier than the current sleep: pass again soon. */
  #wake(): void {
    if (!this.#running) return;
    // A pass is running: the loop passes again right after it (one loop, never two).
    if (this.#timer === null) {
      this.#woken = true;
      return;
    }
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
