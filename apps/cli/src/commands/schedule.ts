import { createIntegrations, type IntegrationsConfig } from '@fraiseql/core';
import { nextRuns, type ScheduleInput, startSchedulesFromConfig } from '@fraiseql/scheduler';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { cliImporter, resolveConfig, withIntegrations } from '../context';
import { CliError, EXIT, type Format, type Io, print, type Runner } from '../output';
import { requestServer } from './remote';

interface Opts {
  config?: string;
  url?: string;
  format: Format;
}

/** The operations, served by a running server (`/schedules`) or by a scheduler on the config's store. */
interface Admin {
  list(): Promise<Record<string, unknown>[]>;
  upsert(s: ScheduleInput): Promise<Record<string, unknown>>;
  remove(id: string): Promise<boolean>;
  runNow(id: string): Promise<string>;
}

const enc = encodeURIComponent;

function remoteAdmin(url: string): Admin {
  return {
    list: async () => (await requestServer(url, '/schedules')).json() as Promise<Record<string, unknown>[]>,
    upsert: async (s) => {
      const { id, ...body } = s;
      const res = await requestServer(url, `/schedules/${enc(id)}`, { method: 'PUT', json: body });
      return (await res.json()) as Record<string, unknown>;
    },
    remove: async (id) =>
      (await requestServer(url, `/schedules/${enc(id)}`, { method: 'DELETE', accept: [404] })).status !== 404,
    runNow: async (id) =>
      (
        (await (await requestServer(url, `/schedules/${enc(id)}/run`, { method: 'POST' })).json()) as {
          id: string;
        }
      ).id,
  };
}

/** Runs `fn` on the server's schedules when one runs (`--url` or its server file), else on the config's store. */
async function withAdmin(opts: Opts, fn: (a: Admin) => Promise<number>): Promise<number> {
  return withIntegrations(opts, async (i) => {
    const url = (i as { url?: unknown }).url;
    if (typeof url === 'string') return fn(remoteAdmin(url));
    const { config } = await resolveConfig(opts);
    return direct(config, fn);
  });
}

async function direct(config: IntegrationsConfig, fn: (a: Admin) => Promise<number>): Promise<number> {
  const integrations = await createIntegrations(config, {
    registry: new Registry(),
    importer: cliImporter(),
  });
  try {
    const s = await startSchedulesFromConfig({
      config: { ...config, schedules: [] },
      integrations,
      start: false,
    });
    if (!s) throw new CliError('schedules need a queue: add a [queues] section', EXIT.usage);
    try {
      return await fn({
        list: () => s.list() as unknown as Promise<Record<string, unknown>[]>,
        upsert: async (x) => {
          await s.upsert(x);
          return ((await s.list()).find((y) => y.id === x.id) ?? { id: x.id }) as unknown as Record<
            string,
            unknown
          >;
        },
        remove: (id) => s.remove(id),
        runNow: (id) => s.runNow(id),
      });
    } finally {
      await s.stop();
    }
  } finally {
    await integrations.close().catch(() => {});
  }
}

/** `2026-03-29 03:00:00 Europe/Berlin`: a run shown in its schedule's own zone. */
function inZone(d: Date, tz: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' });
  return `${f.format(d)} ${tz}`;
}

function row(s: Record<string, unknown>, count: number): Record<string, unknown> {
  const tz = (s.tz as string | undefined) ?? 'UTC';
  let next: string[] = [];
  try {
    const spent = s.limit !== undefined && Number(s.firedCount) >= Number(s.limit);
    next = spent ? [] : nextRuns(s as Parameters<typeof nextRuns>[0], count).map((d) => inZone(d, tz));
  } catch {
    next = [];
  }
  return {
    id: s.id,
    schedule: s.cron ?? `every ${s.everyMs} ms`,
    tz,
    queue: s.queue,
    next: next.join(', ') || '-',
    last: s.lastRun ? inZone(new Date(s.lastRun as string), tz) : '-',
    lastJobId: s.lastJobId ?? '-',
    fired: s.firedCount ?? 0,
  };
}

function parseData(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--data must be JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new CliError(`${name} must be an integer, got ${v}`, EXIT.usage);
  return n;
}

/** `schedule list|add|remove|run-now` (DESIGN §14.1). */
export function registerSchedule(program: Command, io: Io, run: Runner): void {
  const common = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', 'config file')
      .option('--url <url>', 'a running server (default: the one serving the embedded data, else the config)')
      .option('--format <format>', 'table or json', 'table');
  const schedule = program
    .command('schedule')
    .description('Recurring jobs: cron or interval schedules on a queue');

  common(schedule.command('list').option('--next <n>', 'next runs shown per schedule', '1')).action(
    (opts: Opts & { next: string }) =>
      run(
        withAdmin(opts, async (a) => {
          const list = await a.list();
          const count = Math.max(1, Math.min(int(opts.next, '--next') ?? 1, 20));
          if (opts.format === 'json') {
            print(
              io,
              'json',
              list.map((s) => ({ ...s, nextRuns: row(s, count).next })),
            );
          } else
            print(
              io,
              'table',
              list.map((s) => row(s, count)),
            );
          return EXIT.ok;
        }),
      ),
  );

  common(
    schedule
      .command('add')
      .argument('<id>')
      .requiredOption('--queue <queue>', 'queue the jobs go to')
      .option('--cron <pattern>', 'cron pattern, seconds optional first ("0 30 2 * * *")')
      .option('--every-ms <ms>', 'fixed interval in milliseconds')
      .option('--tz <zone>', 'IANA time zone of the cron pattern', 'UTC')
      .option('--data <json>', 'job data (JSON)')
      .option('--backfill-ms <ms>', 'enqueue ticks missed while down when at most this old')
      .option('--limit <n>', 'stop after this many runs'),
  ).action(
    (
      id: string,
      opts: Opts & {
        queue: string;
        cron?: string;
        everyMs?: string;
        tz: string;
        data?: string;
        backfillMs?: string;
        limit?: string;
      },
    ) =>
      run(
        withAdmin(opts, async (a) => {
          const s: ScheduleInput = { id, queue: opts.queue, tz: opts.tz };
          if (opts.cron !== undefined) s.cron = opts.cron;
          const every = int(opts.everyMs, '--every-ms');
          if (every !== undefined) s.everyMs = every;
          const data = parseData(opts.data);
          if (data !== undefined) s.data = data;
          const backfill = int(opts.backfillMs, '--backfill-ms');
          if (backfill !== undefined) s.backfillMs = backfill;
          const limit = int(opts.limit, '--limit');
          if (limit !== undefined) s.limit = limit;
          const saved = await a.upsert(s);
          print(io, opts.format, opts.format === 'json' ? saved : row(saved, 3));
          return EXIT.ok;
        }),
      ),
  );

  common(schedule.command('remove').argument('<id>')).action((id: string, opts: Opts) =>
    run(
      withAdmin(opts, async (a) => {
        const removed = await a.remove(id);
        print(io, opts.format, { id, removed });
        return removed ? EXIT.ok : EXIT.failure;
      }),
    ),
  );

  common(schedule.command('run-now').argument('<id>')).action((id: string, opts: Opts) =>
    run(
      withAdmin(opts, async (a) => {
        print(io, opts.format, { schedule: id, jobId: await a.runNow(id) });
        return EXIT.ok;
      }),
    ),
  );
}
