import { describeError, type QueueProvider } from '@fraiseql/core';
import { type ScheduleDef, timingOf } from './definition';
import { prepareTicks, sendTicks, type TickBatch } from './enqueue';
import type { SchedulerMetrics } from './metrics';
import type { ClaimRef, ScheduleStore, StoredSchedule, TickRef } from './store';
import type { Timing } from './timing';
import type { SchedulerLogger } from './types';

/** This process's view of one schedule. */
interface Entry {
  def: ScheduleDef;
  timing: Timing;
  fired: number;
  /** Ticks up to this instant were handled (claimed, or seen claimed, or skipped as missed). */
  cursor: number;
  /** First tick after the cursor (cached: recomputed only once it is due); null when none is left. */
  next: number | null;
}

export interface EngineOptions {
  store: ScheduleStore;
  queue: QueueProvider;
  owner: string;
  now: () => number;
  tickMs: number;
  leaseMs: number;
  metrics: SchedulerMetrics;
  logger: SchedulerLogger;
  /** Fixed claim-ahead window of the loop's passes; undefined: adaptive (see {@link Engine.aheadMs}). */
  aheadMs?: number | undefined;
}

/** At most this many ticks of one schedule per pass (a long backfill is spread over passes). */
const MAX_TICKS_PER_SCHEDULE = 1000;
const PRUNE_EVERY_MS = 60_000;
/** Ticks claimed per store round trip. */
const CLAIM_CHUNK = 2000;
/** Shortest adaptive claim-ahead window. */
const MIN_AHEAD_MS = 50;
/** Claiming time per tick assumed before one was measured (a 2,000-row claim takes ~25 ms). */
const PER_TICK_PRIOR_MS = 0.02;
/** A held tick's schedules are re-read this long before its instant (a removal meanwhile drops it). */
const RECHECK_BEFORE_MS = 15;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

const key = (r: TickRef) => `${r.id}|${r.tick}`;

/**
 * One pass = sync with the store, claim every due tick, enqueue the won ones, record their job ids,
 * retry this process's failed enqueues and take over stale claims. Never throws: a failing store
 * or queue is logged, counted and retried on the next pass.
 *
 * The loop's passes claim ahead: ticks due within `aheadMs` are claimed before their instant and
 * held until it, so at the instant only the enqueue remains (thousands of ticks on one second would
 * otherwise wait for their claims). A held tick's lease starts at its instant, not at the claim:
 * if this process dies before firing it, another scheduler takes it over a lease after the tick,
 * exactly as a claim whose enqueue never happened.
 */
export class Engine {
  readonly #o: EngineOptions;
  readonly #entries = new Map<string, Entry>();
  #version: string | null = null;
  /** Pass time recorded by any scheduler before this process's first pass. */
  #base: number | null = null;
  /** Claims this process holds whose enqueue failed. */
  readonly #retry = new Map<string, TickRef>();
  /** Earliest next tick of any schedule, kept by #dueTicks (null: none left). */
  #earliest: number | null = null;
  /** Per schedule, the last tick #dueTicks listed and the tick after it (so #advance need not recompute it). */
  readonly #after = new Map<string, { tick: number; next: number | null }>();
  /** The schedules changed (or a claim failed) since the last walk: walk them all on the next pass. */
  #dirty = true;
  /** End of this process's previous pass that reached the store. */
  #lastPassEnd: number | null = null;
  #lastStaleSweep = Number.NEGATIVE_INFINITY;
  #lastPrune = Number.NEGATIVE_INFINITY;
  /** How long claiming took in recent passes (decaying maximum, ms): sizes the adaptive window. */
  #claimCost = 0;
  /** Claiming time per tick (ms, smoothed over passes that claimed many), and how many ticks fall on the earliest instant. */
  #perTick = PER_TICK_PRIOR_MS;
  #atEarliest = 0;

  constructor(o: EngineOptions) {
    this.#o = o;
  }

