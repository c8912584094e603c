import { loadConfig } from '@fraiseql/core';
import type { Command } from 'commander';
import { withIntegrations } from '../context';
import { describeFailure, EXIT, type Format, type Io, print, printConfigFailure } from '../output';

/** `status`: health, breaker state and budget of every configured provider; exit 1 when one is unhealthy. */
export function registerStatus(program: Command, io: Io, run: (p: Promise<number>) => Promise<void>): void {
  program
    .command('status')
    .description('Check every configured provider (exit 1 when one is unhealthy)')
    .option('-c, --config <file>', 'config file')
    .option('--format <format>', 'table or json', 'table')
    .option(
      '--url <url>',
      'operate through this running server (default: the `serve` holding the data directory, if any)',
    )
    .action((opts: { config?: string; url?: string; format: Format }) =>
      run(
        withIntegrations(opts, async (i) => {
          const status = await i.service.status();
          const rows = Object.entries(status).map(([provider, s]) => ({
            provider,
            healthy: s.healthy,
            breaker: s.breaker,
            check_ms: s.checkLatencyMs,
            budget: `${(s.budgetRemaining * 100).toFixed(1)}%`,
          }));
          print(io, opts.format, opts.format === 'json' ? status : rows);
          return rows.every((r) => r.healthy) ? EXIT.ok : EXIT.failure;
        }).catch((err: unknown) => {
          // A backend that cannot even start is the most unhealthy status of all: say so, exit 1.
          const e = err as { code?: string; message?: string; kind?: string };
          if (e.kind === 'configuration' && e.code !== 'IN004') throw err;
          if (opts.format === 'json')
            print(io, 'json', { healthy: false, error: { code: e.code, message: describeFailure(err) } });
          else io.err(`unhealthy: ${describeFailure(err)}`);
          return EXIT.failure;
        }),
      ),
    );

  program
    .command('validate-config')
    .description('Validate a config file (exit 2 with every problem listed when it is invalid)')
    .argument('<file>')
    .option('--detailed', 'print the parsed configuration')
    .option('--format <format>', 'table or json', 'table')
    .action((file: string, opts: { detailed?: boolean; format: Format }) =>
      run(
        (async () => {
          try {
            const config = await loadConfig(file);
            if (opts.format === 'json')
              print(io, 'json', { valid: true, ...(opts.detailed ? { config } : {}) });
            else {
              io.out(`${file}: valid`);
              const sections = (['search', 'cache', 'queues', 'postgres', 'observers'] as const).filter(
                (s) => config[s],
              );
              io.out(`sections: ${sections.join(', ') || '(none: the apps use the embedded defaults)'}`);
              if (opts.detailed) io.out(JSON.stringify(config, null, 2));
            }
            return EXIT.ok;
          } catch (err) {
            return printConfigFailure(io, opts.format, err);
          }
        })(),
      ),
    );
}
