/**
 * Collects items while one flush is in flight and writes them all in the next one: no timer, no
 * added latency when idle, and one round trip for everything that finished meanwhile.
 */
export class Batcher<T, R> {
  #pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #flushing = false;

  constructor(private readonly write: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 1000);
      try {
        const results = await this.write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(results[i]!);
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#flushing = false;
  }
}
