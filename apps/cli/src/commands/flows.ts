import type { Command } from 'commander';
import { EXIT, type Format, type Io, print, type Runner } from '../output';
import { DEFAULT_SERVER_URL, fetchServer } from './remote';

interface Remote {
  url: string;
  format: Format;
}

const enc = encodeURIComponent;

async function call(opts: Remote, path: string, method = 'GET'): Promise<unknown> {
  return (await fetchServer(opts.url, path, method)).json();
}

/**
 * `flow list|status|start|stop|logs`, `connector list|test`, `plugin list|status` (DESIGN §10.5, the
 * seed's `integration flow logs` / `connector test` / `plugin status`): they operate the flows of a
 * running server, where the engine lives.
 */
export function registerFlows(program: Command, io: Io, run: Runner): void {
  const remote = (cmd: Command) =>
    cmd
      .option('--url <url>', 'server URL', DEFAULT_SERVER_URL)
      .option('--format <format>', 'table or json', 'table');

  const flow = program.command('flow').description('Integration flows of a running server');
  remote(flow.command('list')).action((opts: Remote) =>
    run(
      (async () => {
        print(io, opts.format, await call(opts, '/flows'), [
          'name',
          'state',
          'processed',
          'failed',
          'dlq',
          'inFlight',
          'lastError',
        ]);
        return EXIT.ok;
      })(),
    ),
  );
  for (const [name, method, what] of [
    ['status', 'GET', ''],
    ['start', 'POST', '/start'],
    ['stop', 'POST', '/stop'],
  ] as const)
    remote(flow.command(name).argument('<name>')).action((flowName: string, opts: Remote) =>
      run(
        (async () => {
          const status = (await call(opts, `/flows/${enc(flowName)}${what}`, method)) as { state?: string };
          print(io, opts.format, status);
          return name === 'status' && status.state === 'failed' ? EXIT.failure : EXIT.ok;
        })(),
      ),
    );
  remote(flow.command('logs').argument('<name>').option('--limit <n>', 'records', '100')).action(
    (flowName: string, opts: Remote & { limit: string }) =>
      run(
        (async () => {
          print(io, opts.format, await call(opts, `/flows/${enc(flowName)}/logs?limit=${enc(opts.limit)}`));
          return EXIT.ok;
        })(),
      ),
  );

  const connector = program.command('connector').description('Connectors of a running server');
  remote(connector.command('list')).action((opts: Remote) =>
    run(
      (async () => {
        const list = (await call(opts, '/connectors')) as {
          name: string;
          type: string;
          health?: { ok: boolean; latencyMs: number; detail?: string };
        }[];
        if (opts.format === 'json') print(io, 'json', list);
        else
          print(
            io,
            opts.format,
            list.map((c) => ({
              name: c.name,
              type: c.type,
              health: c.health ? (c.health.ok ? 'ok' : 'unhealthy') : 'unknown',
              latency_ms: c.health?.latencyMs ?? '',
              detail: c.health?.detail ?? '',
            })),
            ['name', 'type', 'health', 'latency_ms', 'detail'],
          );
        // Exit 1 when a connector is unhealthy, as `status` does for providers.
        return list.every((c) => c.health?.ok !== false) ? EXIT.ok : EXIT.failure;
      })(),
    ),
  );
  remote(connector.command('test').argument('<name>')).action((name: string, opts: Remote) =>
    run(
      (async () => {
        const r = (await call(opts, `/connectors/${enc(name)}/test`, 'POST')) as { ok: boolean };
        print(io, opts.format, r);
        return r.ok ? EXIT.ok : EXIT.failure;
      })(),
    ),
  );

  const plugin = program.command('plugin').description('Plugins of a running server');
  remote(plugin.command('list')).action((opts: Remote) =>
    run(
      (async () => {
        print(io, opts.format, await call(opts, '/plugins'), ['name', 'version', 'state', 'error']);
        return EXIT.ok;
      })(),
    ),
  );
  remote(plugin.command('status').argument('<name>')).action((name: string, opts: Remote) =>
    run(
      (async () => {
        const all = (await call(opts, '/plugins')) as { name: string; state: string }[];
        const found = all.find((p) => p.name === name);
        if (!found) {
          io.err(`no plugin named ${name}`);
          return EXIT.failure;
        }
        print(io, opts.format, found);
        return found.state === 'active' ? EXIT.ok : EXIT.failure;
      })(),
    ),
  );
}
