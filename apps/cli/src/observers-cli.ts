import { createIntegrations, loadConfig } from '@fraiseql/core';
import {
  compileObservers,
  installChangeCapture,
  type ObserverRuntime,
  removeChangeCapture,
} from '@fraiseql/observers';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { registerMetricsCommand } from './commands/remote';
import { cliImporter, resolveConfig } from './context';
import { observerRuntimeOf } from './observers-runtime';
import {
  CliError,
  EXIT,
  type Format,
  type Io,
  print,
  printConfigFailure,
  processIo,
  runProgram,
} from './output';

interface Common {
  config?: string;
  format: Format;
}

/** Runs `fn` with the observer runtime of the config (not started: it reads the database) and closes everything. */
async function withRuntime<T>(opts: Common, fn: (runtime: ObserverRuntime) => Promise<T>): Promise<T> {
  const { config } = await resolveConfig(opts);
  if (!config.observers) throw new CliError('the config has no [observers] section', EXIT.usage);
  const integrations = await createIntegrations(config, {
    registry: new Registry(),
    importer: cliImporter(),
  });
  try {
    // Status, debug and the DLQ read the database: no transport needed (nor started).
    const runtime = await observerRuntimeOf(config, integrations, { withTransport: false });
    return await fn(runtime!);
  } finally {
    await integrations.close().catch(() => {});
  }
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError(`${name} must be a positive integer, got ${value}`, EXIT.usage);
  return n;
}

