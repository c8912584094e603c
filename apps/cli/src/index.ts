import { registerCache } from './commands/cache';
import { registerFlows } from './commands/flows';
import { registerObserve } from './commands/observe';
import { registerQueue } from './commands/queue';
import { registerRemote } from './commands/remote';
import { registerSchedule } from './commands/schedule';
import { registerSearch } from './commands/search';
import { registerSearchReindex } from './commands/search-reindex';
import { registerServe } from './commands/serve';
import { registerStatus } from './commands/status';
import { type Io, processIo, runProgram } from './output';

export { observe } from './commands/observe';
export { serve } from './commands/serve';
export { observersMain } from './observers-cli';
export { CliError, EXIT, type Io } from './output';

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code: 0 ok,
 * 1 unhealthy / failed / not found, 2 usage or configuration error.
 */
export function main(argv: string[] = process.argv, io: Io = processIo): Promise<number> {
  return runProgram(
    'fraiseql-integrations',
    'Search, cache and background jobs: serve, inspect and operate',
    argv,
    io,
    (program, run) => {
      registerServe(program, io, run);
      registerObserve(program, io, run);
      registerStatus(program, io, run);
      registerRemote(program, io, run);
      registerQueue(program, io, run);
      registerSearch(program, io, run);
      registerSearchReindex(program, io, run);
      registerCache(program, io, run);
      registerFlows(program, io, run);
      registerSchedule(program, io, run);
    },
  );
}
