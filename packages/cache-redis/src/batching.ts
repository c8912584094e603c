import type { Cluster, Redis } from 'ioredis';

/**
 * The sets of one tick in one command: Redis parses and dispatches one EVAL instead of N SETs,
 * and ioredis builds, writes and answers one command object instead of N — about twice the
 * throughput of one SET each. ARGV holds value and TTL of KEYS[i] at 2i-1 and 2i.
 */
const SET_BATCH_SCRIPT = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return #KEYS
`;

/** Keys per MGET. */
const MAX_GET_BATCH = 1000;
/** Keys per batched set: bounds the argument count and how long one script keeps Redis busy. */
const MAX_SET_BATCH = 500;
/** Key and value bytes per batched set, so one batch never becomes a multi-megabyte command. */
const MAX_SET_BATCH_BYTES = 1024 * 1024;
/** A value this large gains nothing from sharing a command: it goes out as its own SET. */
const MAX_BATCHED_VALUE_BYTES = 64 * 1024;

/** A get or set waiting for the end of the tick, in the order the caller issued it. */
type Pending =
  | { kind: 'get'; key: string; resolve: (b: Buffer | null) => void; reject: (e: unknown) => void }
  | {
      kind: 'set';
      key: string;
      value: Buffer | string;
      ttl: number;
      bytes: number;
      resolve: () => void;
      reject: (e: unknown) => void;
    };

/** Rejects every waiter of a batch with the same error. */
function rejectAll(batch: { reject: (e: unknown) => void }[]): (err: unknown) => void {
  return (err) => {
    for (const b of batch) b.reject(err);
  };
}

/**
 * The provider's gets and sets, batched per tick on a single node (MGET runs, one script per run
 * of sets); on a cluster each goes out on its own. Every other command calls `flush()` first.
 */
export class TickBatcher {
  readonly #client: Redis | Cluster;

  constructor(client: Redis | Cluster) {
    this.#client = client;
  }

  /**
   * Gets and sets issued in one tick, in issue order, sent at the end of the tick (single node).
   * One queue for both kinds keeps the caller's order: a run of gets becomes one MGET, a run of
   * sets one script call, and each run goes to ioredis only after the runs before it. Every other
   * command first empties the queue (`flush`), so `set(k); delete(k)` can never send the UNLINK
   * before the SET. ioredis keeps that order on its one connection, auto-pipelining included.
   */
  #pending: Pending[] = [];
  #flushScheduled = false;
  readonly #flushAtTickEnd = () => {
    this.#flushScheduled = false;
    this.flush();
  };

  #enqueue(op: Pending): void {
    this.#pending.push(op);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushAtTickEnd);
    }
  }

  /**
   * Hands everything pending to ioredis now, in order. Called at the end of the tick and,
   * synchronously, before any command that does not go through the queue.
   */
  flush(): void {
    const ops = this.#pending;
    if (ops.length === 0) return;
    this.#pending = [];
    let i = 0;
    while (i < ops.length) {
      const first = ops[i]!;
      let j = i + 1;
      if (first.kind === 'get') {
        while (j < ops.length && ops[j]!.kind === 'get' && j - i < MAX_GET_BATCH) j++;
        this.#sendGets(ops.slice(i, j) as Extract<Pending, { kind: 'get' }>[]);
      } else {
        let bytes = first.bytes;
        for (; j < ops.length && j - i < MAX_SET_BATCH; j++) {
          const next = ops[j]!;
          if (next.kind !== 'set' || bytes + next.bytes > MAX_SET_BATCH_BYTES) break;
          bytes += next.bytes;
        }
        this.#sendSets(ops.slice(i, j) as Extract<Pending, { kind: 'set' }>[]);
      }
      i = j;
    }
  }

  /**
   * MGET answers nil for a key holding another type, where GET fails with WRONGTYPE: keys under
   * our prefix only ever hold strings. A lone get stays a GET.
   */
  #sendGets(batch: Extract<Pending, { kind: 'get' }>[]): void {
    const fail = rejectAll(batch);
    try {
      if (batch.length === 1) {
        const only = batch[0]!;
        this.#client.getBuffer(only.key).then(only.resolve, fail);
        return;
      }
      (this.#client as Redis).mgetBuffer(...batch.map((b) => b.key)).then((values) => {
        for (const [j, b] of batch.entries()) b.resolve(values[j] ?? null);
      }, fail);
    } catch (err) {
      fail(err);
    }
  }

  /**
   * Always EVAL with the script's text, never EVALSHA: after SCRIPT FLUSH, EVALSHA fails with
   * NOSCRIPT and its retry would go out after commands the caller issued later — a `delete`
   * queued behind the batch would run first and the SETs would resurrect the key. The ~100
   * bytes of script text per batch cost less than that risk; Redis keeps the compiled script
   * cached by its hash, so EVAL does not recompile it. A lone set stays a plain SET.
   */
  #sendSets(batch: Extract<Pending, { kind: 'set' }>[]): void {
    const fail = rejectAll(batch);
    try {
      if (batch.length === 1) {
        const only = batch[0]!;
        this.#client.set(only.key, only.value, 'PX', only.ttl).then(() => only.resolve(), fail);
        return;
      }
      const n = batch.length;
      const keysAndArgs: (Buffer | string | number)[] = new Array(n * 3);
      for (let k = 0; k < n; k++) {
        const b = batch[k]!;
        keysAndArgs[k] = b.key;
        keysAndArgs[n + 2 * k] = b.value;
        keysAndArgs[n + 2 * k + 1] = b.ttl;
      }
      this.#client.eval(SET_BATCH_SCRIPT, n, ...keysAndArgs).then(() => {
        for (const b of batch) b.resolve();
      }, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** On a cluster the keys of one tick live in different slots: one GET each, sent at once. */
  read(key: string): Promise<Buffer | null> {
    if (this.#client.isCluster) return this.#client.getBuffer(key);
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'get', key, resolve, reject }));
  }

  /**
   * `value` is already ours (`toOwnedBuffer` copied the caller's bytes), so queueing it cannot
   * let a later mutation of the caller's buffer change what is stored. A large value goes out
   * as its own SET, after whatever is pending so the order still holds.
   */
  store(key: string, value: Buffer | string, ttl: number): Promise<unknown> {
    if (this.#client.isCluster) return this.#client.set(key, value, 'PX', ttl);
    const bytes =
      key.length +
      (typeof value === 'string'
        ? value.length * 3 <= MAX_BATCHED_VALUE_BYTES
          ? value.length
          : Buffer.byteLength(value)
        : value.byteLength);
    if (bytes > MAX_BATCHED_VALUE_BYTES) {
      this.flush();
      return this.#client.set(key, value, 'PX', ttl);
    }
    return new Promise<void>((resolve, reject) =>
      this.#enqueue({ kind: 'set', key, value, ttl, bytes, resolve, reject }),
    );
  }
}
