import { Cron } from 'croner';

/** What decides when a schedule's ticks are: the normalised timing fields of a schedule. */
export interface TimingDef {
  cron?: string;
  everyMs?: number;
  tz: string;
  startAtMs?: number;
  endAtMs?: number;
}

/** Computes the ticks (epoch ms) of one schedule. */
export interface Timing {
  /** The first tick strictly after `afterMs`, inside startAt/endAt; null when there is none. */
  next(afterMs: number): number | null;
}

/**
 * Builds the tick function of a schedule. Throws croner's error for a bad pattern or time zone
 * (the caller wraps it). Cron handles DST as croner 11 does: a wall-clock time skipped by a
 * spring-forward runs once at the end of the gap (02:30 → 03:00), a repeated hour on fall-back runs
 * a fixed-hour pattern once.
 */
export function makeTiming(def: TimingDef): Timing {
  const start = def.startAtMs;
  const end = def.endAtMs;
  const inWindow = (t: number | null): number | null =>
    t === null || (end !== undefined && t > end) ? null : t;
  if (def.everyMs !== undefined) {
    const every = def.everyMs;
    const anchor = start ?? 0;
    return {
      next(after) {
        if (after < anchor) return inWindow(anchor);
        return inWindow(anchor + (Math.floor((after - anchor) / every) + 1) * every);
      },
    };
  }
  const c = cronOf(def.cron as string, def.tz);
  return {
    next(after) {
      const from = start !== undefined && after < start ? start - 1 : after;
      // Schedules sharing a pattern ask for the same tick in a row (10,000 of them on one minute
      // boundary): the pattern's last answer is reused, croner runs once per distinct `from`.
      if (c.from !== from) {
        c.t = cronNext(c.cron, from);
        c.from = from;
      }
      return c.t === null ? null : inWindow(c.t);
    },
  };
}

/** One croner instance per (pattern, zone), with its last answer. */
interface SharedCron {
  cron: Cron;
  from: number;
  t: number | null;
}
const crons = new Map<string, SharedCron>();
const MAX_CRONS = 10_000;

function cronOf(pattern: string, tz: string): SharedCron {
  const key = `${tz}\u0000${pattern}`;
  let c = crons.get(key);
  if (!c) {
    const cron = new Cron(pattern, { timezone: tz, paused: true });
    // Forces the time-zone conversion now, so a bad zone fails at upsert, not at the first tick.
    cron.nextRun(new Date(0));
    if (crons.size >= MAX_CRONS) crons.clear();
    c = { cron, from: Number.NaN, t: null };
    crons.set(key, c);
  }
  return c;
}

/** The first tick of `cron` strictly after `from` (epoch ms), null when none. */
function cronNext(cron: Cron, from: number): number | null {
  const d = cron.nextRun(new Date(from));
  if (!d) return null;
  const t = d.getTime();
  if (t > from) return t;
  // croner works in whole seconds: make sure the tick is strictly after `from`.
  const d2 = cron.nextRun(new Date(from + 1000 - (from % 1000)));
  return d2 ? d2.getTime() : null;
}

/**
 * The next `count` ticks of a schedule after `after` (default now), for display (`schedule list`).
 * Throws croner's error for a bad pattern or zone.
 */
export function nextRuns(
  s: { cron?: string; everyMs?: number; tz?: string; startAt?: Date; endAt?: Date },
  count: number,
  after: number = Date.now(),
): Date[] {
  const def: TimingDef = { tz: s.tz ?? 'UTC' };
  if (s.cron !== undefined) def.cron = s.cron;
  if (s.everyMs !== undefined) def.everyMs = s.everyMs;
  if (s.startAt) def.startAtMs = new Date(s.startAt).getTime();
  if (s.endAt) def.endAtMs = new Date(s.endAt).getTime();
  const timing = makeTiming(def);
  const out: Date[] = [];
  let t = timing.next(after);
  while (out.length < count && t !== null) {
    out.push(new Date(t));
    t = timing.next(t);
  }
  return out;
}
