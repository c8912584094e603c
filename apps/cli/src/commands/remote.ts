import { writeFileSync } from 'node:fs';
import { type ErrorCode, IntegrationError } from '@fraiseql/core';
import { sloRulesYaml } from '@fraiseql/observability';
import type { Command } from 'commander';
import { CliError, EXIT, type Format, type Io, print } from '../output';

const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ServerRequest {
  method?: string;
  /** A JSON value (sent as application/json) or raw text (sent as text/plain). */
  json?: unknown;
  text?: string;
  /** Statuses handed back to the caller instead of becoming an error (e.g. 404 for "absent"). */
  accept?: number[];
}

/**
 * A request to a running server. The token comes from FRAISEQL_API_TOKEN. A non-2xx answer that is
 * not in `accept` throws: the server's §2 error body becomes the same IntegrationError a direct call
 * would have thrown (same message, same exit code), anything else a CliError with its body.
 */
export async function requestServer(base: string, path: string, req: ServerRequest = {}): Promise<Response> {
  const token = process.env.FRAISEQL_API_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.text !== undefined) {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = req.text;
  }
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method: req.method ?? 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the server at ${base}: ${(err as Error).message} (is \`fraiseql-integrations serve\` running? use --url)`,
    );
  }
  if (res.ok || req.accept?.includes(res.status)) return res;
  const text = await res.text();
  const e = errorBody(text);
  if (e) throw e;
  throw new CliError(`${base}${path} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
}

/** The IntegrationError of a §2 error body, or undefined when the body is something else. */
function errorBody(text: string): IntegrationError | undefined {
  try {
    const b = JSON.parse(text) as { error?: Record<string, string> };
    const e = b?.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
    return new IntegrationError(e.code as ErrorCode, e.message, {
      ...(e.provider ? { provider: e.provider } : {}),
      ...(e.resource_type ? { resourceType: e.resource_type } : {}),
      ...(e.field ? { field: e.field } : {}),
    });
  } catch {
    return undefined;
  }
}

/** A GET (or `method`) to a running server whose /metrics, /slo and /flows are per-process. */
export function fetchServer(base: string, path: string, method = 'GET'): Promise<Response> {
  return requestServer(base, path, { method });
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
