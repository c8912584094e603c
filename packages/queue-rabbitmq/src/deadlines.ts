/**
 * Deadlines of publishes waiting for their confirm, checked by one timer for all of them.
 *
 * A timer and a `Promise.race` per publish cost more than the publish itself in a bulk enqueue
 * (1000 messages = 1000 timers). Here one timer is armed for the earliest deadline; when it fires
 * it fails every expired wait and re-arms for the earliest of the rest. Nearly every wait ends
 * (confirmed) long before its deadline, so the timer rarely finds anything to do.
 */
export class Deadlines {
  readonly #waits = new Set<Wait>();
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (epoch ms). */
  #armedFor = Number.POSITIVE_INFINITY;

  /**
   * Calls `expire` at `deadline` (epoch ms) unless the returned `done()` is called first. The
   * timer does not keep the process alive (like the per-call timers it replaces, which were unref'd).
   */
  add(deadline: number, expire: () => void): () => void {
    const wait: Wait = { deadline, expire };
    this.#waits.add(wait);
    if (deadline < this.#armedFor) this.#arm(deadline);
    return () => {
      this.#waits.delete(wait);
    };
  }

  /** Fails nothing; drops every wait and the timer (the connection is gone or closed). */
  clear(): void {
    this.#waits.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const wait of this.#waits) {
      if (wait.deadline <= now) {
        this.#waits.delete(wait);
        wait.expire();
      } else if (wait.deadline < next) next = wait.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };
}

interface Wait {
  deadline: number;
  expire: () => void;
}
