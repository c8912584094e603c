import type { ServerLogger } from './server';

export interface SignalHandlerOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[];
  /** Longest the graceful close may take before the process exits anyway, in ms. Default 30_000. */
  timeoutMs?: number;
  /** Called with the exit code once closed (0) or on timeout, close failure or a second signal (1). Default `process.exit`. */
  exit?: (code: number) => void;
  logger?: ServerLogger;
}

/**
 * On the first SIGTERM/SIGINT: `server.close()` (in-flight requests finish, then the integrations
 * close), then `exit(0)`; `exit(1)` when that fails or takes longer than `timeoutMs`. A second
 * signal exits at once with 1 (the operator insists). Returns a function that removes the handlers.
 */
export function installSignalHandlers(
  server: { close(): Promise<unknown> },
  opts: SignalHandlerOptions = {},
): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      opts.logger?.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    shuttingDown = true;
    opts.logger?.info({ signal, timeoutMs }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        opts.logger?.error({ timeoutMs }, 'shutdown timed out');
        resolve(1);
      }, timeoutMs);
      // The timer must not be what keeps the process alive once everything else has closed.
      timer.unref();
    });
    const closed = server.close().then(
      () => 0,
      (err: unknown) => {
        opts.logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        return 1;
      },
    );
    void Promise.race([closed, timeout]).then((code) => {
      clearTimeout(timer);
      exit(code);
    });
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
