import { sleep } from '@fraiseql/core';

/**
 * A token bucket: `capacity` tokens, refilled at `perSecond`, starting full. `acquire()` waits
 * for a token (FIFO: callers are served in the order they asked) and never drops a request.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(perSecond: number, capacity: number) {
    this.#rate = perSecond;
    this.#capacity = capacity;
    this.#tokens = capacity;
    this.#last = performance.now();
  }

  acquire(): Promise<void> {
    const turn = this.#queue.then(() => this.#take());
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      // +1 ms: timers may fire a hair early, and a wake-up without a full token would just loop.
      await sleep(Math.ceil(((1 - this.#tokens) / this.#rate) * 1000) + 1);
    }
  }
}
