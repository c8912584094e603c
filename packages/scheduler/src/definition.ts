import { type EnqueueOptions, isValidQueueName } from '@fraiseql/core';
import { invalidSchedule, show } from './errors';
import { makeTiming, type Timing } from './timing';
import type { ScheduleInput } from './types';

/** Same alphabet as queue names: safe in Redis keys, dedup keys, URLs and log lines. */
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Shortest interval: below it the tick loop and the stores would be the bottleneck, not the queue. */
export const MIN_EVERY_MS = 100;

/** A schedule as stored: validated, JSON-friendly (dates as epoch ms). */
export interface ScheduleDef {
  id: string;
  cron?: string;
  everyMs?: number;
  tz: string;
  queue: string;
  data: unknown;
  opts?: EnqueueOptions;
  backfillMs: number;
  startAtMs?: number;
  endAtMs?: number;
  limit?: number;
}

/** Throws a clear error when `id` is not a valid schedule id. */
export function assertScheduleId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw invalidSchedule(
      undefined,
      `invalid id ${show(id)}: use 1-128 characters of A-Z a-z 0-9 _ . : -`,
      'id',
    );
  }
}

function dateMs(id: string, value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalidSchedule(id, `${field} must be a valid Date`, field);
  return ms;
}

function nonNegInt(id: string, value: unknown, field: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidSchedule(id, `${field} must be an integer ≥ ${min}, got ${String(value)}`, field);
  }
  return value;
}

function json(id: string, data: unknown): unknown {
  if (data === undefined) return {};
  try {
    const text = JSON.stringify(data);
    if (text === undefined) throw new Error('not JSON');
    return JSON.parse(text);
  } catch (err) {
    throw invalidSchedule(id, `data must be JSON (${(err as Error).message})`, 'data');
  }
}

/** Validates a schedule and returns its stored form plus its tick function. */
export function normalize(s: ScheduleInput): { def: ScheduleDef; timing: Timing } {
  if (s === null || typeof s !== 'object') throw invalidSchedule(undefined, 'must be an object', 'schedule');
  assertScheduleId(s.id);
  const id = s.id;
  if (!isValidQueueName(s.queue)) {
    throw invalidSchedule(
      id,
      `invalid queue name ${show(s.queue)}: use 1-128 characters of A-Z a-z 0-9 _ . : -`,
      'queue',
    );
  }
  if ((s.cron === undefined) === (s.everyMs === undefined)) {
    throw invalidSchedule(id, 'give exactly one of cron or everyMs', 'cron');
  }
  if (s.cron !== undefined && (typeof s.cron !== 'string' || s.cron.length > 256)) {
    throw invalidSchedule(id, `invalid cron ${show(s.cron)}`, 'cron');
  }
  const everyMs = nonNegInt(id, s.everyMs, 'everyMs', MIN_EVERY_MS);
  if (s.tz !== undefined && (typeof s.tz !== 'string' || s.tz.length === 0 || s.tz.length > 64)) {
    throw invalidSchedule(id, `invalid time zone ${show(s.tz)}`, 'tz');
  }
  if (s.opts !== undefined && (s.opts === null || typeof s.opts !== 'object')) {
    throw invalidSchedule(id, 'opts must be an object of enqueue options', 'opts');
  }
  const def: ScheduleDef = {
    id,
    tz: s.tz ?? 'UTC',
    queue: s.queue,
    data: json(id, s.data),
    backfillMs: nonNegInt(id, s.backfillMs, 'backfillMs', 0) ?? 0,
  };
  if (s.cron !== undefined) def.cron = s.cron.trim();
  if (everyMs !== undefined) def.everyMs = everyMs;
  if (s.opts !== undefined) def.opts = json(id, s.opts) as EnqueueOptions;
  const startAtMs = dateMs(id, s.startAt, 'startAt');
  const endAtMs = dateMs(id, s.endAt, 'endAt');
  if (startAtMs !== undefined) def.startAtMs = startAtMs;
  if (endAtMs !== undefined) def.endAtMs = endAtMs;
  if (startAtMs !== undefined && endAtMs !== undefined && endAtMs < startAtMs) {
    throw invalidSchedule(id, 'endAt is before startAt', 'endAt');
  }
  const limit = nonNegInt(id, s.limit, 'limit', 1);
  if (limit !== undefined) def.limit = limit;
  return { def, timing: timingOf(def) };
}

/** The tick function of a stored schedule; bad cron or zone → IN002 naming the schedule. */
export function timingOf(def: ScheduleDef): Timing {
  try {
    return makeTiming(def);
  } catch (err) {
    const what = /timezone|time zone/i.test((err as Error).message)
      ? `invalid time zone ${show(def.tz)}`
      : `invalid cron ${show(def.cron)}`;
    throw invalidSchedule(
      def.id,
      `${what}: ${(err as Error).message}`,
      what.includes('zone') ? 'tz' : 'cron',
    );
  }
}

/** The ScheduleInput-shaped view of a stored def (dates back to Date). */
export function toInput(def: ScheduleDef): ScheduleInput {
  const out: ScheduleInput = {
    id: def.id,
    queue: def.queue,
    data: def.data,
    tz: def.tz,
    backfillMs: def.backfillMs,
  };
  if (def.cron !== undefined) out.cron = def.cron;
  if (def.everyMs !== undefined) out.everyMs = def.everyMs;
  if (def.opts !== undefined) out.opts = def.opts;
  if (def.startAtMs !== undefined) out.startAt = new Date(def.startAtMs);
  if (def.endAtMs !== undefined) out.endAt = new Date(def.endAtMs);
  if (def.limit !== undefined) out.limit = def.limit;
  return out;
}
