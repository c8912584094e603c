import { AsyncLocalStorage } from 'node:async_hooks';

/** The PGlite transaction the current async context runs inside, if any. */
export interface TxScope {
  db: object;
  open: boolean;
}

/**
 * Lets a PGlite client notice that it is called from inside its own transaction callback: the
 * engine is single-connection and that call would wait for the transaction forever.
 */
export const txScope = new AsyncLocalStorage<TxScope>();

/**
 * Runs a user callback (notification, reconnect hook) on its own tick, outside any transaction
 * scope and outside the driver's stack, so a throwing or slow callback cannot break a query and
 * a query it starts does not count as "inside the transaction" that delivered the notification.
 */
export function deliver(fn: () => unknown): void {
  txScope.exit(() =>
    setImmediate(() => {
      try {
        const r = fn() as { then?: unknown } | undefined;
        if (r && typeof r.then === 'function') (r as Promise<unknown>).then(undefined, () => {});
      } catch {
        // Documented: exceptions of listener callbacks are ignored.
      }
    }),
  );
}

/** Runs async operations one after another (LISTEN/UNLISTEN/reconnect must not interleave). */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }
}

/** `int8` as a number when exact, else a bigint — PGlite's own rule, applied to `pg` too. */
export function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 3000;