  /** Ticks that arrive within this much of a pass are "late", older ones "missed while down". */
  get graceMs(): number {
    return Math.max(3 * this.#o.tickMs, 5000);
  }

  /** Earliest next tick of any schedule (for the loop's sleep); null when none. */
  nextDue(): number | null {
    return this.#retry.size > 0 ? this.#o.now() : this.#earliest;
  }

  /**
   * How long before a tick the loop claims it: the fixed `aheadMs` option, else twice what claiming
   * took lately or should take for the ticks of the next instant (so the claims are done before
   * it; a minute boundary of 10,000 cron schedules comes after idle passes), at least 50 ms, at
   * most half a `tickMs`.
   */
  aheadMs(): number {
    if (this.#o.aheadMs !== undefined) return this.#o.aheadMs;
    const cost = Math.max(this.#claimCost, this.#perTick * this.#atEarliest);
    return Math.min(this.#o.tickMs / 2, Math.max(MIN_AHEAD_MS, Math.ceil(2 * cost) + 20));
  }

  /**
   * One pass; with `aheadMs` > 0 the ticks due within it are claimed now and enqueued at their
   * instants before the pass returns (the loop's passes; `poll()` claims only what is due).
   */
  async pass(aheadMs = 0): Promise<void> {
    const now = this.#o.now();
    try {
      await this.#sync(now);
    } catch (err) {
      this.#fail('store', err, 'scheduler store sync failed');
      return;
    }
    // A gap since the end of the previous pass (or, on the first pass, since any scheduler's last
    // pass) longer than the grace means nobody was firing: a slow pass of a live process is not one.
    const since = this.#lastPassEnd ?? this.#base ?? now;
    const due = this.#dueTicks(now, now + Math.max(0, aheadMs), now - since > this.#o.tickMs + this.graceMs);
    // Claims go in chunks, each enqueued while the next is claimed: with thousands of ticks due
    // at one instant the first jobs do not wait for the last claim. Won ticks not yet due are held.
    const enqueues: Promise<void>[] = [];
    const held: TickRef[] = [];
    for (let i = 0; i < due.length; i += CLAIM_CHUNK) {
      const part = due.slice(i, i + CLAIM_CHUNK);
      try {
        const won = await this.#o.store.claim(part, this.#o.owner, now);
        this.#advance(part);
        const at = this.#o.now();
        const ready: TickRef[] = [];
        for (const w of won) (w.tick > at ? held : ready).push(w);
        enqueues.push(this.#enqueue(ready));
      } catch (err) {
        this.#dirty = true;
        this.#fail('store', err, 'claiming ticks failed');
        break;
      }
    }
    if (due.length > 0) {
      const cost = this.#o.now() - now;
      this.#claimCost = Math.max(cost, 0.8 * this.#claimCost);
      if (due.length >= 500) this.#perTick = 0.5 * this.#perTick + (0.5 * cost) / due.length;
    }
    const again = await this.#retries(now);
    const stale = await this.#stale(now);
    enqueues.push(this.#enqueue([...again, ...stale]));
    await Promise.all(enqueues);
    await this.#prune(now);
    if (held.length > 0) await this.#fireHeld(held);
    this.#lastPassEnd = this.#o.now();
  }

  /**
   * Enqueues claimed-ahead ticks at their instants (their jobs built before it). Shortly before
   * each instant the schedules are re-read when their version changed: a tick of a schedule removed
   * meanwhile is dropped, a changed one fires with its new template.
   */
  async #fireHeld(held: TickRef[]): Promise<void> {
    held.sort((a, b) => a.tick - b.tick);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < held.length; ) {
      const tick = (held[i] as TickRef).tick;
      let j = i;
      while (j < held.length && (held[j] as TickRef).tick === tick) j++;
      const group = held.slice(i, j);
      i = j;
      let batches = this.#prepare(group);
      const version = this.#version;
      await sleep(tick - RECHECK_BEFORE_MS - this.#o.now());
      try {
        await this.#sync(this.#o.now());
      } catch (err) {
        // We hold the claims: fire them (a removal that raced with this is the usual claim/remove race).
        this.#fail('store', err, 'scheduler store sync failed');
      }
      if (this.#version !== version) batches = this.#prepare(group);
      // Never before the instant by this clock (a timer may fire a rounding early).
      for (let k = 0; k < 3 && this.#o.now() < tick; k++) await sleep(tick - this.#o.now());
      sends.push(this.#send(batches));
    }
    await Promise.all(sends);
  }

  /** Reloads the schedules when their version changed; keeps cursors of known ones. */
  async #sync(now: number): Promise<void> {
    const { version, scannedMs } = await this.#o.store.sync(now);
    if (this.#base === null) this.#base = scannedMs ?? now;
    if (version === this.#version) return;
    const all = await this.#o.store.all();
    const seen = new Set<string>();
    for (const s of all) {
      seen.add(s.def.id);
      this.#load(s, now);
    }
    for (const id of this.#entries.keys()) if (!seen.has(id)) this.#entries.delete(id);
    this.#version = version;
    this.#dirty = true;
  }

  #load(s: StoredSchedule, now: number): void {
    const prev = this.#entries.get(s.def.id);
    let timing: Timing;
    try {
      timing = timingOf(s.def);
    } catch (err) {
      // Validated at upsert; a def written by a newer version we cannot read is skipped, loudly.
      this.#o.logger.error({ schedule: s.def.id, err: describeError(err) }, 'schedule skipped');
      this.#entries.delete(s.def.id);
      return;
    }
    const cursor = Math.max(
      prev?.cursor ?? this.#base ?? now,
      s.createdAtMs,
      s.lastTick ?? Number.NEGATIVE_INFINITY,
    );
    const changed = !prev || JSON.stringify(prev.def) !== JSON.stringify(s.def);
    this.#entries.set(s.def.id, {
      def: s.def,
      timing,
      fired: Math.max(s.fired, prev?.fired ?? 0),
      cursor,
      next: changed || !prev ? timing.next(cursor) : prev.next,
    });
  }

  /**
   * Ticks of every schedule due by `horizon` (now, or now + the claim-ahead window), oldest first
   * per schedule. When no scheduler passed for longer
   * than the grace (`down`), the ticks of the gap were missed while every scheduler was down: only
   * those inside `backfillMs` fire, else none (the next tick runs as usual).
   */
  #dueTicks(now: number, horizon: number, down: boolean): ClaimRef[] {
    const out: ClaimRef[] = [];
    this.#after.clear();
    // Idle passes (nothing due, nothing reloaded) skip the walk over every schedule.
    if (!this.#dirty && (this.#earliest === null || this.#earliest > horizon)) return out;
    this.#dirty = false;
    let earliest: number | null = null;
    let atEarliest = 0;
    const keep = (t: number | null) => {
      if (t === null) return;
      if (earliest === null || t < earliest) {
        earliest = t;
        atEarliest = 1;
      } else if (t === earliest) atEarliest++;
    };
    for (const e of this.#entries.values()) {
      if (e.next === null || e.next > horizon) {
        keep(e.next);
        continue;
      }
      const limit = e.def.limit;
      if (limit !== undefined && e.fired >= limit) continue;
      // e.next is timing.next(e.cursor) already: one cron computation per due tick, not three
      // (croner is the cost of a pass with thousands of cron schedules due at once).
      let t = down
        ? e.timing.next(Math.max(e.cursor, now - e.def.backfillMs))
        : e.next > e.cursor
          ? e.next
          : e.timing.next(e.cursor);
      let n = 0;
      let last = Number.NaN;
      while (t !== null && t <= horizon && n < MAX_TICKS_PER_SCHEDULE) {
        out.push(limit === undefined ? { id: e.def.id, tick: t } : { id: e.def.id, tick: t, limited: true });
        n++;
        last = t;
        t = e.timing.next(t);
      }
      if (n > 0) this.#after.set(e.def.id, { tick: last, next: t });
      if (n === 0) {
        e.cursor = now;
        e.next = t;
      }
      // Claimed ticks are due again right after (#advance moves next); t is the first one left.
      keep(t);
    }
    this.#earliest = earliest;
    this.#atEarliest = atEarliest;
    return out;
  }

  /** After a claim attempt (won or lost, both are handled), move each schedule past its ticks. */
  #advance(due: ClaimRef[]): void {
    for (const r of due) {
      const e = this.#entries.get(r.id);
      if (!e || r.tick < e.cursor) continue;
      e.cursor = r.tick;
      const after = this.#after.get(r.id);
      e.next = after?.tick === r.tick ? after.next : e.timing.next(r.tick);
    }
  }

  async #retries(now: number): Promise<TickRef[]> {
    if (this.#retry.size === 0) return [];
    const refs = [...this.#retry.values()];
    this.#retry.clear();
    try {
      return await this.#o.store.touch(refs, this.#o.owner, now);
    } catch (err) {
      for (const r of refs) this.#retry.set(key(r), r);
      this.#fail('store', err, 'renewing claims failed');
      return [];
    }
  }

  async #stale(now: number): Promise<TickRef[]> {
    if (now - this.#lastStaleSweep < Math.min(this.#o.leaseMs / 2, 5000)) return [];
    this.#lastStaleSweep = now;
    try {
      const taken = await this.#o.store.takeStale(this.#o.owner, now, this.#o.leaseMs, 1000);
      if (taken.length > 0)
        this.#o.logger.warn({ count: taken.length }, 'took over unfinished schedule ticks');
      return taken;
    } catch (err) {
      this.#fail('store', err, 'taking over stale claims failed');
      return [];
    }
  }

  #enqueue(refs: TickRef[]): Promise<void> {
    return refs.length === 0 ? Promise.resolve() : this.#send(this.#prepare(refs));
  }

  /** The jobs of claimed ticks whose schedule this process knows (a removed one's are dropped). */
  #prepare(refs: TickRef[]): TickBatch[] {
    const ticks: { ref: TickRef; def: ScheduleDef }[] = [];
    for (const ref of refs) {
      const e = this.#entries.get(ref.id);
      if (e) ticks.push({ ref, def: e.def });
    }
    return prepareTicks(this.#o.queue, ticks);
  }

  async #send(batches: TickBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const { done, failed } = await sendTicks(this.#o.queue, batches);
    const at = this.#o.now();
    for (const d of done) {
      this.#o.metrics.fired.inc({ schedule: d.id });
      this.#o.metrics.lag.observe(Math.max(0, at - d.tick) / 1000);
      const e = this.#entries.get(d.id);
      if (e) e.fired++;
    }
    if (failed.length > 0) {
      this.#o.metrics.errors.inc({ stage: 'enqueue' }, failed.length);
      const first = failed[0];
      this.#o.logger.warn(
        { count: failed.length, schedule: first?.ref.id, err: describeError(first?.error) },
        'enqueue of schedule ticks failed; retrying on the next pass',
      );
      for (const f of failed) this.#retry.set(key(f.ref), f.ref);
    }
    try {
      await this.#o.store.complete(done);
    } catch (err) {
      // The jobs exist; their claims look unfinished and are re-enqueued after the lease (deduped where the backend dedups).
      this.#fail('store', err, 'recording job ids failed');
    }
  }

  async #prune(now: number): Promise<void> {
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    try {
      await this.#o.store.prune(now, 2 * (this.graceMs + this.#o.leaseMs) + PRUNE_EVERY_MS);
    } catch (err) {
      this.#fail('store', err, 'pruning claims failed');
    }
  }

  #fail(stage: 'store' | 'enqueue', err: unknown, msg: string): void {
    this.#o.metrics.errors.inc({ stage });
    this.#o.logger.warn({ err: describeError(err) }, `[scheduler] ${msg}`);
  }
}
