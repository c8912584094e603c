/**
 * Rejects with `onTimeout()` after `ms` unless `promise` settles first. The timer is unref'd
 * (a pending race never keeps the process alive) and cleared as soon as either side wins.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An Error with `code: 'ETIMEDOUT'`, the shape network clients use, so error mappers see a timeout. */
export function timeoutError(what: string, ms: number): Error & { code: string } {
  const err = new Error(`${what} timed out after ${ms} ms`) as Error & { code: string };
  err.code = 'ETIMEDOUT';
  return err;
}

/**
 * A health probe bounded in time: `false` when it does not answer within `ms`, and `false` when it
 * rejects — a health check reports, it never throws.
 */
export function probeWithTimeout(probe: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref?.();
  });
  return Promise.race([probe.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`; with a signal, resolves early when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
