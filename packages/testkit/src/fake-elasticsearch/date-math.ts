import { parseDate } from './mapping';

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, H: 3600e3, d: 864e5, w: 7 * 864e5 };

/**
 * A range bound: a number, an ISO/epoch date, or date math (`now-24h`, `now-1d/d`,
 * `2026-01-01||+1M`). Months and years shift the calendar (UTC); rounding `/d` etc. is applied down
 * for `gte`/`lt` and up for `gt`/`lte`, as Elasticsearch does.
 */
export function dateBound(v: unknown, roundUp: boolean, now = Date.now()): number | undefined {
  if (typeof v !== 'string') return parseDate(v);
  let anchor: number | undefined;
  let rest: string;
  if (v.startsWith('now')) {
    anchor = now;
    rest = v.slice(3);
  } else {
    const at = v.indexOf('||');
    if (at < 0) return parseDate(v);
    anchor = parseDate(v.slice(0, at));
    rest = v.slice(at + 2);
  }
  if (anchor === undefined) return undefined;
  let t = anchor;
  for (const m of rest.matchAll(/([+-]\d+|\/)([yMwdhHms])/g)) {
    const [, op, unit] = m;
    const d = new Date(t);
    if (op === '/') {
      const parts = [d.getUTCFullYear(), unit === 'y' ? 0 : d.getUTCMonth(), 1, 0, 0, 0, 0];
      if ('dhHms'.includes(unit!) || unit === 'w') parts[2] = d.getUTCDate();
      if ('hHms'.includes(unit!)) parts[3] = d.getUTCHours();
      if ('ms'.includes(unit!)) parts[4] = d.getUTCMinutes();
      if (unit === 's') parts[5] = d.getUTCSeconds();
      let start = Date.UTC(parts[0]!, parts[1]!, parts[2]!, parts[3]!, parts[4]!, parts[5]!);
      if (unit === 'w') start -= ((new Date(start).getUTCDay() + 6) % 7) * 864e5;
      if (roundUp) {
        const next = new Date(start);
        if (unit === 'y') next.setUTCFullYear(next.getUTCFullYear() + 1);
        else if (unit === 'M') next.setUTCMonth(next.getUTCMonth() + 1);
        else next.setTime(start + UNIT_MS[unit!]!);
        t = next.getTime() - 1;
      } else t = start;
      continue;
    }
    const n = Number(op);
    if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
    else if (unit === 'M') d.setUTCMonth(d.getUTCMonth() + n);
    else d.setTime(t + n * UNIT_MS[unit!]!);
    t = d.getTime();
  }
  return t;
}