function registerCommands(program: Command, io: Io, run: (p: Promise<number>) => Promise<void>): void {
  const common = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', 'config file (default ./fraiseql.toml)')
      .option('--format <format>', 'table or json', 'table');

  common(program.command('status'))
    .description('Leader, listeners, checkpoint and lag of the group (exit 1 without a leader)')
    .option('--listener <id>', 'only this listener')
    .option('--detailed', 'also breakers and every listener')
    .action((opts: Common & { listener?: string; detailed?: boolean }) =>
      run(
        withRuntime(opts, async (runtime) => {
          const s = await runtime.status();
          const listeners = opts.listener
            ? s.listeners.filter((l) => l.listenerId === opts.listener)
            : s.listeners;
          if (opts.listener && listeners.length === 0)
            throw new CliError(`no listener ${opts.listener} in group ${s.group}`);
          if (opts.format === 'json')
            print(io, 'json', {
              group: s.group,
              leader: s.leader,
              epoch: s.epoch,
              checkpoint: s.checkpoint,
              events_behind: s.eventsBehind,
              healthy_listeners: s.healthyListeners,
              listeners,
              dlq_size: s.dlqSize,
              ...(opts.detailed ? { breakers: s.breakers } : {}),
            });
          else {
            // The seed's scripts grep these labels (`fraiseql-observers status | grep Leader`).
            print(io, 'table', {
              Group: s.group,
              Leader: s.leader ?? '(none)',
              Epoch: s.epoch,
              Checkpoint: s.checkpoint,
              'Events behind': s.eventsBehind,
              'Healthy listeners': s.healthyListeners,
              'DLQ size': s.dlqSize,
            });
            if (opts.detailed || opts.listener) {
              io.out('');
              print(io, 'table', listeners, [
                'listenerId',
                'role',
                'healthy',
                'lastHeartbeatAt',
                'hostname',
                'pid',
              ]);
              if (opts.detailed) {
                io.out('');
                print(
                  io,
                  'table',
                  Object.entries(s.breakers).map(([target, state]) => ({ target, state })),
                );
              }
            }
          }
          return s.leader ? EXIT.ok : EXIT.failure;
        }),
      ),
    );

  common(program.command('debug-event'))
    .description('One event: the observers it matches and every action outcome')
    .option('--event-id <id>', 'change-log id')
    .option('--entity-type <type>', 'with --kind: the latest events of this entity')
    .option('--kind <kind>', 'INSERT, UPDATE, DELETE (or created, updated, deleted)')
    .option('--history <n>', 'how many recent events', '1')
    .action((opts: Common & { eventId?: string; entityType?: string; kind?: string; history: string }) =>
      run(
        withRuntime(opts, async (runtime) => {
          let ids: string[];
          if (opts.eventId) ids = [opts.eventId];
          else if (opts.entityType) {
            const recent = await runtime.recentEvents({
              entity: opts.entityType,
              ...(opts.kind ? { kind: opts.kind } : {}),
              limit: positiveInt(opts.history, '--history'),
            });
            if (recent.length === 0)
              throw new CliError(`no ${opts.kind ?? ''} event of ${opts.entityType} in the change log`);
            ids = recent.map((e) => e.id);
          } else
            throw new CliError('give --event-id N, or --entity-type T [--kind K] [--history N]', EXIT.usage);
          const debugs = [];
          for (const id of ids) debugs.push(await runtime.debugEvent(id));
          if (opts.format === 'json') print(io, 'json', opts.eventId ? debugs[0] : debugs);
          else
            for (const d of debugs) {
              print(io, 'table', {
                event: d.event.id,
                entity: `${d.event.entity} ${d.event.entityId}`,
                kind: d.event.kind,
                created_at: d.event.createdAt,
                matched: d.matchedObservers.join(', ') || '(none)',
                data: d.event.data,
              });
              io.out('');
              print(io, 'table', d.executions, [
                'observer',
                'actionIndex',
                'actionType',
                'status',
                'attempts',
                'durationMs',
                'error',
              ]);
              io.out('');
            }
          return EXIT.ok;
        }),
      ),
    );

  const dlq = program.command('dlq').description('The dead-letter queue of failed actions');
  common(dlq.command('list'))
    .description('Entries, oldest first')
    .option('--limit <n>', 'at most', '20')
    .option('--observer <name>', 'only this observer')
    .action((opts: Common & { limit: string; observer?: string }) =>
      run(
        withRuntime(opts, async (runtime) => {
          const entries = await runtime.dlq.list({
            limit: positiveInt(opts.limit, '--limit'),
            ...(opts.observer ? { observer: opts.observer } : {}),
          });
          print(
            io,
            opts.format,
            opts.format === 'json'
              ? entries
              : entries.map((e) => ({
                  id: e.id,
                  event: e.eventId,
                  observer: e.observer,
                  action: e.action.type,
                  attempts: e.attempts,
                  error: e.error,
                  created_at: e.createdAt,
                })),
          );
          return EXIT.ok;
        }),
      ),
    );
  common(dlq.command('show'))
    .description('One entry (exit 1 when absent)')
    .argument('<id>')
    .action((id: string, opts: Common) =>
      run(
        withRuntime(opts, async (runtime) => {
          print(io, opts.format, await runtime.dlq.get(id));
          return EXIT.ok;
        }),
      ),
    );
  common(dlq.command('retry'))
    .description("Re-run that entry's action once (removed on success; exit 1 when it fails again)")
    .argument('<id>')
    .action((id: string, opts: Common) =>
      run(
        withRuntime(opts, async (runtime) => {
          const summary = await runtime.dlq.retry(id);
          print(io, opts.format, summary);
          return summary.actionsFailed === 0 ? EXIT.ok : EXIT.failure;
        }),
      ),
    );
  common(dlq.command('retry-all'))
    .description('Retry every entry (of one observer); --dry-run only lists them')
    .option('--observer <name>', 'only this observer')
    .option('--dry-run', 'list what would be retried')
    .action((opts: Common & { observer?: string; dryRun?: boolean }) =>
      run(
        withRuntime(opts, async (runtime) => {
          const before = opts.dryRun
            ? undefined
            : (
                await runtime.dlq.retryAll({
                  ...(opts.observer ? { observer: opts.observer } : {}),
                  dryRun: true,
                })
              ).count;
          const r = await runtime.dlq.retryAll({
            ...(opts.observer ? { observer: opts.observer } : {}),
            dryRun: !!opts.dryRun,
          });
          if (opts.format === 'json')
            print(io, 'json', {
              ...r,
              dry_run: !!opts.dryRun,
              ...(before === undefined ? {} : { attempted: before }),
            });
          else
            io.out(
              opts.dryRun
                ? `would retry ${r.count}: ${r.ids.join(', ') || '(none)'}`
                : `retried ${before}, succeeded ${r.count}: ${r.ids.join(', ') || '(none)'}`,
            );
          return before === undefined || r.count === before ? EXIT.ok : EXIT.failure;
        }),
      ),
    );

  program
    .command('validate-config')
    .description('Validate a config file and its observers (exit 2 with every problem listed)')
    .argument('<file>')
    .option('--detailed', 'print each observer')
    .option('--format <format>', 'table or json', 'table')
    .action((file: string, opts: { detailed?: boolean; format: Format }) =>
      run(
        (async () => {
          try {
            const config = await loadConfig(file);
            // `*_env` values are read when the runtime starts; here they only need a well-formed stand-in.
            const defs = (config.observers?.observer ?? []).map((o) => ({
              ...o,
              actions: o.actions.map((a) =>
                Object.fromEntries(
                  Object.entries(a).map(([k, v]) =>
                    k.endsWith('Env') && k !== 'Env'
                      ? [k.slice(0, -3), k === 'urlEnv' ? 'https://from-env.invalid/' : 'from-env']
                      : [k, v],
                  ),
                ),
              ),
            }));
            const observers = compileObservers(defs);
            const rows = observers.map((o) => ({
              name: o.name,
              entity: o.entity,
              events: [...o.events].join(','),
              condition: o.filter.length ? JSON.stringify(o.filter) : '',
              actions: o.actions.map((a) => a.type).join(', '),
              max_attempts: o.retry.maxAttempts,
            }));
            if (opts.format === 'json')
              print(io, 'json', { valid: true, observers: opts.detailed ? rows : rows.length });
            else {
              io.out(`${file}: valid, ${rows.length} observer(s)`);
              if (opts.detailed) print(io, 'table', rows);
            }
            return EXIT.ok;
          } catch (err) {
            return printConfigFailure(io, opts.format, err);
          }
        })(),
      ),
    );

  program
    .command('capture')
    .description(
      'Install (or --remove) change capture on a table: a trigger writing its changes to the change log',
    )
    .requiredOption('--table <table>', 'table or schema.table')
    .option('--entity <name>', 'object_type written to the change log (required unless --remove)')
    .option('--id-column <column>', 'column holding the row id', 'id')
    .option('--remove', 'drop the trigger instead')
    .option('-c, --config <file>', 'config file (default ./fraiseql.toml)')
    .action((opts: { table: string; entity?: string; idColumn: string; remove?: boolean; config?: string }) =>
      run(
        (async () => {
          if (!opts.remove && !opts.entity)
            throw new CliError('--entity is required (the object_type of the events)', EXIT.usage);
          const { config } = await resolveConfig(opts);
          const changeLog = config.observers?.changeLog;
          const integrations = await createIntegrations(
            { ...config, observers: config.observers ?? {} },
            { registry: new Registry(), importer: cliImporter() },
          );
          try {
            const sql = integrations.sql as Parameters<typeof installChangeCapture>[0];
            if (opts.remove)
              await removeChangeCapture(sql, { table: opts.table, ...(changeLog ? { changeLog } : {}) });
            else
              await installChangeCapture(sql, {
                table: opts.table,
                entity: opts.entity!,
                idColumn: opts.idColumn,
                ...(changeLog ? { changeLog } : {}),
              });
            io.out(
              opts.remove
                ? `change capture removed from ${opts.table}`
                : `capturing ${opts.table} as ${opts.entity} into ${changeLog ?? 'tb_entity_change_log'}`,
            );
            return EXIT.ok;
          } finally {
            await integrations.close().catch(() => {});
          }
        })(),
      ),
    );

  registerMetricsCommand(program, io, run);
}

/** The `fraiseql-observers` CLI (seed 001 §8.10). Resolves to the exit code: 0 ok, 1 failure / no leader, 2 usage. */
export function observersMain(argv: string[] = process.argv, io: Io = processIo): Promise<number> {
  return runProgram(
    'fraiseql-observers',
    'Operate the observer runtime: status, event debug, DLQ, config, metrics',
    argv,
    io,
    (program, run) => registerCommands(program, io, run),
  );
}
