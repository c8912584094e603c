import { Command, CommanderError } from 'commander';
import { registerCache } from './commands/cache';
import { registerObserve } from './commands/observe';
import { registerQueue } from './commands/queue';
import { registerRemote } from './commands/remote';
import { registerSearch } from './commands/search';
import { registerServe } from './commands/serve';
import { registerStatus } from './commands/status';
import { CliError, describeFailure, EXIT, type Io, processIo } from './output';

export { observe } from './commands/observe';
export { serve } from './commands/serve';
export { observersMain } from './observers-cli';
export { CliError, EXIT, type Io } from './output';

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code: 0 ok,
 * 1 unhealthy / failed / not found, 2 usage or configuration error.
 */
export async function main(argv: string[] = process.argv, io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const run = async (p: Promise<number>) => {
    try {
      code = await p;
    } catch (err) {
      io.err(describeFailure(err));
      const e = err as { code?: unknown; kind?: string };
      code =
        err instanceof CliError
          ? err.code
          : e.kind === 'configuration' || e.kind === 'invalid_input'
            ? EXIT.usage
            : EXIT.failure;
    }
  };
  const program = new Command()
    .name('fraiseql-integrations')
    .description('Search, cache and background jobs: serve, inspect and operate')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerServe(program, io, run);
  registerObserve(program, io, run);
  registerStatus(program, io, run);
  registerRemote(program, io, run);
  registerQueue(program, io, run);
  registerSearch(program, io, run);
  registerCache(program, io, run);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.err(describeFailure(err));
    return EXIT.failure;
  }
  return code;
}
