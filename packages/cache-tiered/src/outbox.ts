import type { Bus } from './bus';
import { encodeMessage } from './bus';
import type { TierMetrics } from './metrics';

/** NOTIFY payloads must stay under 8000 bytes; Redis has no such limit but big messages cost too. */
const MAX_PAYLOAD_BYTES = 7_500;

interface Batch {
  keys: string[];
  patterns: string[];
  done: Promise<void>;
}

/**
 * Collects the invalidations of one event-loop turn into as few bus messages as fit a payload,
 * so a burst of writes costs one publish, not one each. `send` resolves once its message was
 * published (or failed: the write already happened in L2, so a failed publish is reported, not thrown).
 */
export class Outbox {
  readonly #bus: Bus;
  readonly #id: string;
  readonly #m: TierMetrics;
  readonly #onError: (err: Error) => void;
  #batch: Batch | undefined;

  constructor(bus: Bus, instanceId: string, metrics: TierMetrics, onError: (err: Error) => void) {
    this.#bus = bus;
    this.#id = instanceId;
    this.#m = metrics;
    this.#onError = onError;
  }

  send(key?: string, pattern?: string): Promise<void> {
    let b = this.#batch;
    if (!b) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      const batch: Batch = { keys: [], patterns: [], done };
      b = this.#batch = batch;
      // Once the microtasks of this turn drained: writes answered by the same L2 reply reach
      // `send` in those microtasks, so they share the message, and nothing waits for the next loop phase.
      process.nextTick(() => {
        if (this.#batch === batch) this.#batch = undefined;
        this.#publish(batch).then(resolve);
      });
    }
    if (key !== undefined) b.keys.push(key);
    if (pattern !== undefined) b.patterns.push(pattern);
    return b.done;
  }

  /** Waits for the batch of this turn (close). */
  async flush(): Promise<void> {
    await this.#batch?.done;
  }

  async #publish(batch: Batch): Promise<void> {
    const payloads: string[] = [];
    let keys: string[] = [];
    let patterns: string[] = [];
    let size = 0;
    const cut = () => {
      if (keys.length === 0 && patterns.length === 0) return;
      payloads.push(
        encodeMessage({
          i: this.#id,
          t: Date.now(),
          ...(keys.length ? { k: keys } : {}),
          ...(patterns.length ? { p: patterns } : {}),
        }),
      );
      keys = [];
      patterns = [];
      size = 0;
    };
    const add = (list: 'k' | 'p', s: string) => {
      const cost = Buffer.byteLength(JSON.stringify(s)) + 1;
      if (size + cost > MAX_PAYLOAD_BYTES - 100) cut();
      (list === 'k' ? keys : patterns).push(s);
      size += cost;
    };
    for (const k of new Set(batch.keys)) add('k', k);
    for (const p of new Set(batch.patterns)) add('p', p);
    cut();
    await Promise.all(
      payloads.map((p) =>
        this.#bus.publish(p).then(
          () => this.#m.t.busSent++,
          (err: Error) => {
            this.#m.t.busErrors++;
            this.#onError(err);
          },
        ),
      ),
    );
  }
}
