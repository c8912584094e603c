import { parseConfig } from '@fraiseql/core';
import { MockQueueProvider } from '@fraiseql/mocks';
import { describe, expect, it } from 'vitest';
import { startSchedulesFromConfig } from '../src/index.ts';

const TOML = `
[[schedules]]
id = "nightly-report"
cron = "0 30 2 * * *"
tz = "Europe/Berlin"
queue = "reports"
data = { report_kind = "daily", ids = [1, 2] }
max_retries = 2

[[schedules]]
id = "heartbeat"
every_ms = 10000
queue = "pings"
backfill_ms = 60000
limit = 5
start_at = 2026-01-01T00:00:00Z
`;

describe('[[schedules]] config', () => {
  it('parses, keeps data as written, and startSchedulesFromConfig upserts every entry', async () => {
    const config = parseConfig(TOML);
    expect(config.schedules).toEqual([
      {
        id: 'nightly-report',
        cron: '0 30 2 * * *',
        tz: 'Europe/Berlin',
        queue: 'reports',
        data: { report_kind: 'daily', ids: [1, 2] },
        opts: { maxRetries: 2 },
      },
      {
        id: 'heartbeat',
        everyMs: 10000,
        queue: 'pings',
        backfillMs: 60000,
        limit: 5,
        startAt: new Date('2026-01-01T00:00:00Z'),
      },
    ]);
    const queue = new MockQueueProvider();
    const scheduler = await startSchedulesFromConfig({ config, integrations: { queue }, start: false });
    try {
      const list = await scheduler!.list();
      expect(list.map((s) => [s.id, s.queue, s.tz])).toEqual([
        ['heartbeat', 'pings', 'UTC'],
        ['nightly-report', 'reports', 'Europe/Berlin'],
      ]);
      expect(list[1]?.data).toEqual({ report_kind: 'daily', ids: [1, 2] });
    } finally {
      await scheduler?.stop();
    }
    expect(await startSchedulesFromConfig({ config, integrations: {} })).toBeUndefined();
  });

  it('refuses bad entries with IN002 naming each path', () => {
    const bad = `
[[schedules]]
id = "a b"
cron = "* * * * *"
every_ms = 1000
tz = "Mars/Base"
queue = "q"

[[schedules]]
id = "dup"
every_ms = 50
queue = "q"

[[schedules]]
id = "dup"
cron = "* * * * *"
queue = "also bad"
`;
    let err: { code?: string; message?: string } = {};
    try {
      parseConfig(bad);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('IN002');
    expect(err.message).toMatch(/schedules\[0\]\.id/);
    expect(err.message).toMatch(/schedules\[0\]\.tz/);
    expect(err.message).toMatch(/schedules\[2\]\.queue/);
    const dup = `
[[schedules]]
id = "dup"
every_ms = 1000
queue = "q"

[[schedules]]
id = "dup"
cron = "* * * * *"
queue = "q"
`;
    expect(() => parseConfig(dup)).toThrow(/duplicate schedule id "dup"/);
    expect(() =>
      parseConfig('[[schedules]]\nid = "x"\ncron = "* * * * *"\nevery_ms = 1000\nqueue = "q"\n'),
    ).toThrow(/exactly one of cron or every_ms/);
  });
});
