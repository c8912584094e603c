import * as z from 'zod';
import { isValidQueueName } from '../validation';
import { leaf, nonNegativeInt, positiveInt, queueName, table } from './leaves';
import type { IntegrationsConfig } from './types';

// `[[schedules]]` (DESIGN §14.1): recurring jobs run by `@fraiseql/scheduler` in `serve` and the
// worker. The cron pattern itself is parsed by the scheduler (croner) when it loads the schedule,
// so a bad pattern is IN002 naming the schedule there; here only its shape is checked.

const scheduleId = leaf<string>(
  'a schedule id: 1-128 characters of letters, digits, "_", ".", ":" and "-"',
  isValidQueueName,
);
const cron = leaf<string>(
  'a cron pattern of 5 or 6 fields (seconds first), like "0 30 2 * * *"',
  (v) => typeof v === 'string' && /^\S+(\s+\S+){4,6}$/.test(v.trim()) && v.length <= 256,
);
const timeZone = leaf<string>('an IANA time zone, like "Europe/Berlin"', (v) => {
  if (typeof v !== 'string' || v.length === 0) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return true;
  } catch {
    return false;
  }
});
const instant = leaf<Date | string>(
  'a date-time (TOML datetime or ISO string)',
  (v) =>
    (v instanceof Date && !Number.isNaN(v.getTime())) ||
    (typeof v === 'string' && !Number.isNaN(Date.parse(v))),
);

const schedule = table(
  {
    id: scheduleId,
    cron: cron.optional(),
    every_ms: positiveInt.optional(),
    tz: timeZone.optional(),
    queue: queueName,
    /** The job data template, kept exactly as written (keys are not camelCased). */
    data: z.unknown().optional(),
    backfill_ms: nonNegativeInt.optional(),
    limit: positiveInt.optional(),
    start_at: instant.optional(),
    end_at: instant.optional(),
    priority: z.number().int().optional(),
    max_retries: nonNegativeInt.optional(),
    timeout_ms: positiveInt.optional(),
  },
  ({ priority, maxRetries, timeoutMs, startAt, endAt, ...rest }) => {
    const opts: Record<string, unknown> = {};
    if (priority !== undefined) opts.priority = priority;
    if (maxRetries !== undefined) opts.maxRetries = maxRetries;
    if (timeoutMs !== undefined) opts.timeoutMs = timeoutMs;
    const out: Record<string, unknown> = { ...rest };
    if (Object.keys(opts).length > 0) out.opts = opts;
    if (startAt !== undefined) out.startAt = new Date(startAt as string);
    if (endAt !== undefined) out.endAt = new Date(endAt as string);
    return out;
  },
).superRefine((s, ctx) => {
  if ((s.cron === undefined) === (s.everyMs === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron or every_ms' });
  }
  if (typeof s.everyMs === 'number' && s.everyMs < 100) {
    ctx.addIssue({ code: 'custom', path: ['every_ms'], message: `expected at least 100 (got ${s.everyMs})` });
  }
});

/** `[[schedules]]`: an array of tables. */
export const schedulesSection = z.array(schedule);

/** Cross-checks: schedule ids are unique. */
export function scheduleCrossChecks(config: IntegrationsConfig): { path: string; message: string }[] {
  const seen = new Map<string, number>();
  const out: { path: string; message: string }[] = [];
  (config.schedules ?? []).forEach((s, i) => {
    const first = seen.get(s.id);
    if (first !== undefined) {
      out.push({
        path: `schedules[${i}].id`,
        message: `duplicate schedule id "${s.id}" (also schedules[${first}])`,
      });
    } else seen.set(s.id, i);
  });
  return out;
}
