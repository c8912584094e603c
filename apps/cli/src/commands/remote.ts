import { writeFileSync } from 'node:fs';
import { sloRulesYaml } from '@fraiseql/observability';
import type { Command } from 'commander';
import { CliError, EXIT, type Format, type Io, print } from '../output';

const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * A request to a running server (its /metrics, /slo and /flows are per-process, so they are read
 * from it). The token comes from FRAISEQL_API_TOKEN; a non-2xx answer is a CliError with its body.
 */
export async function fetchServer(base: string, path: string, method = 'GET'): Promise<Response> {
  const token = process.env.FRAISEQL_API_TOKEN;
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the server at ${base}: ${(err as Error).message} (is \`fraiseql-integrations serve\` running? use --url)`,
    );
  }
  if (!res.ok)
    throw new CliError(`${base}${path} answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res;
}

export const DEFAULT_SERVER_URL = DEFAULT_URL;

/** `metrics [--metric NAME] [--url URL]`: shared by `fraiseql-integrations` and `fraiseql-observers`. */
export function registerMetricsCommand(
  program: Command,
  io: Io,
  run: (p: Promise<number>) => Promise<void>,
): void {
  program
    .command('metrics')
    .description("Print a running server's Prometheus metrics")
    .option('--url <url>', 'server URL', DEFAULT_URL)
    .option('--metric <name>', 'only series whose name starts with this')
    .option('--format <format>', 'table (Prometheus text) or json', 'table')
    .action((opts: { url: string; metric?: string; format: Format }) =>
      run(
        (async () => {
          const text = await (await fetchServer(opts.url, '/metrics')).text();
          const lines = text
            .split('\n')
            .filter((l) => l && (!opts.metric || l.replace(/^# (HELP|TYPE) /, '').startsWith(opts.metric)));
          if (opts.format === 'json') {
            const samples = lines
              .filter((l) => !l.startsWith('#'))
              .map((l) => {
                const m = /^([^{ ]+)(\{[^}]*\})? (\S+)/.exec(l);
                return m ? { name: m[1], labels: m[2] ?? '', value: Number(m[3]) } : { raw: l };
              });
            print(io, 'json', samples);
          } else io.out(lines.join('\n') || '(no matching metric)');
          return opts.metric && lines.length === 0 ? EXIT.failure : EXIT.ok;
        })(),
      ),
    );
}

export function registerRemote(program: Command, io: Io, run: (p: Promise<number>) => Promise<void>): void {
  registerMetricsCommand(program, io, run);

  const slo = program.command('slo').description('Service level objectives');
  slo
    .command('status')
    .description("A running server's in-process SLO budgets (the budget of record is Prometheus)")
    .option('--url <url>', 'server URL', DEFAULT_URL)
    .option('--format <format>', 'table or json', 'table')
    .action((opts: { url: string; format: Format }) =>
      run(
        (async () => {
          const body = (await (await fetchServer(opts.url, '/slo')).json()) as {
            withinSlo?: boolean;
            operations?: Record<string, number>;
            snapshots?: {
              name: string;
              total: number;
              violations: number;
              errorBudgetRemaining: number;
              config: { targetLatencyMs: number; targetAvailability: number };
            }[];
          };
          if (opts.format === 'json') print(io, 'json', body);
          else {
            const rows = (body.snapshots ?? []).map((s) => ({
              operation: s.name,
              target: `${s.config.targetLatencyMs} ms @ ${s.config.targetAvailability * 100}%`,
              requests: s.total,
              violations: s.violations,
              budget: `${(s.errorBudgetRemaining * 100).toFixed(1)}%`,
            }));
            print(
              io,
              'table',
              rows.length
                ? rows
                : Object.entries(body.operations ?? {}).map(([operation, b]) => ({ operation, budget: b })),
            );
          }
          return body.withinSlo === false ? EXIT.failure : EXIT.ok;
        })(),
      ),
    );
  slo
    .command('rules')
    .description('Prometheus recording rules and multi-window burn-rate alerts for every SLO')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action((opts: { out?: string }) =>
      run(
        (async () => {
          const yaml = sloRulesYaml();
          if (opts.out) {
            writeFileSync(opts.out, yaml);
            io.err(`wrote ${opts.out}`);
          } else io.out(yaml);
          return EXIT.ok;
        })(),
      ),
    );
}
